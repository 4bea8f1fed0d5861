"""The recommendation read aloud: what the contact says, what is not known, what would change it.

Issue 14: a social worker must be able to check a recommendation against the contact in front of
them. The additive explanation (``triage.engine.explain``) gives one contribution per field; this
module sorts those contributions into the three things a worker asks, in plain English (no factor
codes, no log-odds, no field paths):

* ``says``: what the contact and the front door's own records say, each pointing towards a higher
  or a lower level;
* ``not_known``: what is missing. A missing answer is never a reason for a higher level: at
  screening it is a question the checks ask; after checks, an agency that was not asked (or did not
  answer in time) is missing too;
* ``found`` (after checks): what each agency's answer added, and which way it pointed;
* ``would_change``: at screening, which agency answers would move the level across a cut-off
  (scored with the after-checks model, the one that will decide it); at either stage, the single
  change to the contact that would move the level.

Everything here is computed from the same scores as the level; nothing is a second model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triage.engine.features import NOT_ASKED, NOT_GIVEN
from triage.engine.features import NOT_KNOWN as NOT_KNOWN_TO_THEM
from triage.engine.guidance_config import ChecksConfig
from triage.engine.words import NOT_KNOWN, value_words

_MISSING = (None, NOT_KNOWN, NOT_GIVEN)
UP = "points towards a higher level"
DOWN = "points towards a lower level"


def _is_missing(feature: str, value: Any) -> bool:
    if feature == "children.current_status" and value == "unknown":
        return True
    return not feature.startswith(("history.", "checks.")) and value in _MISSING


def _level_words(level: int, level_names: Mapping[int, str]) -> str:
    name = level_names.get(level)
    return f"level {level}" + (f" ({name})" if name else "")


def _agency_name(config: ChecksConfig, agency: str) -> str:
    return config.agencies[agency].name if agency in config.agencies else agency.capitalize()


def _finding_words(config: ChecksConfig, agency: str, codes: list[str]) -> str:
    found = config.agencies[agency].findings if agency in config.agencies else {}
    return "; ".join(found.get(code, "another finding") for code in codes)


def contact_items(explanation: dict) -> tuple[list[dict], list[dict]]:
    """(says, not_known) from the explanation's contributions, largest first; check fields left out."""
    says, missing = [], []
    for c in explanation["contributions"]:
        feature, value, weight = c["feature"], c["value"], c["contribution"]
        if feature.startswith("checks."):
            continue
        if _is_missing(feature, value):
            missing.append({"label": c["label"], "text": f"{c['label']}: not known from the contact."})
            continue
        effect = UP if weight > 0 else DOWN
        says.append({"label": c["label"], "value": value_words(feature, value), "effect": effect,
                     "text": f"{c['label']}: {value_words(feature, value)}. This {effect}."})
    return says, missing


def found_items(values: Mapping[str, Any], explanation: dict, config: ChecksConfig,
                asked: list[str]) -> tuple[list[dict], list[dict]]:
    """After checks: (found, not answered) for each agency asked, with which way its answer pointed."""
    weight = {c["feature"]: c["contribution"] for c in explanation["contributions"]}
    found, not_answered = [], []
    for agency in asked:
        value = values.get(f"checks.{agency}", NOT_ASKED)
        name = _agency_name(config, agency)
        if value == NOT_ASKED:
            not_answered.append({"agency": agency, "label": name,
                                 "text": f"{name}: no answer in time, so the level is weighed without it."})
            continue
        w = weight.get(f"checks.{agency}", 0.0)
        effect = UP if w > 0 else DOWN if w < 0 else "makes no difference to the level"
        what = (f"{name} do not know the family" if value == NOT_KNOWN_TO_THEM else
                f"{name} found: {_finding_words(config, agency, value)}" if value else
                f"{name} know the family but hold nothing of concern")
        found.append({"agency": agency, "label": name, "effect": effect,
                      "text": f"{what}. This {effect}."})
    return found, not_answered


def answer_changes(level: int, outcomes: Mapping[str, list[tuple[dict, int]]], config: ChecksConfig,
                   level_names: Mapping[int, str]) -> list[dict]:
    """At screening: for each agency to ask, the answers that would put the level above or below ``level``.

    ``outcomes`` maps an agency to (answer, after-checks level) pairs, each scored with that agency's
    answer alone (the others not yet in).
    """
    out = []
    for agency, pairs in outcomes.items():
        name = _agency_name(config, agency)
        levels = {new_level for _, new_level in pairs}
        if len(pairs) > 1 and len(levels) == 1 and level not in levels:
            (only,) = levels
            direction = "rise" if only > level else "fall"
            why = (": once the checks are in, a smaller chance of the higher level is enough to recommend it"
                   if only > level else "")
            out.append({"kind": "check_answer", "agency": agency, "new_level": only,
                        "text": f"Whatever {name} answer, the recommendation after checks would {direction} to "
                                f"{_level_words(only, level_names)}{why}."})
            continue
        by_level: dict[int, list[str]] = {}
        for answer, new_level in pairs:
            if new_level == level:
                continue
            if not answer["known"]:
                what = "do not know the family"
            elif not answer["findings"]:
                what = "know the family but hold nothing of concern"
            else:
                what = "report: " + _finding_words(config, agency, answer["findings"]).rstrip(".")
            by_level.setdefault(new_level, []).append(what)
        for new_level, whats in sorted(by_level.items(), reverse=True):
            direction = "rise" if new_level > level else "fall"
            text = (f"If {name} " + "; or ".join(whats) + f": the recommendation would {direction} to "
                    f"{_level_words(new_level, level_names)}.")
            out.append({"kind": "check_answer", "agency": agency, "new_level": new_level, "text": text})
    if not out and outcomes:
        names = ", ".join(_agency_name(config, a) for a in outcomes)
        out.append({"kind": "check_answer", "agency": None, "new_level": level,
                    "text": f"No single answer from {names} would move the level on its own; their answers "
                            f"together are weighed when the checks are in."})
    return out


def field_changes(changes: list[dict]) -> list[dict]:
    """``what_would_change`` statements as items of the same list (kind "contact")."""
    return [{"kind": "contact", "agency": None, "new_level": c["new_level"], "text": c["statement"]}
            for c in changes]


def reading(*, stage: str, explanation: dict, config: ChecksConfig, level_names: Mapping[int, str],
            field_level_changes: list[dict], level: int,
            answer_outcomes: Mapping[str, list[tuple[dict, int]]] | None = None,
            checks: list[dict] | None = None, values: Mapping[str, Any] | None = None,
            asked: list[str] | None = None) -> dict:
    """The ``reading`` object of a recommendation (see the module docstring)."""
    says, missing = contact_items(explanation)
    out: dict[str, Any] = {"stage": stage, "says": says, "not_known": missing, "found": []}
    if stage == "screening":
        if checks:
            asked = ", ".join(_agency_name(config, c["agency"]) for c in checks)
            out["not_known"].append({"label": "What other agencies know",
                                     "text": f"What {asked} hold about this family: the checks ask them."})
        out["would_change"] = answer_changes(level, answer_outcomes or {}, config, level_names) \
            + field_changes(field_level_changes)
    else:
        found, not_answered = found_items(values or {}, explanation, config, asked or [])
        out["found"] = found
        out["not_known"] += not_answered
        out["would_change"] = field_changes(field_level_changes)
    return out

"""The threshold guidance engine: what the council's guidance says about one contact.

``load_guidance`` reads ``config/thresholds.yaml`` (checked by ``guidance_config``);
``Guidance.evaluate`` applies it to a contact that has passed the contract schema and returns the
hard floor and the indicators behind it, the DASH band, the MARAC criteria met, the information
the contact is missing and when the decision is due. Consent and urgency depend on the level
finally recommended (the classifier may raise it above the floor), so the result answers them
for a level it is given.

Plain Python, no Flask: the training pipeline uses the same rules as the service. Not known is
never treated as "no": an absent or null field fails every test except ``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from triage.engine.guidance_config import (
    CONTACT_FIELDS,
    LEVELS,
    RISKS,
    GuidanceConfig,
    GuidanceConfigError,
    consent_applies,
    parse_guidance_file,
)
from triage.engine.history import UNKNOWN, KnownHistory
from triage.engine.workdays import add_working_days

__all__ = ["Guidance", "GuidanceConfigError", "GuidanceResult", "load_guidance"]

Binding = dict[str, int]  # list name -> index, when children[*] means one particular child


@dataclass(frozen=True)
class _Facts:
    """What conditions may look at: the contact plus the DASH band and MARAC outcome derived from it."""

    contact: dict
    dash_risk: str | None
    marac_recommended: bool


# ---------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------


def _resolve(contact: dict, path: str, binding: Binding) -> list[Any]:
    """Every value at ``path``: one per child for ``children[*]`` (or the bound child's only).

    Absent and null both come back as None; the contract's default stands in where it has one.
    """
    nodes: list[Any] = [contact]
    for segment in path.split("."):
        if segment.endswith("[*]"):
            name = segment[:-3]
            nodes = [item for node in nodes for item in _items(node, name, binding)]
        else:
            nodes = [node.get(segment) if isinstance(node, dict) else None for node in nodes]
    default = CONTACT_FIELDS[path].default
    return [default if value is None and default is not None else value for value in nodes]


def _items(node: Any, name: str, binding: Binding) -> list[Any]:
    items = node.get(name) if isinstance(node, dict) else None
    if not isinstance(items, list):
        return []
    if name in binding:
        index = binding[name]
        return items[index:index + 1]
    return items


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(value: Any, expected: Any) -> bool:
    """Equality that never takes True for 1 or a number for a string."""
    if _is_number(value) and _is_number(expected):
        return value == expected
    return type(value) is type(expected) and value == expected


def _passes(test: str, expected: Any, value: Any) -> bool:
    """One field test on one value; a None value (not known) passes only ``missing: true``."""
    if test == "missing":
        return (value is None) is expected
    if value is None:
        return False
    if test == "equals":
        return _same(value, expected)
    if test == "in":
        return any(_same(value, option) for option in expected)
    if test == "includes_any":
        return isinstance(value, list) and any(code in value for code in expected)
    if test == "mentions_any":
        return isinstance(value, str) and any(phrase.lower() in value.lower() for phrase in expected)
    if test == "fewer_words_than":
        return isinstance(value, str) and len(value.split()) < expected
    return _is_number(value) and _compare(test, value, expected)


def _compare(test: str, value: float, limit: float) -> bool:
    return {"gte": value >= limit, "gt": value > limit, "lte": value <= limit, "lt": value < limit}[test]


def _holds(cond: dict, facts: _Facts, binding: Binding) -> bool:
    """Evaluate a condition checked at load time (see the top of thresholds.yaml)."""
    if "field" in cond:
        test = next(key for key in cond if key != "field")
        return any(_passes(test, cond[test], v) for v in _resolve(facts.contact, cond["field"], binding))
    if "all" in cond:
        return all(_holds(c, facts, binding) for c in cond["all"])
    if "any" in cond:
        return any(_holds(c, facts, binding) for c in cond["any"])
    if "not" in cond:
        return not _holds(cond["not"], facts, binding)
    if "dash_risk_at_least" in cond:
        return facts.dash_risk is not None and RISKS.index(facts.dash_risk) >= RISKS.index(cond["dash_risk_at_least"])
    return facts.marac_recommended is cond["marac_recommended"]


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------


@dataclass
class GuidanceResult:
    """What the guidance says about one contact. Consent and urgency are asked per level."""

    floor_level: int
    floor_indicators: list[str]
    indicators: list[dict]
    dash: dict | None
    marac: dict
    information_gaps: list[dict]
    decision_due_at: datetime
    _config: GuidanceConfig = field(repr=False, compare=False)
    _facts: _Facts = field(repr=False, compare=False)

    def consent_position(self, level: int) -> dict:
        """``{"ok", "note"}`` for the contact's consent if the family is offered ``level``."""
        _check_level(level)
        consent = self._facts.contact.get("consent")
        rule = next(r for r in self._config.consent_rules if consent_applies(r, level, consent))
        return {"ok": rule.ok, "note": rule.note}

    def urgency(self, level: int) -> str:
        """red, amber or green for this contact recommended at ``level``."""
        _check_level(level)
        for rule in self._config.urgency_rules:
            if (rule.levels is None or level in rule.levels) and (
                    rule.when is None or _holds(rule.when, self._facts, {})):
                return rule.urgency
        return self._config.urgency_rules[-1].urgency  # unreachable: the last rule matches all


def _check_level(level: int) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


class Guidance:
    """A council's threshold guidance, loaded and checked, ready to apply to contacts."""

    def __init__(self, config: GuidanceConfig):
        self.config = config

    @property
    def levels(self) -> dict[int, dict[str, str]]:
        return {n: dict(v) for n, v in self.config.levels.items()}

    def level_name(self, level: int) -> str:
        _check_level(level)
        return self.config.levels[level]["name"]

    @property
    def indicator_ids(self) -> list[str]:
        return [rule.id for rule in self.config.indicators]

    def evaluate(self, contact: dict, *, received_at: datetime, history: KnownHistory = UNKNOWN) -> GuidanceResult:
        """Apply the guidance to a schema-valid contact. Never raises for one.

        ``received_at`` starts the deadline (the front door's clock); ``history`` is the store's.
        """
        dash = self._dash(contact)
        marac = self._marac(contact, dash, history.marac_12m)
        facts = _Facts(contact, dash["risk"] if dash else None, marac["recommended"])
        matched = [rule for rule in self.config.indicators if _holds(rule.when, facts, {})]
        floor = max((rule.level for rule in matched if rule.floor), default=0)
        return GuidanceResult(
            floor_level=floor,
            floor_indicators=[rule.id for rule in matched if rule.floor and rule.level == floor],
            indicators=[{"id": rule.id, "level": rule.level, "text": rule.text} for rule in matched],
            dash=dash,
            marac=marac,
            information_gaps=self._gaps(facts),
            decision_due_at=add_working_days(received_at, self.config.working_days),
            _config=self.config,
            _facts=facts,
        )

    def floor_level(self, contact: dict, *, history: KnownHistory = UNKNOWN) -> int:
        """Only the hard floor ``evaluate`` would give (0 when no floor indicator is met).

        The what-if replay needs the floor of many contacts, not their gaps or deadlines, so it
        skips those; the indicators are matched exactly as ``evaluate`` matches them.
        """
        dash = self._dash(contact)
        marac = self._marac(contact, dash, history.marac_12m)
        facts = _Facts(contact, dash["risk"] if dash else None, marac["recommended"])
        return max((rule.level for rule in self.config.indicators if rule.floor and _holds(rule.when, facts, {})),
                   default=0)

    # -- DASH -----------------------------------------------------------------------------------

    def _dash(self, contact: dict) -> dict | None:
        """The DASH yes-count, its band, and the risk after the officer's grading (raise only).

        None when no DASH came, or it has neither countable answers nor a grading: nothing to band.
        Answers to question numbers outside the stated version's checklist are not counted.
        """
        dash = (contact.get("domestic_abuse") or {}).get("dash")
        if not isinstance(dash, dict):
            return None
        answers, grading = dash.get("answers") or {}, dash.get("officer_grading")
        version = dash.get("version")
        questions = self.config.dash_versions.get(version) if version else None
        counted = {int(k): v for k, v in answers.items() if questions is None or int(k) in questions}
        if not counted and grading is None:
            return None
        yes = sorted(number for number, answer in counted.items() if answer == "yes")
        count_risk = self._band(len(yes)) if counted else None
        risk = max((r for r in (count_risk, grading) if r), key=RISKS.index)
        return {
            "version": version,
            "yes_count": len(yes),
            "not_known_count": sum(1 for answer in counted.values() if answer == "not_known"),
            "risk": risk,
            "count_risk": count_risk,
            "officer_grading": grading,
            "yes_questions": [{"number": n, "topic": (questions or {}).get(n)} for n in yes],
        }

    def _band(self, yes_count: int) -> str:
        return next(risk for risk, min_yes in self.config.dash_bands if yes_count >= min_yes)

    # -- MARAC ----------------------------------------------------------------------------------

    def _marac(self, contact: dict, dash: dict | None, prior_marac_12m: bool) -> dict:
        """The MARAC criteria met, in the contract's names; only for domestic abuse contacts."""
        facts = _Facts(contact, dash["risk"] if dash else None, marac_recommended=False)
        if not _holds(self.config.marac_applies_when, facts, {}):
            return {"recommended": False, "criteria": []}
        criteria = []
        if dash and dash["count_risk"] == "high":
            criteria.append("visible_high_risk")
        if dash and dash["officer_grading"] == "high" and dash["count_risk"] != "high":
            criteria.append("professional_judgement")
        incidents = (contact.get("domestic_abuse") or {}).get("incidents_12m")
        if _is_number(incidents) and incidents >= self.config.escalation_incidents_12m:
            criteria.append("potential_escalation")
        if self.config.marac_repeat and prior_marac_12m:
            criteria.append("repeat")
        return {"recommended": bool(criteria), "criteria": criteria}

    # -- Information gaps -----------------------------------------------------------------------

    def _gaps(self, facts: _Facts) -> list[dict]:
        """Each gap rule, once per child for children[*] fields, naming that child's JSON path."""
        gaps = []
        for rule in self.config.gaps:
            for binding, where in _expand(rule.field, facts.contact):
                if _holds(rule.when, facts, binding):
                    gaps.append({"field": where, "why": rule.why})
        return gaps


def _expand(path: str, contact: dict) -> list[tuple[Binding, str]]:
    """``children[*].age_years`` -> one (binding, "children.<i>.age_years") per child."""
    if "[*]" not in path:
        return [({}, path)]
    head, _, tail = path.partition("[*]")
    items = contact.get(head)
    count = len(items) if isinstance(items, list) else 0
    return [({head: i}, f"{head}.{i}{tail}") for i in range(count)]


def load_guidance(path: str | Path) -> Guidance:
    """Load and check the guidance file; a problem raises ``GuidanceConfigError`` naming the line.

    Parsed once per file version (path, size and modification time), because every worker
    and every test app loads it and checking it against its schema is the slow part.
    """
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError:
        return Guidance(parse_guidance_file(path))  # let the parser name the problem
    return _load_cached(resolved, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _load_cached(path: Path, _size: int, _mtime_ns: int) -> Guidance:
    return Guidance(parse_guidance_file(path))

"""Screening: the one place that chooses a recommendation's ``next_step`` (spec section 10).

A front door that cannot settle a contact asks the partner agencies what they know, within hours,
instead of referring "to be safe". So uncertainty never raises ``level``: the level is the one the
evidence so far supports (never below the guidance floor) and a higher level that is not ruled out
becomes ``next_step: "checks"``, with the agencies to ask, why, and by when.

The rule reads ``ScreeningInputs``, not a model: today they come from the features-v1 classifier's
calibrated probabilities; when the two-stage pipeline is served, its screening scores fill the same
inputs and its ``agencies_to_ask`` replaces ``agencies_to_ask`` here, and nothing in the service
changes. The cut-offs live in ``config/thresholds.yaml`` (``checks.next_step``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from triage.engine.guidance_config import ChecksConfig, NextStepRule

STAGES = ("screening", "after_checks")
NEXT_STEPS = ("refer", "checks", "decide")
REFER_FROM = 3  # level 3 or 4: refer now (spec section 10)

#: Census source codes of the agencies a contact may come from: the sender is not asked again.
SOURCE_AGENCY = {"6": "police", "2A": "education", "2B": "education", "4": "housing",
                 **{f"3{x}": "health" for x in "ABCDEF"}}
_POLICE_CONCERNS = {"domestic_abuse", "physical_abuse", "sexual_abuse", "exploitation", "missing",
                    "substance_misuse"}
_HEALTH_CONCERNS = {"neglect", "mental_health", "self_harm", "substance_misuse"}
_PROBATION_CONCERNS = {"physical_abuse", "sexual_abuse"}


@dataclass(frozen=True)
class ScreeningInputs:
    """What the next-step rule reads about one contact.

    ``p_at_least`` maps 3 and 4 to P(level >= k); None when no classifier is loaded (the
    guidance alone cannot measure uncertainty, so it never sends a contact to checks).
    """

    level: int
    floor_level: int
    p_at_least: Mapping[int, float] | None


def at_least(probabilities: Mapping[str, float]) -> dict[int, float]:
    """P(level >= k) for k = 2..4 from P(level = k)."""
    return {k: sum(float(probabilities[str(j)]) for j in range(k, 5)) for k in (2, 3, 4)}


def levels_not_ruled_out(inputs: ScreeningInputs, rule: NextStepRule) -> list[int]:
    """The levels above ``inputs.level`` whose probability reaches their check cut-off."""
    if inputs.p_at_least is None:
        return []
    cuts = {3: rule.check_level3, 4: rule.check_level4}
    return [k for k in (3, 4) if k > inputs.level and inputs.p_at_least[k] >= cuts[k]]


def next_step(inputs: ScreeningInputs, rule: NextStepRule) -> str:
    """refer (level 3 or 4 now, whatever checks add), checks (a higher level not ruled out) or decide."""
    if inputs.level >= REFER_FROM:
        return "refer"
    return "checks" if levels_not_ruled_out(inputs, rule) else "decide"


def agencies_to_ask(contact: dict) -> list[tuple[str, str]]:
    """(agency, why) for each agency whose records bear on this contact; never the sender's own.

    A plain rule on the contact until the pipeline's ``agencies_to_ask`` is served: each agency is
    asked about what it would hold on this household.
    """
    concern = contact.get("primary_concern")
    children = contact.get("children") or []
    ages = [c.get("age_years") for c in children]
    da = contact.get("domestic_abuse") or {}
    wanted: list[tuple[str, str]] = []
    if concern in _POLICE_CONCERNS or da:
        wanted.append(("police", "Whether police hold earlier incidents at the address, or know an adult in the "
                                 "household for violence or offences against children."))
    if any(c.get("unborn") for c in children) or any(a is not None and a < 5 for a in ages) \
            or concern in _HEALTH_CONCERNS or da.get("victim_pregnant"):
        wanted.append(("health", "Whether health visitors, maternity or the GP have concerns, or the children "
                                 "have missed health appointments."))
    if any(a is not None and 4 <= a <= 17 for a in ages):
        wanted.append(("education", "Whether school attendance, exclusions or the school's safeguarding records "
                                    "show concerns."))
    if da.get("perpetrator_in_household") or concern in _PROBATION_CONCERNS:
        wanted.append(("probation", "Whether an adult in the household is under supervision, and for what."))
    if concern == "homelessness":
        wanted.append(("housing", "Whether the family faces eviction, is in temporary accommodation, or there are "
                                  "reports of disturbance at the address."))
    sender = SOURCE_AGENCY.get((contact.get("source") or {}).get("code", ""))
    asked = [(a, why) for a, why in wanted if a != sender]
    if not asked:  # always ask someone: the agency most likely to know a household, unless it sent this
        fallback = "health" if sender == "police" else "police"
        asked = [(fallback, "Whether they know the household and hold anything that bears on the children's safety.")]
    return asked


def planned_checks(contact: dict, *, urgency: str, now: datetime, decision_due_at: datetime,
                   config: ChecksConfig) -> list[dict]:
    """The spec's ``checks`` list: agency, why and due time (the RAG rating's hours, before the deadline)."""
    due = config.due_at(urgency, now, decision_due_at).astimezone(timezone.utc).isoformat()
    return [{"agency": agency, "why": why, "due_at": due} for agency, why in agencies_to_ask(contact)]


def findings_of(answers: Mapping[str, Mapping]) -> list[tuple[str, str]]:
    """(agency, code) for every finding in the answers, in agency order."""
    return [(agency, code) for agency in sorted(answers) for code in answers[agency].get("findings") or []]


def level_after_checks(inputs: ScreeningInputs, answers: Mapping[str, Mapping], rule: NextStepRule) -> int:
    """The level on what the checks found: a finding lifts it to the highest level not ruled out.

    ``answers`` maps each agency asked to ``{"known": bool, "findings": [codes]}`` (an agency that
    did not answer in time is absent). Nothing found keeps the level the evidence supports: the
    checks did not bear out the higher level. The pipeline's ``decide_after_checks`` replaces this.
    """
    higher = levels_not_ruled_out(inputs, rule)
    if findings_of(answers) and higher:
        return max(higher)
    return inputs.level


def next_step_after_checks(level: int) -> str:
    return "refer" if level >= REFER_FROM else "decide"

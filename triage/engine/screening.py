"""Screening's checks: which agencies to ask, why, and by when (spec section 10).

A front door that cannot settle a contact asks the partner agencies what they know, within hours,
instead of referring "to be safe". The rule that chooses ``next_step`` and the agencies whose
answers could change the level belong to the served two-stage model (``triage.engine.pipeline``,
its cut-offs in the model file); this module turns its choice into the spec's ``checks`` list:
each agency with the question in plain words and the due time from the contact's RAG rating
(``config/thresholds.yaml`` ``checks.due_hours``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from triage.engine.guidance_config import ChecksConfig

STAGES = ("screening", "after_checks")
NEXT_STEPS = ("refer", "checks", "decide")
REFER_FROM = 3  # level 3 or 4: refer now (spec section 10)

#: What each agency is asked, in the words a hub worker reads.
WHY = {
    "police": ("Whether police hold earlier incidents at the address, or know an adult in the household for "
               "violence or offences against children."),
    "health": ("Whether health visitors, maternity or the GP have concerns, or the children have missed health "
               "appointments."),
    "education": "Whether school attendance, exclusions or the school's safeguarding records show concerns.",
    "probation": "Whether an adult in the household is under supervision, and for what.",
    "housing": ("Whether the family faces eviction, is in temporary accommodation, or there are reports of "
                "disturbance at the address."),
}


def next_step_without_checks(level: int) -> str:
    """refer at level 3 or 4, else decide: the step when no model can say what checks would add."""
    return "refer" if level >= REFER_FROM else "decide"


def planned_checks(agencies: list[str], *, urgency: str, now: datetime, decision_due_at: datetime,
                   config: ChecksConfig) -> list[dict]:
    """The spec's ``checks`` list: agency, why and due time (the RAG rating's hours, before the deadline)."""
    due = config.due_at(urgency, now, decision_due_at).astimezone(timezone.utc).isoformat()
    return [{"agency": agency, "why": WHY[agency], "due_at": due} for agency in agencies]


def findings_of(answers: Mapping[str, Mapping]) -> list[tuple[str, str]]:
    """(agency, code) for every finding in the answers, in agency order."""
    return [(agency, code) for agency in sorted(answers) for code in answers[agency].get("findings") or []]

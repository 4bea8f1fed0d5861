"""The life of a contact as an explicit state machine: one table of who may move it where.

A contact is stored, scored, waiting for a worker's decision (``awaiting_decision``): intake
scores it before it is stored, so there is no earlier state. The worker may ask the referrer for
more (``info_requested``; the deadline stands, nothing is paused) and still decide from there.
Where the contact cannot settle the level, the worker asks partner agencies
(``checks_requested``) and the service itself brings it back, scored again, once the checks are
in (``SYSTEM``). A
decision waits for a manager's oversight (``awaiting_review``); the review closes it
(``decided``). ``Status`` is the one list of states (its values are what the store holds);
everything the service and the pages allow follows from ``TRANSITIONS``, so the rules live in
one place and an invalid move is answered with what *is* allowed from where the contact stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from triage.engine.errors import Conflict, NotAllowed


class Status(StrEnum):
    """A contact's state; each is a ``str`` equal to the value stored in ``contacts.status``."""

    AWAITING_DECISION = "awaiting_decision"
    CHECKS_REQUESTED = "checks_requested"
    INFO_REQUESTED = "info_requested"
    AWAITING_REVIEW = "awaiting_review"
    DECIDED = "decided"


DECIDE = "decide"
REQUEST_INFORMATION = "request_information"
REVIEW = "review"
REQUEST_CHECKS = "request_checks"
CHECKS_IN = "checks_in"

#: The service itself, not a person: brings a contact back from checks (``triage.services.checks``).
SYSTEM = "system"
WORKERS = frozenset({"practitioner", "manager"})
MANAGERS = frozenset({"manager"})

ACTION_NAMES = {
    DECIDE: "record a decision",
    REQUEST_INFORMATION: "ask the referrer for information",
    REVIEW: "review the decision",
    REQUEST_CHECKS: "ask partner agencies for checks",
    CHECKS_IN: "score the contact again on what the checks found",
}


@dataclass(frozen=True)
class Transition:
    source: Status
    action: str
    target: Status
    roles: frozenset[str]


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Status.AWAITING_DECISION, DECIDE, Status.AWAITING_REVIEW, WORKERS),
    Transition(Status.AWAITING_DECISION, REQUEST_INFORMATION, Status.INFO_REQUESTED, WORKERS),
    Transition(Status.INFO_REQUESTED, DECIDE, Status.AWAITING_REVIEW, WORKERS),
    Transition(Status.INFO_REQUESTED, REQUEST_INFORMATION, Status.INFO_REQUESTED, WORKERS),
    Transition(Status.AWAITING_REVIEW, REVIEW, Status.DECIDED, MANAGERS),
    # Multi-agency checks (spec section 10): the contact waits on the agencies, then the service
    # scores it again once every check is answered or past its due time.
    Transition(Status.AWAITING_DECISION, REQUEST_CHECKS, Status.CHECKS_REQUESTED, WORKERS),
    Transition(Status.INFO_REQUESTED, REQUEST_CHECKS, Status.CHECKS_REQUESTED, WORKERS),
    Transition(Status.CHECKS_REQUESTED, CHECKS_IN, Status.AWAITING_DECISION, frozenset({SYSTEM})),
)


def allowed_from(state: str) -> list[Transition]:
    """Every move the table allows from ``state``, in table order."""
    return [t for t in TRANSITIONS if t.source == state]


def _describe(transitions: list[Transition]) -> str:
    if not transitions:
        return "nothing: it is closed"
    return "; ".join(
        f"{ACTION_NAMES[t.action]} ({' or '.join(sorted(t.roles))})" for t in transitions
    )


def check(state: str, action: str, role: str) -> Status:
    """The state ``action`` by someone in ``role`` leads to from ``state``; NotAllowed or Conflict if it may not.

    403 when the role may never take this action; 409 when the contact's state does not allow
    it (the detail says what is allowed now, because the usual cause is that someone else
    acted first).
    """
    if action not in ACTION_NAMES:
        raise ValueError(f"unknown action {action!r}")
    if not any(t.action == action and role in t.roles for t in TRANSITIONS):
        raise NotAllowed(f"Your role ({role}) may not {ACTION_NAMES[action]}.")
    for transition in allowed_from(state):
        if transition.action == action and role in transition.roles:
            return transition.target
    raise Conflict(f"This contact is {state.replace('_', ' ')}, so you cannot {ACTION_NAMES[action]} now. "
        f"Allowed from here: {_describe(allowed_from(state))}.",
        extra={"state": state, "allowed": [t.action for t in allowed_from(state)]},
    )


def available_actions(state: str, role: str) -> list[str]:
    """The actions a person in ``role`` may take from ``state`` (for pages to show the right buttons)."""
    return [t.action for t in allowed_from(state) if role in t.roles]

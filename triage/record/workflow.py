"""The life of a contact as an explicit state machine: one table of who may move it where.

A contact arrives (``received``), is scored and waits for a worker's decision
(``awaiting_decision``). The worker may ask the referrer for more (``info_requested``; the
deadline stands, nothing is paused) and still decide from there. A decision waits for a
manager's oversight (``awaiting_review``); the review closes it (``decided``). Everything the
service and the pages allow follows from ``TRANSITIONS``, so the rules live in one place and
an invalid move is answered with what *is* allowed from where the contact stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.engine.errors import Conflict, NotAllowed

RECEIVED = "received"
AWAITING_DECISION = "awaiting_decision"
INFO_REQUESTED = "info_requested"
AWAITING_REVIEW = "awaiting_review"
DECIDED = "decided"
STATES = (RECEIVED, AWAITING_DECISION, INFO_REQUESTED, AWAITING_REVIEW, DECIDED)

SCORE = "score"
DECIDE = "decide"
REQUEST_INFORMATION = "request_information"
REVIEW = "review"

#: The service itself (intake), not a person: the move from received to awaiting decision.
SYSTEM = "system"
WORKERS = frozenset({"practitioner", "manager"})
MANAGERS = frozenset({"manager"})

ACTION_NAMES = {
    SCORE: "score the contact",
    DECIDE: "record a decision",
    REQUEST_INFORMATION: "ask the referrer for information",
    REVIEW: "review the decision",
}


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    roles: frozenset[str]


TRANSITIONS: tuple[Transition, ...] = (
    Transition(RECEIVED, SCORE, AWAITING_DECISION, frozenset({SYSTEM})),
    Transition(AWAITING_DECISION, DECIDE, AWAITING_REVIEW, WORKERS),
    Transition(AWAITING_DECISION, REQUEST_INFORMATION, INFO_REQUESTED, WORKERS),
    Transition(INFO_REQUESTED, DECIDE, AWAITING_REVIEW, WORKERS),
    Transition(INFO_REQUESTED, REQUEST_INFORMATION, INFO_REQUESTED, WORKERS),
    Transition(AWAITING_REVIEW, REVIEW, DECIDED, MANAGERS),
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


def check(state: str, action: str, role: str) -> str:
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

"""The contact's state machine: one table of states, moves and who may make them."""

from __future__ import annotations

import pytest

from triage.engine.errors import Conflict, NotAllowed
from triage.record import workflow
from triage.record.tables import STATUSES


def test_the_table_only_names_known_states_and_actions():
    for t in workflow.TRANSITIONS:
        assert t.source in workflow.STATES and t.target in workflow.STATES
        assert t.action in workflow.ACTION_NAMES
    assert len({(t.source, t.action) for t in workflow.TRANSITIONS}) == len(workflow.TRANSITIONS)


def test_every_status_a_contact_can_be_stored_with_is_a_state():
    assert set(STATUSES) <= set(workflow.STATES)


@pytest.mark.parametrize(
    ("state", "action", "role", "target"),
    [
        ("received", "score", "system", "awaiting_decision"),
        ("awaiting_decision", "decide", "practitioner", "awaiting_review"),
        ("awaiting_decision", "decide", "manager", "awaiting_review"),
        ("awaiting_decision", "request_information", "practitioner", "info_requested"),
        ("info_requested", "decide", "practitioner", "awaiting_review"),
        ("info_requested", "request_information", "manager", "info_requested"),
        ("awaiting_review", "review", "manager", "decided"),
    ],
)
def test_allowed_moves(state, action, role, target):
    assert workflow.check(state, action, role) == target


@pytest.mark.parametrize(
    ("action", "role"),
    [("review", "practitioner"), ("decide", "partner"), ("decide", "admin"), ("score", "manager"),
     ("request_information", "partner")],
)
def test_a_role_that_may_never_take_an_action_gets_403(action, role):
    with pytest.raises(NotAllowed) as caught:
        workflow.check("awaiting_decision", action, role)
    assert role in caught.value.detail


def test_a_move_the_state_does_not_allow_is_409_saying_what_is_allowed():
    with pytest.raises(Conflict) as caught:
        workflow.check("awaiting_decision", "review", "manager")
    problem = caught.value
    assert "awaiting decision" in problem.detail
    assert "record a decision (manager or practitioner)" in problem.detail
    assert "ask the referrer for information" in problem.detail
    assert problem.extra == {"state": "awaiting_decision", "allowed": ["decide", "request_information"]}


@pytest.mark.parametrize("action", ["decide", "review", "request_information"])
def test_a_decided_contact_is_closed(action):
    with pytest.raises(Conflict) as caught:
        workflow.check("decided", action, "manager")
    assert "it is closed" in caught.value.detail


def test_no_decision_or_information_request_once_awaiting_review():
    for action in ("decide", "request_information"):
        with pytest.raises(Conflict) as caught:
            workflow.check("awaiting_review", action, "practitioner")
        assert "review the decision (manager)" in caught.value.detail


def test_available_actions_per_role():
    assert workflow.available_actions("awaiting_decision", "practitioner") == ["decide", "request_information"]
    assert workflow.available_actions("awaiting_review", "practitioner") == []
    assert workflow.available_actions("awaiting_review", "manager") == ["review"]
    assert workflow.available_actions("decided", "manager") == []


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        workflow.check("awaiting_decision", "approve", "manager")

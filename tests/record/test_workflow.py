"""The contact's state machine: one table of states, moves and who may make them."""

from __future__ import annotations

import pytest

from triage.engine.errors import Conflict, NotAllowed
from triage.record import workflow
from triage.record.tables import Contact
from triage.record.workflow import Status


def test_the_table_only_names_known_states_and_actions():
    for t in workflow.TRANSITIONS:
        assert isinstance(t.source, Status) and isinstance(t.target, Status)
        assert t.action in workflow.ACTION_NAMES
    assert len({(t.source, t.action) for t in workflow.TRANSITIONS}) == len(workflow.TRANSITIONS)


def test_every_status_is_reached_or_left_by_a_move_and_a_new_contact_awaits_a_decision():
    named = {t.source for t in workflow.TRANSITIONS} | {t.target for t in workflow.TRANSITIONS}
    assert named == set(Status)
    assert Contact.__table__.c.status.default.arg == Status.AWAITING_DECISION


def test_a_status_is_the_text_the_store_holds():
    assert [s.value for s in Status] == ["awaiting_decision", "checks_requested", "info_requested", "awaiting_review",
                                        "decided"]
    assert Status.DECIDED == "decided" and f"{Status.INFO_REQUESTED}" == "info_requested"


@pytest.mark.parametrize(
    ("state", "action", "role", "target"),
    [
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
    [("review", "practitioner"), ("decide", "partner"), ("decide", "admin"), ("request_information", "partner")],
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
    assert problem.extra == {"state": "awaiting_decision",
                             "allowed": ["decide", "request_information", "request_checks"]}


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
    assert workflow.available_actions("awaiting_decision", "practitioner") == [
        "decide", "request_information", "request_checks"]
    assert workflow.available_actions("awaiting_review", "practitioner") == []
    assert workflow.available_actions("awaiting_review", "manager") == ["review"]
    assert workflow.available_actions("decided", "manager") == []


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        workflow.check("awaiting_decision", "approve", "manager")

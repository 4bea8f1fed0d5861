"""The decision services the API and the pages share: rules, one transaction, and conflicts."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.decision_support import OVERRIDE, RATIONALE, REVIEW_RATIONALE, pin, snapshot, submit
from triage.engine.errors import Conflict, DomainError, Invalid, NotAllowed
from triage.extensions import db
from triage.record import audit
from triage.record.tables import Contact, Event, User
from triage.services import decisions


@pytest.fixture
def contact_id(app, client, people):
    pin(app, level=3, floor=2)
    return submit(client, people["partner"])


def load(contact_id: str, person) -> tuple[Contact, User]:
    return db.session.get(Contact, contact_id), db.session.get(User, person.id)


def last_event(contact_id: str) -> Event:
    return db.session.scalar(select(Event).where(Event.contact_id == contact_id).order_by(Event.seq.desc()))


REFUSALS = {403: NotAllowed, 409: Conflict, 422: Invalid}


def refused(call, status: int) -> DomainError:
    """The use case refuses with the domain error the HTTP edge answers with ``status``."""
    with pytest.raises(REFUSALS[status]) as caught:
        call()
    return caught.value


def test_a_decision_stores_what_it_was_made_against_and_moves_the_contact(app, people, contact_id):
    with app.app_context():
        contact, worker = load(contact_id, people["practitioner"])
        decision = decisions.record_decision(contact, worker, level=3, rationale=RATIONALE, marac_referral=True)
        assert (decision.recommended_level, decision.floor_level, decision.model_version) == (3, 2, "pinned-test")
        assert decision.override_reason is None and decision.marac_referral is True
        assert contact.status == "awaiting_review" and contact.version == 2
        event = last_event(contact_id)
        assert event.kind == "decided" and event.data["decision_id"] == decision.id
        assert event.actor_id == worker.id
        assert audit.verify().ok


def test_errors_are_keyed_by_the_request_fields(app, people, contact_id):
    with app.app_context():
        contact, worker = load(contact_id, people["practitioner"])
        problem = refused(lambda: decisions.record_decision(contact, worker, level=2, rationale="Short."), 422)
        # early help on a contact whose consent was not sought also needs its reason (issue 13 item 6)
        assert set(problem.errors) == {"rationale", "override_reason", "consent_reason"}
        problem = refused(lambda: decisions.record_decision(contact, worker, level=None, rationale=RATIONALE), 422)
        assert set(problem.errors) == {"level"}
    assert snapshot(app, contact_id)["decisions"] == 0


@pytest.mark.parametrize(
    ("rationale", "ok"),
    [
        ("a" * 40, True),
        ("a" * 39, False),
        ("   " + "a" * 39 + "\n\n   ", False),  # the padding does not count
        ("word   " * 8, False),  # runs of spaces count once: 8 words make 39 characters
        ("word   " * 9, True),  # and 9 make 44
        ("." * 60, False),
        ("1234567890 " * 5, False),
        ("\n\t   \n", False),
    ],
)
def test_a_rationale_must_say_something(rationale, ok):
    assert (decisions.rationale_errors(rationale) == []) is ok


def test_a_practitioner_below_the_floor_is_refused_a_manager_is_not(app, people, contact_id):
    with app.app_context():
        contact, worker = load(contact_id, people["practitioner"])
        problem = refused(lambda: decisions.record_decision(
            contact, worker, level=1, rationale=RATIONALE, override_reason=OVERRIDE), 403)
        assert problem.detail.startswith(decisions.FLOOR_RULE)
        assert problem.errors == {"level": [decisions.FLOOR_RULE]}
        manager = db.session.get(User, people["manager"].id)
        decision = decisions.record_decision(contact, manager, level=1, rationale=RATIONALE, override_reason=OVERRIDE)
        assert decision.level == 1
        assert last_event(contact_id).data["below_floor"] is True


def test_someone_else_changing_the_contact_first_is_a_conflict_and_nothing_is_kept(app, people, contact_id):
    with app.app_context():
        contact, worker = load(contact_id, people["practitioner"])
        # another request moves the contact on between this person's read and their write
        db.session.execute(update(Contact.__table__).where(Contact.id == contact_id)
                           .values(version=Contact.__table__.c.version + 1))
        problem = refused(lambda: decisions.record_decision(contact, worker, level=3, rationale=RATIONALE), 409)
        assert "nothing was recorded" in problem.detail
    stored = snapshot(app, contact_id)
    assert stored["decisions"] == 0 and stored["status"] == "awaiting_decision"


def test_an_out_of_date_expected_version_is_a_conflict(app, people, contact_id):
    with app.app_context():
        contact, worker = load(contact_id, people["practitioner"])
        refused(lambda: decisions.record_decision(contact, worker, level=3, rationale=RATIONALE,
                                                  expected_version=contact.version - 1), 409)
    assert snapshot(app, contact_id)["decisions"] == 0


def test_review_is_for_a_manager_who_did_not_decide(app, people, make_person, contact_id):
    with app.app_context():
        contact, manager = load(contact_id, people["manager"])
        decisions.record_decision(contact, manager, level=3, rationale=RATIONALE)
        worker = db.session.get(User, people["practitioner"].id)
        refused(lambda: decisions.record_review(contact, worker, outcome="confirmed", rationale=REVIEW_RATIONALE), 403)
        problem = refused(lambda: decisions.record_review(contact, manager, outcome="confirmed",
                                                          rationale=REVIEW_RATIONALE), 403)
        assert "another manager" in problem.detail
    other = make_person("manager")
    with app.app_context():
        contact, other_manager = load(contact_id, other)
        review = decisions.record_review(contact, other_manager, outcome="changed", level=4, rationale=REVIEW_RATIONALE)
        assert (review.outcome, review.level, contact.status) == ("changed", 4, "decided")
        assert {"outcome": "changed", "level": 4, "decision_level": 3}.items() <= last_event(contact_id).data.items()
    assert snapshot(app, contact_id)["reviews"] == 1


def test_an_information_request_keeps_the_deadline(app, people, contact_id):
    with app.app_context():
        contact, worker = load(contact_id, people["practitioner"])
        due = contact.decision_due_at
        asked = decisions.request_information(contact, worker, fields=["consent"], message="Was consent sought?")
        assert asked.fields == ["consent"] and contact.status == "info_requested"
        assert contact.decision_due_at == due
        assert last_event(contact_id).kind == "information_requested"
        problem = refused(lambda: decisions.request_information(contact, worker, fields=[""], message=""), 422)
        assert set(problem.errors) == {"fields", "message"}

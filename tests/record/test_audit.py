"""The tamper-evident record: the database refuses changes, and audit-verify catches hand edits.

An attacker with database access can switch the append-only triggers off; then the hash chain
is what shows the change. Each tampering test does exactly that, and expects
``flask --app wsgi triage audit-verify`` to exit 1 naming the event that was altered or removed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.decision_support import decide, pin, review, submit
from triage.extensions import db
from triage.record.tables import Event, FeedbackRelease

TRIGGERS = {"postgresql": "{table}_append_only", "sqlite": "{table}_no_{action}"}


def full_path(app, client, people) -> str:
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=people["practitioner"].headers).status_code == 200
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    assert review(client, people["manager"], contact_id).status_code == 201
    return contact_id


def event_seq(app, contact_id: str, kind: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Event.seq).where(Event.contact_id == contact_id, Event.kind == kind))


def by_hand(app, statement, action: str) -> None:
    """Run one change on the events table with its append-only trigger switched off (as an attacker could)."""
    with app.app_context():
        dialect = db.engine.dialect.name
        trigger = TRIGGERS[dialect].format(table="events", action=action)
        if dialect == "sqlite":
            db.session.execute(text(f"DROP TRIGGER {trigger}"))
            db.session.execute(statement)
        else:  # disable, change and re-enable in one transaction: the trigger is never left off
            db.session.execute(text(f"ALTER TABLE events DISABLE TRIGGER {trigger}"))
            db.session.execute(statement)
            db.session.execute(text(f"ALTER TABLE events ENABLE TRIGGER {trigger}"))
        db.session.commit()


def verify(runner):
    return runner.invoke(args=["triage", "audit-verify"])


def test_an_untouched_record_verifies(app, client, runner, people):
    full_path(app, client, people)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "intact: 5 events verified" in result.output


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("data", lambda e: e.data | {"level": 4}),
        ("actor", lambda e: "someone.else@council.invalid (manager)"),
        ("actor_id", lambda e: e.actor_id + 1000),
        ("kind", lambda e: "viewed"),
        ("at", lambda e: e.at - timedelta(hours=3)),
        ("contact_id", lambda e: "00000000-0000-0000-0000-000000000000"),
        ("hash", lambda e: "f" * 64),
        ("prev_hash", lambda e: "0" * 64),
    ],
)
def test_changing_any_stored_event_by_hand_fails_verification_naming_it(app, client, runner, people, column, change):
    contact_id = full_path(app, client, people)
    seq = event_seq(app, contact_id, "decided")
    with app.app_context():
        new_value = change(db.session.get(Event, seq))
    by_hand(app, update(Event).where(Event.seq == seq).values({column: new_value}), "update")
    result = verify(runner)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at event {seq}:" in result.output


def test_deleting_an_event_fails_verification_naming_it(app, client, runner, people):
    contact_id = full_path(app, client, people)
    seq = event_seq(app, contact_id, "viewed")
    by_hand(app, delete(Event).where(Event.seq == seq), "delete")
    result = verify(runner)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at event {seq}: event {seq} is missing" in result.output


def test_deleting_the_last_event_fails_verification(app, client, runner, people):
    contact_id = full_path(app, client, people)
    seq = event_seq(app, contact_id, "reviewed")
    by_hand(app, delete(Event).where(Event.seq == seq), "delete")
    result = verify(runner)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at event {seq}:" in result.output


CHANGES = {
    "events": "kind = 'viewed'",
    "decisions": "rationale = 'rewritten later'",
    "reviews": "outcome = 'changed'",
    "information_requests": "message = 'never asked'",
    "feedback_releases": "released_by_id = released_by_id",
}


@pytest.fixture
def full_record(app, client, people):
    """A row in every append-only table."""
    full_path(app, client, people)
    other = submit(client, people["partner"])
    asked = client.post(f"/api/v1/contacts/{other}/information-request", headers=people["practitioner"].headers,
                        json={"fields": ["children.0.school"], "message": "Which school?"})
    assert asked.status_code == 201
    with app.app_context():
        db.session.add(FeedbackRelease(contact_id=other, content={"level": 2}, released_by_id=people["manager"].id))
        db.session.commit()


@pytest.mark.parametrize("table", sorted(CHANGES))
@pytest.mark.parametrize("statement", ["UPDATE {table} SET {change}", "DELETE FROM {table}"])
def test_the_database_refuses_update_and_delete_on_the_record(app, full_record, table, statement):
    with app.app_context():
        before = db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        assert before > 0
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement.format(table=table, change=CHANGES[table])))
        db.session.rollback()
        assert db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == before


def record_by_hand(app, table: str, statement) -> None:
    """Change one record table with its append-only triggers switched off, as an attacker could."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            for action in ("update", "delete"):
                db.session.execute(text(f"DROP TRIGGER {table}_no_{action}"))
            db.session.execute(statement)
        else:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
            db.session.execute(statement)
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
        db.session.commit()


def test_a_decision_edited_by_hand_no_longer_matches_its_event(app, client, runner, people):
    from triage.record.tables import Decision

    contact_id = full_path(app, client, people)
    record_by_hand(app, "decisions", update(Decision).where(Decision.contact_id == contact_id)
                   .values(rationale="Changed afterwards to read better than what was decided at the time."))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"event {event_seq(app, contact_id, 'decided')}" in result.output
    assert "decisions row" in result.output and "rationale changed" in result.output


def test_a_release_made_to_name_another_by_hand_no_longer_matches_its_event(app, client, runner, people):
    """Which release a later one replaced decides what a partner lists: it is checked against the
    event's ``supersedes`` like any copied column."""
    contact_id = full_path(app, client, people)
    released = client.post(f"/api/v1/contacts/{contact_id}/feedback/release", headers=people["manager"].headers)
    assert released.status_code == 201, released.get_json()
    assert verify(runner).exit_code == 0
    record_by_hand(app, "feedback_releases", update(FeedbackRelease).where(FeedbackRelease.contact_id == contact_id)
                   .values(supersedes_id=FeedbackRelease.id))  # hides it from the partner's list
    result = verify(runner)
    assert result.exit_code == 1
    assert f"event {event_seq(app, contact_id, 'feedback_released')}" in result.output
    assert "feedback_releases row" in result.output and "supersedes_id changed" in result.output


def test_a_review_deleted_by_hand_is_named_by_its_event(app, client, runner, people):
    from triage.record.tables import Review

    contact_id = full_path(app, client, people)
    record_by_hand(app, "reviews", delete(Review).where(Review.contact_id == contact_id))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"event {event_seq(app, contact_id, 'reviewed')}" in result.output
    assert "reviews row it records is missing" in result.output


def test_a_decision_added_by_hand_without_an_event_is_found(app, client, runner, people):
    from triage.record.tables import Decision

    contact_id = full_path(app, client, people)
    with app.app_context():
        db.session.add(Decision(contact_id=contact_id, level=1, rationale="Inserted directly into the table "
                                "without going through the service.", decided_by_id=people["manager"].id))
        db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert "in the record tables" in result.output and "has no event in the record" in result.output

"""audit-verify hashes the JSON columns' stored text as it stands, and proves exactly what it did before.

JSON columns are stored as the record's canonical text (``canonical.storage_json``), so the full
verification hashes the stored text instead of decoding and re-encoding each event and each
contact's recommendation (issue 19: ``audit-verify`` at 200,000 contacts). Text stored in any other
form (every store written before this change) takes the old path and verifies as before; text that
is not one whole JSON value never passes by lining up with its neighbour's.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text, update

from tests.record.test_audit import full_path, verify
from tests.record.test_audit_keyed import as_attacker
from triage.extensions import db
from triage.record import audit
from triage.record.canonical import canonical_json
from triage.record.tables import Contact, Event

JSON_TEXT = {"sqlite": ":text", "postgresql": "CAST(:text AS json)"}


def stored_text(app, table: str, column: str, key: str, value) -> str:
    with app.app_context():
        return db.session.execute(text(f"SELECT CAST({column} AS TEXT) FROM {table} WHERE {key} = :v"),
                                  {"v": value}).scalar_one()


def set_text(app, table: str, column: str, key: str, value, new_text: str) -> None:
    """The column's stored text replaced (the trigger off, for the events table), its value unchanged or not."""
    with app.app_context():
        statement = text(f"UPDATE {table} SET {column} = {JSON_TEXT[db.engine.dialect.name]} WHERE {key} = :v") \
            .bindparams(text=new_text, v=value)
    if table == "events":
        as_attacker(app, "events", statement)
        return
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


@pytest.fixture
def re_encoded(monkeypatch) -> dict[str, list]:
    """What the verification decoded and re-encoded: contacts (a call each) and events (their seq)."""
    seen: dict[str, list] = {"contacts": [], "events": []}
    contact_way, event_way = audit._digest_re_encoded, audit._Walk._re_encoded
    monkeypatch.setattr(audit, "_digest_re_encoded",
                        lambda *args: seen["contacts"].append(1) or contact_way(*args))
    monkeypatch.setattr(audit._Walk, "_re_encoded", lambda self, row: seen["events"].append(row[0]) or event_way(self, row))
    return seen


def test_json_columns_are_stored_as_their_canonical_text(app, client, people):
    contact_id = full_path(app, client, people)
    with app.app_context():
        seq = db.session.scalar(select(Event.seq).where(Event.contact_id == contact_id, Event.kind == "decided"))
    for table, column, key, value in (("events", "data", "seq", seq), ("contacts", "recommendation", "id", contact_id),
                                      ("contacts", "payload", "id", contact_id)):
        stored = stored_text(app, table, column, key, value)
        assert stored == canonical_json(json.loads(stored))


def test_the_same_values_stored_in_the_earlier_text_still_verify(app, client, runner, people):
    """Stores written before the canonical storage (Python's default JSON text) verify as they always did."""
    contact_id = full_path(app, client, people)
    with app.app_context():
        seqs = db.session.scalars(select(Event.seq).where(Event.contact_id == contact_id)).all()
    for seq in seqs:
        earlier = json.dumps(json.loads(stored_text(app, "events", "data", "seq", seq)))
        set_text(app, "events", "data", "seq", seq, earlier)
        assert stored_text(app, "events", "data", "seq", seq) == earlier
    for column in ("payload", "recommendation"):
        earlier = json.dumps(json.loads(stored_text(app, "contacts", column, "id", contact_id)))
        set_text(app, "contacts", column, "id", contact_id, earlier)
    result = verify(runner)
    assert result.exit_code == 0, result.output


def test_an_event_whose_stored_text_says_something_else_is_named(app, client, runner, people):
    contact_id = full_path(app, client, people)
    with app.app_context():
        seq = db.session.scalar(select(Event.seq).where(Event.contact_id == contact_id, Event.kind == "reviewed"))
    data = json.loads(stored_text(app, "events", "data", "seq", seq)) | {"outcome": "changed"}
    set_text(app, "events", "data", "seq", seq, json.dumps(data))  # another value, in the earlier text form too
    result = verify(runner)
    assert result.exit_code == 1 and f"BROKEN at event {seq}: its content does not match" in result.output


def test_text_moved_between_two_json_columns_is_named(app, client, runner, people):
    """The sealed digest's text can be cut at another place (payload ending early, the recommendation
    starting with the rest): the joined text is the same, but neither column holds JSON any more."""
    contact_id = full_path(app, client, people)
    with app.app_context():  # content that holds the next column's key, sealed as the service would
        contact = db.session.get(Contact, contact_id)
        db.session.execute(update(Contact).where(Contact.id == contact_id).values(
            payload=contact.payload | {"zz": {"a": 1, "recommendation": {"q": 1}}}))
        db.session.commit()
        db.session.expire_all()
        audit.record("content_sealed", contact_id=contact_id,
                     data={"content_digest": audit.content_digest(db.session.get(Contact, contact_id))})
        db.session.commit()
    assert verify(runner).exit_code == 0
    payload = stored_text(app, "contacts", "payload", "id", contact_id)
    recommendation = stored_text(app, "contacts", "recommendation", "id", contact_id)
    cut = payload.index(',"recommendation":')
    moved = (payload[:cut], payload[cut + len(',"recommendation":'):] + ',"recommendation":' + recommendation)
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "postgresql":  # the json type refuses text that is not JSON
        with pytest.raises(Exception, match="(?i)json"):
            set_text(app, "contacts", "payload", "id", contact_id, moved[0])
        return
    set_text(app, "contacts", "payload", "id", contact_id, moved[0])
    set_text(app, "contacts", "recommendation", "id", contact_id, moved[1])
    result = verify(runner)
    assert result.exit_code == 1 and f"contact {contact_id} no longer matches" in result.output, result.output


def test_contacts_after_one_stored_in_the_earlier_text_are_still_hashed_as_stored(app, client, runner, people,
                                                                                re_encoded):
    """Only the row stored otherwise is decoded and re-encoded: after the first such row the verification used to
    re-encode every later contact (both ways match a canonical row), 60 s of a SQLite 200k store's check."""
    ids = sorted(full_path(app, client, people) for _ in range(3))
    earlier = json.dumps(json.loads(stored_text(app, "contacts", "payload", "id", ids[0])))
    set_text(app, "contacts", "payload", "id", ids[0], earlier)  # the first contact in the check's (id) order
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert len(re_encoded["contacts"]) == 1


def test_contacts_with_an_empty_json_column_are_hashed_as_stored(app, client, runner, people, re_encoded):
    """A contact never rescored has no screening recommendation (SQL NULL); SQLite's json_valid(NULL) is 0, so every
    such contact, which is most of a live store, was decoded and re-encoded."""
    contact_id = full_path(app, client, people)
    with app.app_context():
        assert db.session.scalar(select(Contact.screening_recommendation).where(Contact.id == contact_id)) is None
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert re_encoded == {"contacts": [], "events": []}


def test_events_after_one_stored_in_the_earlier_text_are_still_hashed_as_stored(app, client, runner, people,
                                                                              re_encoded):
    """As for contacts: the walk used to decode and re-encode every event after the first that needed it."""
    contact_id = full_path(app, client, people)
    full_path(app, client, people)
    with app.app_context():
        first = db.session.scalar(select(func.min(Event.seq)).where(Event.contact_id == contact_id))
    set_text(app, "events", "data", "seq", first, json.dumps(json.loads(stored_text(app, "events", "data", "seq", first))))
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert re_encoded["events"] == [first]

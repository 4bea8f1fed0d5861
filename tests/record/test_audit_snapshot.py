"""A full verification reads one state of the store, and may check the contents on a second core.

Issue 19: on PostgreSQL each statement of ``audit-verify`` used to read its own snapshot, so a
contact stored while it ran could be seen by the contents check without its ``received`` event
(reported as added by hand); on SQLite the verification held the write lock throughout, so intake
waited for it. Now it runs in one read-only snapshot, and on a large store a forked helper checks
the contacts' contents in that same snapshot (``triage.record.audit_worker``); the helper's answer
must be exactly the one the step gives in this process.
"""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import text

from tests.decision_support import submit
from tests.record.test_audit import full_path
from triage.extensions import db
from triage.record import audit, audit_worker
from triage.record.tables import Contact


@pytest.fixture(params=["helper", "in process"])
def helper(request, monkeypatch):
    """Run each test with the contents check in a forked helper (any store size) and without one."""
    monkeypatch.setattr(audit_worker, "PARALLEL_FROM", 0 if request.param == "helper" else 10**12)
    return request.param == "helper"


def checked_here(monkeypatch) -> list[int]:
    """The processes the contents check ran in, as this process sees them (a helper's own calls stay in it)."""
    calls: list[int] = []
    original = audit._check_contents

    def wrapped(walk, full):
        calls.append(os.getpid())
        return original(walk, full)

    monkeypatch.setattr(audit, "_check_contents", wrapped)
    return calls


def test_a_contact_stored_while_a_full_verification_runs_is_neither_half_seen_nor_kept_waiting(
        app, client, people, monkeypatch, helper):
    full_path(app, client, people)
    stored = []
    original = audit._check_heads

    def meanwhile(heads, streams=None):  # after the walk, before the contents are read
        if not stored:  # another request (a thread: its own app context and connection), committed
            intake = threading.Thread(target=lambda: stored.append(submit(client, people["partner"])))
            intake.start()
            intake.join()
        return original(heads, streams)

    monkeypatch.setattr(audit, "_check_heads", meanwhile)
    calls = checked_here(monkeypatch)
    with app.app_context():
        result = audit.verify()
        assert result.ok, result.summary()
        assert result.count == 5  # the state when it began: the new contact's events are not in it
        assert stored and calls == ([] if helper else [os.getpid()])
        again = audit.verify()
        assert again.ok and again.count == 7, again.summary()


def test_the_helper_names_an_edited_contact_as_the_check_here_does(app, client, people, monkeypatch, helper):
    contact_id = full_path(app, client, people)
    calls = checked_here(monkeypatch)
    with app.app_context():
        db.session.execute(text("UPDATE contacts SET urgency = 'none' WHERE id = :id"), {"id": contact_id})
        db.session.commit()
        result = audit.verify()
    assert not result.ok
    assert result.reason.startswith(f"contact {contact_id} no longer matches the content")
    assert calls == ([] if helper else [os.getpid()])


def test_the_helper_names_a_contact_added_by_hand_as_the_check_here_does(app, client, people, monkeypatch, helper):
    contact_id = full_path(app, client, people)
    calls = checked_here(monkeypatch)
    with app.app_context():
        columns = [c.name for c in Contact.__table__.columns if c.name not in ("id", "partner_reference")]
        listed = ", ".join(columns)
        db.session.execute(text(f"INSERT INTO contacts (id, partner_reference, {listed}) "
                                f"SELECT 'ffffffff-0000-0000-0000-000000000000', 'BY-HAND', {listed} "
                                "FROM contacts WHERE id = :id"), {"id": contact_id})
        db.session.commit()
        result = audit.verify()
    assert not result.ok
    assert result.reason == ("contact ffffffff-0000-0000-0000-000000000000 has no event recording that it was "
                             "received")
    assert calls == ([] if helper else [os.getpid()])


def test_a_verification_inside_the_callers_transaction_sees_its_uncommitted_change(app, client, people):
    contact_id = full_path(app, client, people)
    with app.app_context():
        db.session.execute(text("UPDATE contacts SET urgency = 'none' WHERE id = :id"), {"id": contact_id})
        result = audit.verify()  # not committed: only this transaction holds the edit
        assert not result.ok and contact_id in result.reason
        db.session.rollback()
        assert audit.verify().ok

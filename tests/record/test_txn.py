"""Issue 19 item 4: on SQLite a read proceeds while a writer holds the write lock; writes stay serialised."""

from __future__ import annotations

import sqlite3
import threading

from tests.decision_support import submit
from triage.extensions import db


def test_a_page_read_proceeds_while_a_writer_holds_the_write_lock(app, client, people, sqlite_path):
    contact_id = submit(client, people["partner"])
    writer = sqlite3.connect(sqlite_path, isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # another process mid-write
    try:
        with app.app_context():
            from triage.record import txn

            with txn.reading():
                assert db.session.execute(db.text("SELECT count(*) FROM contacts")).scalar_one() == 1
                db.session.rollback()
    finally:
        writer.rollback()
        writer.close()
    assert contact_id


def test_a_recorded_read_waits_for_the_lock_and_is_kept(app, client, runner, people, sqlite_path):
    contact_id = submit(client, people["partner"])
    writer = sqlite3.connect(sqlite_path, isolation_level=None, timeout=1, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, lambda: (writer.rollback(), writer.close()))
    release.start()
    opened = client.get(f"/api/v1/contacts/{contact_id}", headers=people["practitioner"].headers)
    release.join()
    assert opened.status_code == 200
    assert runner.invoke(args=["triage", "audit-verify"]).exit_code == 0
    with app.app_context():
        from triage.record import audit

        assert [e.kind for e in audit.history(contact_id)].count("viewed") == 1


def test_concurrent_writes_are_still_serialised_and_safe(app, people, runner, sqlite_path):
    codes = []

    def post(i):
        with app.test_client() as own:
            codes.append(submit(own, people["partner"], partner_reference=f"RACE-{i}"))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(codes) == 8 and len(set(codes)) == 8
    assert runner.invoke(args=["triage", "audit-verify"]).exit_code == 0

"""Annex A List 1 in keyset batches, and an export's list copied by the database (issue 19 item 2).

List 1 is read a small first batch of contacts, then batches of ``STREAM_BATCH``, each the next
contacts after the last one's (``accepted_at``, id). With batches of one and two contacts, and
contacts accepted at the same instant (a batch boundary falls between them), the file must be
exactly the reference list over every contact. ``audit.record_export_of`` (one ``INSERT ...
SELECT``) must store the same list and the same event digest as ``audit.record_export`` over the
same ids, and ``audit-verify`` must accept it. In a request that only reads (SQLite), where that
statement would hold the write lock every intake waits for, the list goes in ``EXPORT_TURN`` rows
a write turn instead, read from JSON and sorted into the table's key order before the turn.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import event, select, update

from tests.decision_support import decide, review, submit
from tests.factories import child
from tests.record.test_audit import verify
from tests.reporting.test_lean_loading import reference_facts, varied_store, window  # noqa: F401 - the fixture
from triage.engine.guidance_config import REFERRAL_LEVEL
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.record import audit, txn
from triage.record.tables import Contact, Event, ExportContact, ExportList, User
from triage.reporting import exports


@pytest.fixture
def with_ties(app, client, people, varied_store):  # noqa: F811 - the fixture imported above
    """The varied store with three more contacts accepted at one instant as the newest (ties in the order)."""
    extra = [submit(client, people["partner"], children=[child(), child(sex="male")]) for _ in range(3)]
    with app.app_context():
        instant = db.session.scalar(select(Contact.accepted_at).where(Contact.id == varied_store[0]))
        db.session.execute(update(Contact).where(Contact.id.in_(extra)).values(accepted_at=instant))
        db.session.commit()
    return [*varied_store, *extra]


@pytest.mark.parametrize("first_batch, batch", [(1, 2), (2, 1), (100, 1000)])
def test_list_1_in_keyset_batches_is_the_reference_list(app, people, with_ties, monkeypatch, first_batch, batch):
    monkeypatch.setattr(exports, "LIST_1_FIRST", first_batch)
    monkeypatch.setattr(exports, "STREAM_BATCH", batch)
    first, last = window()
    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        start, end = london_days(first, last)
        expected = exports.to_csv(exports.LIST_1_HEADINGS, exports.list_1_rows(reference_facts(start, end), start, end))
        assert len(expected.splitlines()) > len(with_ties)
        assert exports.annex_a_csv(1, first, last, manager) == expected


def test_each_batch_after_the_first_reads_the_index_from_its_position_not_the_windows_start(app, people,
                                                                                            with_ties, monkeypatch):
    """A batch is read from the last one's (accepted_at, id) onward: it does not read the window from its
    start again and drop what came before (PostgreSQL dropped 35,001 rows for the 36th batch of a year's
    List 1 at 200,000 contacts: 15.5 ms, against 0.8 ms). The plan is PostgreSQL's, through the index as
    at scale (a test store is small enough to be read whole)."""
    monkeypatch.setattr(exports, "LIST_1_FIRST", 2)
    monkeypatch.setattr(exports, "STREAM_BATCH", 2)
    batches: list[tuple[str, dict]] = []

    def listener(_conn, _cursor, statement, parameters, *_):
        if statement.startswith("SELECT contacts.id, contacts.accepted_at, contacts.source_code"):
            batches.append((statement, parameters))

    first, last = window()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's EXPLAIN ANALYZE counts the rows a plan read and dropped")
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            exports.annex_a_csv(1, first, last, db.session.get(User, people["manager"].id))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(batches) > 4
        connection = db.session.connection()
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        statement, parameters = batches[-2]  # the last batch that found rows
        plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar()
        db.session.rollback()

    def dropped(node: dict) -> int:
        return node.get("Rows Removed by Filter", 0) + sum(dropped(child) for child in node.get("Plans", ()))

    assert dropped(plan[0]["Plan"]) <= 3, plan  # at most the ties at the position itself


def _window_list():
    """The test window's contacts in file order, and the query an export's list is copied from."""
    start, end = london_days(*window())
    ordered = db.session.scalars(select(Contact.id).where(Contact.accepted_at >= start, Contact.accepted_at < end)
                                 .order_by(Contact.accepted_at, Contact.id)).all()
    shown = select(Contact.id.label("contact_id"), Contact.accepted_at).where(Contact.accepted_at >= start,
                                                                               Contact.accepted_at < end)
    return ordered, shown


def _digest(ids: list[str]) -> str:
    return hashlib.sha256(b"".join(cid.encode() + b"\n" for cid in ids)).hexdigest()


def _stored_list(export_id: str) -> list[tuple[int, str]]:
    return db.session.execute(select(ExportContact.position, ExportContact.contact_id)
                              .join(ExportList, ExportList.id == ExportContact.list_id)
                              .where(ExportList.export_id == export_id).order_by(ExportContact.position)).all()


def test_an_export_list_copied_by_the_database_is_the_list_recorded_one_by_one(app, runner, people, with_ties):
    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        ordered, shown = _window_list()
        assert audit.record_export("one-by-one", iter(ordered), manager).count == len(ordered)
        assert audit.record_export_of("copied", shown, ("accepted_at", "contact_id"), manager).count == len(ordered)
        db.session.commit()
        events = {e.data["what"]: e.data for e in db.session.scalars(select(Event).where(Event.kind == "exported"))}
        assert events["copied"]["contacts_digest"] == events["one-by-one"]["contacts_digest"] == _digest(ordered)
        assert events["copied"]["count"] == len(ordered)
        for what in ("copied", "one-by-one"):
            assert _stored_list(events[what]["export_id"]) == list(enumerate(ordered))
    assert verify(runner).exit_code == 0


def test_an_export_list_read_in_a_read_only_request_is_stored_a_turn_at_a_time(app, runner, people, with_ties,
                                                                                 monkeypatch):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's write lock: a PostgreSQL copy blocks no other writer")
    monkeypatch.setattr(audit, "EXPORT_TURN", 2)
    inserts: list[tuple[str, int]] = []
    staging_on: set[int] = set()  # the connections that staged or copied the list

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO export_contacts"):
            inserts.append((statement, cursor.rowcount))
        if "export_staging" in statement:
            staging_on.add(id(conn.connection.driver_connection))

    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        ordered, shown = _window_list()
        with db.engine.connect(), db.engine.connect(), db.engine.connect():
            pass  # idle connections in the pool: a transaction begun after a commit may be on another one
        event.listen(db.engine, "after_cursor_execute", seen)
        try:
            with txn.reading():
                assert audit.record_export_of("in turns", shown, ("accepted_at", "contact_id"), manager).count == len(ordered)
                db.session.commit()
        finally:
            event.remove(db.engine, "after_cursor_execute", seen)
        assert len(ordered) > 4
        assert not any("FROM contacts" in statement for statement, _ in inserts)  # the window is not read under the lock
        assert not any("json_each" in statement for statement, _ in inserts)  # nor the ids parsed and sorted
        assert len(staging_on) == 1  # a temporary table is one connection's: staged and copied on that one
        assert [rows for _, rows in inserts] == [2] * (len(ordered) // 2) + [1] * (len(ordered) % 2)
        done = db.session.scalars(select(Event).where(Event.kind == "exported")).one().data
        assert done["contacts_digest"] == _digest(ordered)
        assert _stored_list(done["export_id"]) == list(enumerate(ordered))
    assert verify(runner).exit_code == 0


#: Each streamed file, begun (recorded, nothing read yet) for the test window.
FILES = {
    "List 1": lambda first, last, user: exports.annex_a_chunks(1, first, last, user),
    "List 3": lambda first, last, user: exports.annex_a_chunks(3, first, last, user),
    "training": exports.training_chunks,
}


@pytest.mark.parametrize("name", FILES)
def test_a_contact_stored_while_a_file_streams_is_in_neither_the_file_nor_its_record(app, client, people,
                                                                                      with_ties, name):
    """A file is streamed after its list is recorded and committed: the file holds the recorded contacts only.

    A contact stored in the window meanwhile (here a confirmed referral, so each file would take it)
    was in the file and not in the list: read, and never recorded as read.
    """
    first, last = window()
    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        before = "".join(FILES[name](first, last, manager))
        chunks = FILES[name](first, last, manager)  # recorded; nothing of the file read yet
        export_id = db.session.scalars(select(Event).where(Event.kind == "exported")
                                       .order_by(Event.seq.desc())).first().data["export_id"]
        db.session.commit()
    late = submit(client, people["partner"], children=[child(child_reference="STORED-MEANWHILE")])
    assert decide(client, people["practitioner"], late, level=REFERRAL_LEVEL).status_code == 201
    assert review(client, people["manager"], late).status_code == 201
    with app.app_context():
        streamed = "".join(chunks)
        listed = db.session.scalars(select(ExportContact.contact_id).join(ExportList, ExportList.id == ExportContact.list_id)
                                    .where(ExportList.export_id == export_id)).all()
        manager = db.session.get(User, people["manager"].id)
        now = "".join(FILES[name](first, last, manager))
    assert late not in listed
    assert streamed == before
    assert now != before  # a file begun now holds it: the window does take it

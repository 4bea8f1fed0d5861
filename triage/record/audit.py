"""The tamper-evident record: an append-only chain of events, each hashed with the one before.

Every event's hash covers its own content and the previous event's hash, so altering,
removing or reordering any stored event breaks the chain from that point on, and
``verify`` names the first event that does not match.

The hash is an HMAC-SHA256 under ``TRIAGE_AUDIT_KEY`` (``AUDIT_KEY`` in the config), a key
that lives in the environment and never in the database: someone who can write the database
but not read the key cannot re-hash a chain they rewrote. Someone who holds the key can, which
is what checkpoints are for: ``checkpoint()`` gives the head (sequence number and hash) to keep
outside the database, and ``verify(checkpoint=...)`` proves the chain up to it is the same one.

Each ``scored`` event also commits to the contact's stored content (``content_digest``: its
payload, children, recommendation, recommended level, floor and urgency), so editing a contact
by hand is named too. Chains stored before keying (plain SHA-256) are moved over once with
``rekey()`` (``triage audit-rekey``), which first verifies them as they were. Appends are serialised through the
single ``audit_head`` row (an UPDATE takes a row lock on PostgreSQL and the write lock on
SQLite), so concurrent requests never fork the chain.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import NamedTuple

from flask import current_app
from sqlalchemy import JSON, bindparam, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from triage.extensions import db
from triage.record import audit_rows, audit_worker, txn
from triage.record.canonical import canonical_json
from triage.record.queries import among
from triage.record.tables import (
    AuditCheckpoint,
    AuditFinding,
    AuditHead,
    AuditSample,
    AuditStream,
    CheckRequest,
    CheckResponse,
    ChildLink,
    ChildUnlink,
    Contact,
    Decision,
    Event,
    ExportContact,
    ExportList,
    FeedbackRelease,
    InformationRequest,
    MeetingAction,
    Review,
    User,
    time_ordered_id,
    utcnow,
)

GENESIS = "0" * 64

#: Every kind of event the record holds, with its plain-English name: the one list of kinds
#: (``record`` refuses any other) and the words every page shows for each (a contact's history).
EVENT_NAMES: dict[str, str] = {
    "received": "Received",
    "scored": "Recommendation made",
    "viewed": "Opened",
    "decided": "Decision recorded",
    "reviewed": "Decision reviewed by a manager",
    "information_requested": "More information asked of the referrer",
    "feedback_released": "Feedback sent to the partner",
    "checks_requested": "Check asked of a partner agency",  # one event per agency asked (spec section 10)
    "check_answered": "Check answered by a partner agency",
    "rescored": "Recommendation made again after checks",  # by the service itself
    "access_changed": "Account or access changed",  # an account or API token (triage.accounts); no contact
    "child_linked": "Child records linked",  # two child records said to be one child (services/children.py)
    "child_unlinked": "Child records link undone",
    "sign_in_alert": "Many failed sign-ins on one account",  # from anywhere (triage.services.signin)
    # The front door's rhythms (issue 17; triage.services.meetings and triage.services.quality_audit)
    "meeting_opened": "Domestic abuse meeting opened",  # no contact: the attendees and the agenda
    "meeting_item_taken": "Taken at the domestic abuse meeting",  # one contact decided or discussed there
    "meeting_action_agreed": "Action agreed at the domestic abuse meeting",
    "meeting_closed": "Domestic abuse meeting closed",  # the minutes; items not reached carry over
    "audit_sample_drawn": "Quality audit sample drawn",  # the month, the seed and every decision drawn
    "quality_audited": "Decision audited for quality",  # an auditor's finding on one decision
    "retention_applied": "Personal details removed after the retention period",  # services/retention.py
    "guidance_adopted": "Threshold guidance version brought into use",  # issue 16
    "guidance_draft_kept": "Draft threshold guidance uploaded",  # for a what-if run
    "what_if_run": "What-if run of draft guidance",  # who, which file (SHA-256), which window
    "export_started": "Download started",  # before its list is stored (record_export); no contact
    "exported": "Included in a download",  # one download of many contacts (record_export)
    "content_sealed": "Content sealed on upgrade",  # a contact stored before content sealing (services/sealing.py)
}
EVENT_KINDS = tuple(EVENT_NAMES)


def _canonical(event: Event) -> bytes:
    return _canonical_values(event.seq, event.contact_id, event.kind, event.actor_id, event.actor, event.at,
                             event.data, event.stream, event.prev_seq)


def _canonical_values(seq, contact_id, kind, actor_id, actor, at, data, stream, prev_seq) -> bytes:
    return _message(seq, contact_id, kind, actor_id, actor, at, canonical_json(data), stream, prev_seq)


def _message(seq, contact_id, kind, actor_id, actor, at, data_text: str, stream, prev_seq) -> bytes:
    """What an event's hash is taken over: the canonical JSON of its columns, its data given as JSON text.

    The keys sort as ``actor``, ``actor_id``, ``at``, ``contact_id``, ``data``, ``kind``,
    ``prev_seq``, ``seq``, ``stream``, so the text is the columns before ``data``, the data's text,
    then the columns after it: exactly ``canonical_json`` of the whole event when ``data_text`` is
    ``canonical_json(data)``. Taking the text lets ``audit-verify`` hash the stored data as it is.
    """
    return _message_text(seq, contact_id, kind, actor_id, actor, at.isoformat(timespec="microseconds"), data_text,
                         stream, prev_seq)


def _message_text(seq, contact_id, kind, actor_id, actor, at_text: str, data_text: str, stream, prev_seq) -> bytes:
    """``_message`` with the time given as its hashed text (``audit-verify`` reads it so: no datetime per event).

    The usual text, whole numbers and null are encoded in line (``_scalar`` for anything else):
    this runs once for every event of a full verification.
    """
    text = (f'{{"actor":{encode_basestring(actor) if type(actor) is str else _scalar(actor)},'
            f'"actor_id":{int.__repr__(actor_id) if type(actor_id) is int else _scalar(actor_id)},'
            f'"at":"{at_text}",'
            f'"contact_id":{encode_basestring(contact_id) if type(contact_id) is str else _scalar(contact_id)},'
            f'"data":{data_text},"kind":{encode_basestring(kind) if type(kind) is str else _scalar(kind)},')
    if stream is None:  # events of the old single chain were hashed without these
        return f'{text}"seq":{_scalar(seq)}}}'.encode()
    return (f'{text}"prev_seq":{int.__repr__(prev_seq) if type(prev_seq) is int else _scalar(prev_seq)},'
            f'"seq":{int.__repr__(seq) if type(seq) is int else _scalar(seq)},'
            f'"stream":{encode_basestring(stream) if type(stream) is str else _scalar(stream)}}}').encode()


def _scalar(value) -> str:
    """``canonical_json`` of one column's value, without its cost for the usual text, numbers and null."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is int:
        return int.__repr__(value)
    return canonical_json(value)


def _key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode()


def event_hash(event: Event, prev_hash: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of the previous hash and the event under ``key`` (default: the configured key).

    ``key=b""`` is never used; ``LEGACY`` selects the unkeyed SHA-256 of chains stored before keying.
    """
    message = prev_hash.encode() + _canonical(event)
    if key is LEGACY:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key or _key(), message, hashlib.sha256).hexdigest()


#: Marker for ``event_hash``: the plain SHA-256 chains were hashed with before keying.
LEGACY = b"legacy-sha256"

#: The contact columns the ``scored`` event commits to (what a decision rests on), and each child's.
CONTENT_COLUMNS = ("payload", "recommendation", "screening_recommendation", "recommended_level", "floor_level",
                   "urgency")
#: The events that seal a contact's content: intake's ``scored``, after checks ``rescored``, the
#: retention event that removed its personal content (what is left is what it seals), and the
#: upgrade step that sealed a contact stored before sealing existed.
SEALING_KINDS = ("scored", "rescored", "retention_applied", "content_sealed")
CHILD_COLUMNS = ("position", "child_reference", "child_id", "age_years", "unborn", "sex", "ethnicity", "disabled",
                 "current_status")


def content_digest(contact: Contact) -> str:
    """SHA-256 of the contact's stored content, canonical JSON; the keyed event that holds it is the seal."""
    return digest_of({column: getattr(contact, column) for column in CONTENT_COLUMNS},
                     [{column: getattr(child, column) for column in CHILD_COLUMNS} for child in contact.children])


def digest_of(values: dict, children: list[dict]) -> str:
    """``content_digest`` from plain values (``CONTENT_COLUMNS`` and each child's ``CHILD_COLUMNS``).

    The one definition of the digest: intake seals an ORM contact with it, ``audit-verify`` the
    rows it reads as plain columns (no ORM object per contact: the full verification reads them all).
    """
    return _digest({column: canonical_json(values[column], default=str) for column in CONTENT_COLUMNS}, children)


def _digest(texts: dict[str, str], children: list[dict]) -> str:
    """The digest from each content column's JSON text: ``canonical_json`` of the content, key by key in order.

    With each text ``canonical_json(value, default=str)`` this is the canonical text of the whole
    content (children sorted by position); ``audit-verify`` also gives it the JSON columns' stored text.
    """
    parts = {**texts, "children": canonical_json(sorted(children, key=lambda child: child["position"]), default=str)}
    body = ",".join(f'"{column}":{parts[column]}' for column in sorted(parts))
    return hashlib.sha256(f"{{{body}}}".encode()).hexdigest()


#: The chain of events about no contact and no person (a sign-in alert, a migration's note).
SERVICE_STREAM = "service"


def stream_for(contact_id: str | None, user: User | None) -> str:
    """Whose chain an event goes in: the contact's, else the person's, else the service's."""
    if contact_id:
        return f"contact:{contact_id}"
    if user is not None:
        return f"user:{user.id}"
    return SERVICE_STREAM


def record(
    kind: str,
    *,
    contact_id: str | None = None,
    user: User | None = None,
    data: dict | None = None,
    at: datetime | None = None,
    stream: str | None = None,
) -> Event:
    """Append one event inside the caller's transaction (committed with the change it records).

    Only the head row of the event's own stream is locked (a contact's, a person's, an export's),
    so requests about different contacts never wait for each other. On SQLite, a read-only
    request (``txn.reading``) records its reads in a short write transaction of their own.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if txn.reading_now():
        with txn.writing():
            event = _append(kind, contact_id, user, data, at, stream)
        return event
    return _append(kind, contact_id, user, data, at, stream)


def record_reads(contact_ids: Iterable[str], user: User, data: dict) -> int:
    """A ``viewed`` event for each contact shown together (a history list): one write, however many.

    The events go in together (``append_to_streams``): a child's long history costs the same few
    statements as a short one, not four per contact shown.
    """
    streams = [(stream_for(contact_id, user), [("viewed", contact_id, user, data, utcnow())])
               for contact_id in contact_ids]
    with txn.writing():
        return append_to_streams(streams)


def _append(kind, contact_id, user, data, at, stream) -> Event:
    stream = stream or stream_for(contact_id, user)
    prev_seq, prev_hash = _lock_stream(stream)
    seq = _next_seq()
    event = Event(**event_values(kind, contact_id, user, data, at, stream=stream, seq=seq, prev_seq=prev_seq,
                                 prev_hash=prev_hash))
    db.session.add(event)
    db.session.execute(update(AuditStream).where(AuditStream.stream == stream)
                       .values(seq=seq, last_hash=event.hash))
    return event


def record_opening(contact_id: str, events: list[tuple[str, User | None, dict]], *, at: datetime) -> None:
    """The first events of a contact just stored (intake's ``received`` and ``scored``), in few statements.

    The contact's stream is new (its id was made a moment ago), so its head row is inserted rather
    than looked up and locked (if it somehow existed, the insert fails loudly instead of forking
    it); the numbers are taken in one statement and the events written in one, hashed and linked
    exactly as ``record`` would, one after the other (``append_new_streams``, which the batch
    loader uses for many contacts at once).
    """
    for kind, _user, _data in events:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
    append_new_streams([(stream_for(contact_id, None),
                         [(kind, contact_id, user, data, at) for kind, user, data in events])])


def event_values(kind: str, contact_id: str | None, user: User | None, data: dict | None, at: datetime | None, *,
                 stream: str, seq: int, prev_seq: int, prev_hash: str) -> dict:
    """One event's columns, hash included, linked after ``prev_seq``/``prev_hash`` in its stream (nothing stored).

    The one place an appended event is made: ``record`` appends it under the stream's lock,
    ``append_new_streams`` (the batch loader) many at once.
    """
    values = {
        "seq": seq,
        "contact_id": contact_id,
        "kind": kind,
        "actor_id": user.id if user else None,
        "actor": user.label if user else None,
        "at": at or utcnow(),
        "data": json.loads(json.dumps(data or {}, default=str)),
        "prev_hash": prev_hash,
        "stream": stream,
        "prev_seq": prev_seq,
    }
    message = prev_hash.encode() + _canonical_values(seq, contact_id, kind, values["actor_id"], values["actor"],
                                                     values["at"], values["data"], stream, prev_seq)
    values["hash"] = hmac.new(_key(), message, hashlib.sha256).hexdigest()
    return values


#: One new stream's events for ``append_new_streams``: (kind, contact_id, actor, data, at) each, in order.
NewEvent = tuple[str, str | None, "User | None", dict, datetime]


def append_new_streams(streams: list[tuple[str, list[NewEvent]]]) -> int:
    """Many streams that have no event yet, each chained from the genesis, inserted in bulk; returns the count.

    The same events ``record`` would append one by one, numbered in the order given, within the
    caller's transaction: intake's first two events of a contact (``record_opening``) and the batch
    loader's many contacts (``services.volume``). The heads are inserted at the genesis BEFORE any
    sequence number is taken, as ``_lock_stream`` orders it, so a checkpoint (which locks every head)
    waits for these events instead of binding numbers past one not yet committed; a stream that
    already has a head makes that insert fail (nothing of the batch is kept), so no chain is forked.
    """
    streams = [(stream, events) for stream, events in streams if events]
    if not streams:
        return 0
    db.session.execute(_INSERT_HEADS, [{"stream": stream, "seq": 0, "last_hash": GENESIS} for stream, _ in streams])
    return _write_chained(streams, {stream: (0, GENESIS) for stream, _ in streams})


def append_to_streams(streams: list[tuple[str, list[NewEvent]]]) -> int:
    """Events appended to streams that may already hold events, in bulk; returns the count.

    What ``record`` does one event at a time, for many streams in a few statements: every head is
    locked first (in the order of their names, so two such appends never wait for each other in a
    cycle), made at the genesis where new, and only then are numbers taken (see ``_lock_stream``).
    """
    streams = [(stream, events) for stream, events in streams if events]
    if not streams:
        return 0
    return _write_chained(streams, _lock_streams(sorted({stream for stream, _ in streams})))


def _write_chained(streams: list[tuple[str, list[NewEvent]]], heads: dict[str, tuple[int, str]]) -> int:
    """Number, hash and link each stream's events after its head, then insert them and move the heads."""
    numbers = iter(_next_seqs(sum(len(events) for _, events in streams)))
    rows, moved = [], {}
    for stream, events in streams:
        prev_seq, prev_hash = moved.get(stream, heads[stream])
        for kind, contact_id, user, data, at in events:
            row = event_values(kind, contact_id, user, data, at, stream=stream, seq=next(numbers),
                               prev_seq=prev_seq, prev_hash=prev_hash)
            rows.append(row)
            prev_seq, prev_hash = row["seq"], row["hash"]
        moved[stream] = (prev_seq, prev_hash)
    db.session.execute(_INSERT_EVENTS, rows)
    db.session.execute(_MOVE_HEADS, [{"head": stream, "head_seq": seq, "head_hash": last}
                                     for stream, (seq, last) in moved.items()])
    return len(rows)


# Built once, as every intake runs them: a statement built per call costs its construction and cache key.
_INSERT_HEADS = insert(AuditStream.__table__)
_INSERT_EVENTS = insert(Event.__table__)
_MOVE_HEADS = (update(AuditStream.__table__).where(AuditStream.__table__.c.stream == bindparam("head"))
               .values(seq=bindparam("head_seq"), last_hash=bindparam("head_hash")))
_LAST_SEQ = select(func.max(Event.seq))
_NEXT_SEQS = text("SELECT nextval('events_seq_counter') FROM generate_series(1, :n)")


def _next_seqs(count: int) -> list[int]:
    """``count`` global sequence numbers at once (``_next_seq`` for many events)."""
    if count <= 0:
        return []
    if db.engine.dialect.name == "postgresql":
        return sorted(db.session.execute(_NEXT_SEQS, {"n": count}).scalars())
    first = (db.session.scalar(_LAST_SEQ) or 0) + 1
    return list(range(first, first + count))


def _lock_stream(stream: str) -> tuple[int, str]:
    """Lock the stream's head row (creating it at the genesis if new) and return its seq and hash.

    The head row is locked before a sequence number is taken: a checkpoint, which locks every head,
    therefore waits for every append that already holds a number (see ``make_checkpoint``).
    """
    query = select(AuditStream.seq, AuditStream.last_hash).where(AuditStream.stream == stream).with_for_update()
    row = db.session.execute(query).first()
    if row is None:
        insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        db.session.execute(insert(AuditStream).values(stream=stream, seq=0, last_hash=GENESIS)
                           .on_conflict_do_nothing(index_elements=["stream"]))
        row = db.session.execute(query).one()
    return row.seq, row.last_hash


def _lock_streams(streams: list[str]) -> dict[str, tuple[int, str]]:
    """``_lock_stream`` for many streams in two or three statements: each one's seq and hash by name."""
    query = (select(AuditStream.stream, AuditStream.seq, AuditStream.last_hash)
             .where(AuditStream.stream.in_(streams)).order_by(AuditStream.stream).with_for_update())
    heads = {row.stream: (row.seq, row.last_hash) for row in db.session.execute(query)}
    missing = [stream for stream in streams if stream not in heads]
    if missing:
        insert_ = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        db.session.execute(insert_(AuditStream).on_conflict_do_nothing(index_elements=["stream"]),
                           [{"stream": stream, "seq": 0, "last_hash": GENESIS} for stream in missing])
        heads |= {row.stream: (row.seq, row.last_hash) for row in db.session.execute(
            query.where(AuditStream.stream.in_(missing)))}
    return heads


def _next_seq() -> int:
    """The next global sequence number: a PostgreSQL sequence, or max + 1 under SQLite's write lock."""
    if db.engine.dialect.name == "postgresql":
        return db.session.execute(text("SELECT nextval('events_seq_counter')")).scalar_one()
    return (db.session.scalar(select(func.max(Event.seq))) or 0) + 1


class Recorded(NamedTuple):
    """An export's stored list: its id (the file is streamed from it, ``listed_in_export``) and how many contacts
    it names."""

    export_id: str
    count: int


def listed_in_export(export_id: str, contact_ids: Collection[str] | None = None) -> set[str]:
    """Which of ``contact_ids`` (a batch of a file being streamed; None: all) export ``export_id``'s stored
    list names.

    A file is streamed after its list is recorded and committed, in a transaction of its own, so a
    contact stored in the window meanwhile (today's intake) was in the file and not in the list:
    read, and not recorded as read. Each batch is kept to the listed contacts, so the file holds
    exactly what its ``exported`` event vouches for. Asked a batch at a time (a seek of the list's
    key per id), not as a condition of the batch's query: PostgreSQL joined that condition by
    reading the export's whole list (40,000 ids for a year) for every batch.
    """
    query = select(ExportContact.contact_id).where(ExportContact.list_id == _list_of(export_id))
    if contact_ids is not None:
        if not contact_ids:
            return set()
        query = query.where(among(ExportContact.contact_id, list(contact_ids)))
    return set(db.session.scalars(query))


def record_export(what: str, contact_ids: Iterable[str], user: User) -> Recorded:
    """A download is a read of every contact in it: ONE ``exported`` event names its contacts.

    Bulk exports (the Annex A lists, the training file) hold children's details, so the record
    shows who took each contact out of the service, and in which file, exactly as it shows who
    opened it on a page. The contacts go into ``export_contacts`` in batches as the iterable yields
    them (a generator is never held whole; only the ids already seen, to drop repeats); the event,
    in a stream of its own, holds their count and the SHA-256 of the list, so the keyed chain
    vouches for the list and ``audit-verify`` re-reads it. Each contact's history shows the export
    as "Opened in an export". An ``export_started`` event goes first (``_started``). Returns the
    export's id and how many contacts were recorded.
    """
    export_id, number = _started(what, user)
    digest = hashlib.sha256()
    seen: set[str] = set()
    batch: list[dict] = []
    count = 0
    for contact_id in contact_ids:
        if contact_id in seen:
            continue
        seen.add(contact_id)
        batch.append({"list_id": number, "position": count, "contact_id": contact_id})
        count += 1
        if len(batch) >= EXPORT_BATCH:
            _hash_ids(digest, (row["contact_id"] for row in batch))
            _insert_export_rows(batch)
            batch = []
    _hash_ids(digest, (row["contact_id"] for row in batch))
    _insert_export_rows(batch)
    return Recorded(export_id, _exported(what, export_id, count, digest.hexdigest(), user))


EXPORT_BATCH = 1000


def record_export_of(what: str, ids, order: tuple[str, ...], user: User) -> Recorded:
    """``record_export`` for the contacts a query names, copied into ``export_contacts`` by the database.

    ``ids`` is a select with a ``contact_id`` column (each contact once) and the columns named in
    ``order``, the file's order. One ``INSERT ... SELECT`` numbers and stores the list (no row
    passes through Python on the way in: a year of a large council's contacts was 40,000 ORM
    insert parameters before the first byte of the file); the list is then read back by position
    (``_stored_list``) for the SHA-256 the event holds, exactly as ``record_export`` makes it and
    ``audit-verify`` re-reads it. An ``export_started`` event goes first (``_started``). Returns the
    export's id and how many contacts were recorded.

    In a request that only reads (SQLite) the copy would hold the write lock every intake waits
    for while it runs the window's query: a year's List 1 at 200,000 contacts held it 155-200 ms,
    and intake p95 at 8 clients tripled (0.32 s) while a year's export and dashboard looped
    (``benchmarks/bench_intake_during_export.py``). There the list is read in the request's
    snapshot instead, without the lock, and stored by SQLite from one JSON array of ids a write
    turn (``_store_in_turns``; ``EXPORT_TURN`` ids a turn).
    """
    listed = ids.subquery()
    by_file_order = [listed.c[name] for name in order]
    export_id, number = _started(what, user)
    if txn.reading_now():
        ids_in_order = db.session.scalars(select(listed.c.contact_id).order_by(*by_file_order)).all()
        return Recorded(export_id, _exported(what, export_id, *_store_in_turns(number, ids_in_order), user))
    position = func.row_number().over(order_by=by_file_order) - 1
    # Inserted in the key's order (as SQLite's turns are): each row goes at the end of the list's key
    # range, not at a random place in it. A year's list at 200,000 contacts on PostgreSQL wrote
    # 8.8 MiB of WAL against 10.2 MiB in the file's order (``benchmarks/bench_export_repeats.py``).
    rows = (select(literal(number, ExportContact.list_id.type), position, listed.c.contact_id)
            .order_by(listed.c.contact_id))
    _write(insert(ExportContact).from_select(["list_id", "position", "contact_id"], rows))
    return Recorded(export_id, _exported(what, export_id, *_stored_list(export_id), user))


#: Rows of a stored list per write turn in a read-only request on SQLite: a year of a large council's
#: contacts (40,000) goes in one. What made intake wait was the window read under the lock, not the
#: insert: at 200,000 contacts (``benchmarks/bench_export_phases.py``, 2 rounds each) the one turn
#: held it 71-91 ms at stop 37 (the old copy, 155-200 ms; staged as below, 8 ms on a faster machine
#: at stop 52, against 20-21 ms unstaged); turns of 5,000 rows held it 12-22 ms each but,
#: queueing behind intakes ten times, put the file's first byte at 1.09-1.26 s over HTTP (0.47-0.51 s
#: so) and intake p95 while the export looped at 190-228 ms (118-155 ms so). docs/architecture.md
#: has every measure, including the one that favoured turns.
EXPORT_TURN = 50_000

#: A turn of a stored list is staged first in a table of one connection's own (SQLite's ``temp``
#: database, which no other connection sees and whose writes take no lock of the store): its ids
#: from one JSON array (``json_each``: no row goes through Python's parameter handling), numbered,
#: and kept in contact order, the order of ``export_contacts``' key (export, contact: a contact's
#: history finds its exports there). The write turn then only copies them across, in that order:
#: reading the JSON and sorting 40,000 ids no longer hold the lock every intake waits for. A year's
#: list at 200,000 contacts (copies of one store, in-process, nine each way alternating): 16.6 ms
#: held (8.0 to insert, 8.6 to commit) against 28.8 ms (26.6 and 2.2) when the turn read and sorted.
_STAGING = text("CREATE TEMP TABLE IF NOT EXISTS export_staging "
                "(contact_id VARCHAR(36) PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID")
_STAGE = text("INSERT INTO temp.export_staging (contact_id, position) SELECT value, :first + key FROM json_each(:ids)")
_STORE_STAGED = text("INSERT INTO export_contacts (list_id, position, contact_id) "
                     "SELECT :number, position, contact_id FROM temp.export_staging")
_UNSTAGE = text("DELETE FROM temp.export_staging")


def _store_in_turns(number: int, ids_in_order: list[str]) -> tuple[int, str]:
    """A list read in a read-only request (SQLite), stored ``EXPORT_TURN`` rows a write turn: its count and SHA-256.

    On a connection of its own, held throughout: a temporary table belongs to one connection, and
    the session's may be another after each of its commits (the pool's).
    """
    with db.engine.connect() as connection:
        for first in range(0, len(ids_in_order), EXPORT_TURN):
            connection.execute(_STAGING)
            connection.execute(_UNSTAGE)  # nothing left by a turn that failed
            connection.execute(_STAGE, {"first": first, "ids": json.dumps(ids_in_order[first:first + EXPORT_TURN])})
            connection.commit()  # wrote only its own table: no write turn, no lock of the store
            with txn.immediate():
                connection.execute(_STORE_STAGED, {"number": number})
                connection.commit()
            connection.execute(_UNSTAGE)
            connection.commit()
    digest = hashlib.sha256()
    _hash_ids(digest, ids_in_order)
    return len(ids_in_order), digest.hexdigest()


def _hash_ids(digest, contact_ids: Iterable[str]) -> None:
    """The one way an export's list is hashed for its event: each id, then a newline, in file order."""
    digest.update("".join(f"{contact_id}\n" for contact_id in contact_ids).encode())


def _stored_list(export_id: str) -> tuple[int, str]:
    """How many contacts an export's stored list holds, and the SHA-256 of their ids read by position.

    The one reading of a stored list: for its event (``record_export_of``) and for ``audit-verify``.
    Plain rows, a batch at a time, each batch hashed in one update: read as ORM rows, the 40,000 ids
    of a year's list took 0.17-0.28 s of Python before the file's first byte (0.08 s so), holding
    the lock of the interpreter that the worker's other requests wait for.
    """
    table = ExportContact.__table__
    result = db.session.execute(select(table.c.contact_id).where(table.c.list_id == _list_of(export_id))
                                .order_by(table.c.position).execution_options(yield_per=EXPORT_BATCH))
    digest, count = hashlib.sha256(), 0
    for batch in result.scalars().partitions():
        _hash_ids(digest, batch)
        count += len(batch)
    return count, digest.hexdigest()


#: Every export has a stream of its own, named this and its id.
EXPORT_STREAM = "export:"


def _started(what: str, user: User) -> tuple[str, int]:
    """A new export's id and list number, and its first event, ``export_started``, recorded before any of its list.

    In a request that only reads (SQLite), the list and the ``exported`` event are written in write
    turns of their own, so a worker stopped between them (a restart, a crash, a write that failed)
    leaves a stored list that no ``exported`` event vouches for. The record names the export first,
    so ``audit-verify`` can tell that list (an export cut short before its file was served) from one
    whose event was removed. On PostgreSQL all three commit together.
    """
    export_id = time_ordered_id()
    with txn.writing():  # one write: the number is never taken without the event that names its export
        record("export_started", user=user, stream=f"{EXPORT_STREAM}{export_id}",
               data={"export_id": export_id, "what": what})
        number = db.session.scalar(insert(ExportList).values(export_id=export_id).returning(ExportList.id))
    return export_id, number


def _list_of(export_id: str):
    """The list number of export ``export_id``, as a condition's value (one lookup of ``export_lists``' key)."""
    return select(ExportList.id).where(ExportList.export_id == export_id).scalar_subquery()


def _exported(what: str, export_id: str, count: int, digest: str, user: User) -> int:
    """The ``exported`` event for a stored list, in a stream of its own: its count and the SHA-256 of its ids."""
    record("exported", user=user, stream=f"{EXPORT_STREAM}{export_id}", data={
        "export_id": export_id, "what": what, "count": count, "contacts_digest": digest})
    return count


def _insert_export_rows(batch: list[dict]) -> None:
    if batch:
        _write(insert(ExportContact), batch)


def _write(statement, rows: list[dict] | None = None) -> None:
    """In the caller's transaction; in a request that only reads (``txn.reading``), a short write of its own."""
    if txn.reading_now():
        with txn.writing():
            db.session.execute(statement, rows)
        return
    db.session.execute(statement, rows)


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str = ""
    since: int | None = None  # the checkpoint an incremental verification started from
    cut_short: int = 0  # exports begun and never finished (``export_started`` alone): no file was served

    def summary(self) -> str:
        if self.ok:
            if self.since is not None:
                return (f"audit chain intact since checkpoint {self.since}: {self.count} later events verified, "
                        "and every record row they name matches its event")
            cut = (f"; {self.cut_short} export{'s' if self.cut_short != 1 else ''} cut short before the file was "
                   "served (begun, never finished)") if self.cut_short else ""
            return f"audit chain intact: {self.count} events verified, and every record row matches its event{cut}"
        where = f"at event {self.first_bad_seq}" if self.first_bad_seq else "in the record tables"
        return f"audit chain BROKEN {where}: {self.reason}"


class _Broken(Exception):
    def __init__(self, seq: int | None, reason: str):
        super().__init__(reason)
        self.seq, self.reason = seq, reason


#: The old single chain's name in the walk (events whose ``stream`` is NULL).
LEGACY_STREAM = "(single chain before 0009)"
_COLUMNS = (Event.seq, Event.contact_id, Event.kind, Event.actor_id, Event.actor, Event.at, Event.stream,
            Event.prev_seq, Event.prev_hash, Event.hash)


class _Fact(NamedTuple):
    """What the checks after the walk need of one event (not the row: its data decoded once, if at all)."""

    seq: int
    contact_id: str | None
    actor_id: int | None
    data: dict


class _Walk:
    """One pass over events in global order: each stream's links and hashes, and what the rows need."""

    def __init__(self, key: bytes | None, heads: dict | None = None):
        self.key = key or _key()
        self.heads: dict[str, tuple[int, str]] = heads if heads is not None else {}
        self.count = 0
        self.records: dict[str, list] = {}
        self.seals: dict[str, str | None] = {}
        self.exports: list = []
        self.started: set[str] = set()  # exports begun (``export_started``), finished or not
        self.received: set[str] = set()

    def _hashes(self, row: tuple, data_text: str, at_text: str | None) -> bool:
        if at_text is None:
            return False
        seq, contact_id, kind, actor_id, actor, _, stream, prev_seq, prev_hash, hash_ = row[:10]
        body = prev_hash.encode() + _message_text(seq, contact_id, kind, actor_id, actor, at_text, data_text, stream,
                                                  prev_seq)
        if self.key is LEGACY:
            expected = hashlib.sha256(body).hexdigest()
        else:
            expected = hmac.digest(self.key, body, "sha256").hex()
        return hmac.compare_digest(expected, hash_)

    def _verified_data(self, row: tuple) -> dict | None:
        """Check the event's hash; return its data if it had to be decoded for that, else None.

        Over the stored data text as it stands: when that text is one whole JSON value and the
        hash matches, it IS the canonical text the hash was taken over (any other text gives
        another message), so decoding and re-encoding it would give the same bytes. Or, for data
        stored in another form (before the canonical storage, by hand), decoded and re-encoded as
        always. The event passes if either gives its hash. The stored text is always tried first (a
        hash of text already read): decoding and re-encoding matches a canonical event too, so when
        it went first after the one event that needed it, every later event was decoded and re-encoded.
        """
        for way in (self._as_stored, self._re_encoded):
            matched, data = way(row)
            if matched:
                return data
        raise _Broken(row[0], "its content does not match its hash")

    def _as_stored(self, row: tuple) -> tuple[bool, None]:
        """The stored data text and the time as read (``audit_rows.event_sql``; stored otherwise, as the ORM reads it)."""
        at = row[5] if row[5] is not None else audit_rows.at_text(row[12])
        return bool(row[11]) and self._hashes(row, row[10], at), None

    def _re_encoded(self, row: tuple) -> tuple[bool, dict | None]:
        """The data decoded and re-encoded, the time as the ORM reads the stored value: the check as it always was."""
        try:
            data = json.loads(row[10])
        except (TypeError, ValueError):
            return False, None
        at = row[5] if row[12] is None else audit_rows.at_text(row[12])
        return self._hashes(row, canonical_json(data), at), data

    def event(self, row) -> None:
        """One event (a row of ``audit_rows.events``): its hash, its link in its stream, and what the later checks need."""
        seq, contact_id, kind, actor_id, _, _, stream, prev_seq, prev_hash, hash_, data_text = row[:11]
        name = stream or LEGACY_STREAM
        last_seq, last_hash = self.heads.get(name, (0, GENESIS))
        data = self._verified_data(row)
        if stream is None:
            if seq != last_seq + 1:
                raise _Broken(last_seq + 1, f"event {last_seq + 1} is missing (next stored is {seq})")
        elif prev_seq != last_seq:
            if prev_seq > last_seq:
                raise _Broken(prev_seq, f"event {prev_seq} is missing (event {seq}, next in its record, follows it)")
            raise _Broken(seq, "its link to the previous event in its record does not match")
        if prev_hash != last_hash:
            raise _Broken(seq, "its link to the previous event does not match")
        self.heads[name] = (seq, hash_)
        self.count += 1
        if kind in _DATA_KINDS:
            fact = _Fact(seq, contact_id, actor_id, json.loads(data_text) if data is None else data)
            if kind in RECORD_KINDS:
                self.records.setdefault(kind, []).append(fact)
            elif kind in SEALING_KINDS:
                self.seals[contact_id] = (fact.data or {}).get("content_digest")
            elif kind == "export_started":
                self.started.add((fact.data or {}).get("export_id"))
            else:
                self.exports.append(fact)
        elif kind == "received" and contact_id:
            self.received.add(contact_id)


def verify(checkpoint: dict | None = None, *, incremental: bool = False) -> Verification:
    """Check the record; in full by default, or only what came after the last stored checkpoint.

    In full: walk every event in global order (each stream's links and keyed hashes), check every
    stored checkpoint binds exactly the events it covers, every stream's head, then every record
    row, export list and contact's content against the event that vouches for it.

    With a ``checkpoint`` (from ``audit-checkpoint``, kept outside the database), also prove that
    the stored checkpoint it names still has its hash: nothing it covers was rewritten, even by
    someone holding the key. ``incremental=True`` starts from that checkpoint (or the latest
    stored one) and checks only later events and the rows, lists and contents they name.

    Inside a transaction the caller began, the check reads it as it stands (its own writes
    included). Otherwise it runs in a read-only transaction of its own, one snapshot throughout
    (``audit_worker.begin_snapshot``: what is stored meanwhile is not half seen, and SQLite's
    write lock is not held), ended before returning; a full check of a large store then checks the
    contacts' contents in a helper process on the second core, in the same snapshot.
    """
    with _collector_paused():
        if db.session().in_transaction():
            return _verify(checkpoint, incremental, None)
        with txn.reading():  # SQLite: a deferred BEGIN, WAL's snapshot, no write lock
            helper = audit_worker.Helper(_contents_task)  # forked: paused too
            try:
                audit_worker.begin_snapshot()
                started = not incremental and helper.start()
                return _verify(checkpoint, incremental, helper if started else None)
            finally:
                helper.stop()
                db.session.rollback()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while the record is verified, and on again after (if it was on).

    The walk keeps what the later checks need (a fact per record event, each stream's head), so the
    heap grows for the whole check, and each full collection walked all of it again. At 20,000
    contacts, each check in a fresh process as ``audit-verify`` runs (``benchmarks/bench_verify.py
    --times 1``, with and without ``--collector running``, four times each in turn), median wall
    time: SQLite 2.70 -> 2.19 s, PostgreSQL 8.05 -> 7.36 s (a store holding many exports' lists).
    What the check keeps holds no cycles (tuples, dicts and strings, freed by their counts as
    always): peak memory was the same, 301 and 317 MB.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _verify(checkpoint: dict | None, incremental: bool, helper: audit_worker.Helper | None) -> Verification:
    try:
        checkpoints = _verify_checkpoint_chain()
        if checkpoint is not None:
            _verify_external(checkpoint, checkpoints)
        if incremental and checkpoints:
            base = checkpoints[-1]
            if checkpoint is not None and "checkpoint" in checkpoint:
                base = next(cp for cp in checkpoints if cp.id == int(checkpoint["checkpoint"]))
            return _verify_since(base)
        walk = _Walk(None)
        _walk_all(walk, checkpoints)
        _check_heads(walk.heads)
        _check_records(walk, full=True)
        cut_short = _check_exports(walk.exports, walk.started, full=True)
        answer = helper.result() if helper is not None else NotImplemented
        if answer is NotImplemented:  # no helper, or it failed: the step here, as always
            _check_contents(walk, full=True)
        elif answer is not None:
            raise _Broken(*answer)
        return Verification(True, walk.count, cut_short=cut_short)
    except _Broken as broken:
        return Verification(False, 0, broken.seq, broken.reason)


class _Receipts(NamedTuple):
    """What ``_check_contents`` reads of a walk: each contact's latest seal and whose receipt is recorded."""

    seals: dict[str, str | None]
    received: set[str]


def _contents_task() -> tuple[int | None, str] | None:
    """The full contents check, in the helper (``audit_worker``): None if every contact matches, else the failure.

    The helper reads the seals and receipts from the events itself (the same rows the walk proves,
    in the same snapshot), so it need not wait for the walk.
    """
    try:
        _check_contents(_Receipts(*audit_rows.seals_and_receipts(SEALING_KINDS)), full=True)
    except _Broken as broken:
        return broken.seq, broken.reason
    return None


def _walk_all(walk: _Walk, checkpoints: list) -> None:
    """Every event in order; each stored checkpoint's digest recomputed from the events it covers."""
    index, digest, total = 0, hashlib.sha256(), 0

    def close(cp):
        nonlocal digest
        if digest.hexdigest() != cp.digest or total != cp.events:
            raise _Broken(cp.upto_seq, f"events up to checkpoint {cp.id} were changed, removed or added "
                                       "(they no longer match its digest)")
        digest = hashlib.sha256()

    for r in audit_rows.events():
        seq = r[0]
        while index < len(checkpoints) and seq > checkpoints[index].upto_seq:
            close(checkpoints[index])
            index += 1
        walk.event(r)
        digest.update(f"{seq}:{r[9]}\n".encode())
        total += 1
    while index < len(checkpoints):
        close(checkpoints[index])
        index += 1


def _check_heads(heads: dict, streams: Iterable[str] | None = None) -> None:
    """Each stream's stored head is the last event the walk found in it: nothing cut off the end."""
    legacy = db.session.get(AuditHead, 1)
    if streams is None:
        seen = heads.get(LEGACY_STREAM, (0, GENESIS))
        if legacy is None or (legacy.seq, legacy.last_hash) != seen:
            raise _Broken(seen[0] + 1, "events after this point were removed")
        stored = db.session.execute(select(AuditStream.stream, AuditStream.seq, AuditStream.last_hash))
    else:
        stored = []
        names = list(streams)
        for i in range(0, len(names), 500):
            stored += db.session.execute(select(AuditStream.stream, AuditStream.seq, AuditStream.last_hash)
                                         .where(AuditStream.stream.in_(names[i:i + 500]))).all()
    found = set()
    for stream, seq, last_hash in stored:
        found.add(stream)
        seen = heads.get(stream, (0, GENESIS))
        if seq == 0:
            continue  # a stream opened by a transaction that then rolled back its event
        if seen[0] != seq or seen[1] != last_hash:
            if seq > seen[0]:
                raise _Broken(seq, f"event {seq} was removed from the end of its record")
            raise _Broken(seen[0], "its record's stored head does not match it")
    missing = [s for s in heads if s != LEGACY_STREAM and s not in found]
    if missing:
        raise _Broken(heads[missing[0]][0], "its record's head was removed")


def _check_records(walk: _Walk, full: bool) -> None:
    """The chain protects events; this makes the decision tables tamper-evident through them.

    Every row of a record table must be named by exactly one event of its kind, made by the same
    person, with the same content: a row edited, added or removed by hand (with the append-only
    triggers switched off) no longer matches the chain. Incrementally, only the rows later events name.
    """
    for kind, model, key, person, columns in RECORDS:
        events = walk.records.get(kind, [])
        rows = _record_rows(model, person, columns, None if full else [e.data.get(key) for e in events])
        named = {column: EVENT_KEYS.get(column, column) for column in columns}  # each column's key in the event
        for event in events:
            row = rows.pop(event.data.get(key), None)
            if row is None:
                raise _Broken(event.seq, f"the {model.__tablename__} row it records is missing")
            values = {**event.data, "contact_id": event.contact_id}
            changed = [c for c in columns if named[c] in values and _stored(row[c]) != values[named[c]]]
            if row[person] != event.actor_id:
                changed.append(person)
            if changed:
                raise _Broken(event.seq, f"{model.__tablename__} row {row['id']} no longer "
                                         f"matches it ({', '.join(changed)} changed)")
        if full and rows:
            first = min(rows)
            raise _Broken(None, f"{model.__tablename__} row {first} has no event in the record")


def _check_exports(exports: list, started: set[str], full: bool) -> int:
    """Each export's stored list of contacts still has the count and digest its event recorded.

    In full, every stored list must belong to an export the record names: finished (``exported``)
    or begun (``export_started``). A list begun but never finished is an export cut short before
    its file was served (see ``record_export``): the record explains it, so it is not a break.
    Returns how many exports were begun and never finished.
    """
    finished = set()
    for event in exports:
        export_id = event.data.get("export_id")
        finished.add(export_id)
        if _stored_list(export_id) != (event.data.get("count"), event.data.get("contacts_digest")):
            raise _Broken(event.seq, "the list of contacts in its export was changed")
    if full:
        numbers = dict(db.session.execute(select(ExportList.id, ExportList.export_id)).all())
        for (number,) in db.session.execute(select(ExportContact.list_id).distinct()):
            export_id = numbers.get(number)
            if export_id is None:
                raise _Broken(None, f"export list {number} lists contacts but no export has that number")
            if export_id not in finished and export_id not in started:
                raise _Broken(None, f"export {export_id} lists contacts but no event records it")
    return len(started - finished)


def _record_rows(model, person: str, columns: tuple, ids: list | None) -> dict:
    """A record table's rows as plain column values by id: all of them, or those ``ids`` name (batched)."""
    wanted = [model.id, getattr(model, person)] + [getattr(model, c) for c in columns if c != person]
    names = [column.key for column in wanted]
    rows: dict = {}
    if ids is None:
        results = [db.session.execute(select(*wanted).execution_options(yield_per=BATCH))]
    else:
        results = (db.session.execute(select(*wanted).where(model.id.in_(ids[i:i + BATCH])))
                   for i in range(0, len(ids), BATCH))
    for result in results:
        for row in result:
            rows[row[0]] = dict(zip(names, row, strict=True))  # a plain dict: a RowMapping per row cost more
    return rows


#: Rows read at a time by the verification (keyset pages of contacts, ids in one ``IN``).
BATCH = 1000
#: The content columns stored as JSON: read as their stored text (``audit_rows``) and hashed as it stands.
_JSON_CONTENT = tuple(column for column in CONTENT_COLUMNS if isinstance(Contact.__table__.c[column].type, JSON))


def _contents(ids: list[str] | None) -> Iterator[tuple[str, dict, list[dict]]]:
    """``(contact id, stored content, children)`` for every contact (in id order), or for ``ids``.

    Plain values a page at a time (``audit_rows.contents``): no ORM object per contact, memory
    bounded by the page. The JSON columns come as their stored text (``_check_contents`` decodes
    them only if it must).
    """
    return audit_rows.contents(ids, _JSON_CONTENT, CONTENT_COLUMNS, CHILD_COLUMNS)


def _digest_as_stored(stored, children: list[dict]) -> str | None:
    """The digest over the JSON columns' stored text as it stands, if each is one whole JSON value.

    Then a match with the seal means the stored text IS the canonical text that was sealed (no
    other cut of the same characters into whole JSON values exists; see ``_Walk._verified_data``).
    """
    if not all(stored[f"{column}_valid"] for column in _JSON_CONTENT):
        return None
    return _digest({column: ("null" if stored[column] is None else stored[column]) if column in _JSON_CONTENT
                    else _content_scalar(stored[column]) for column in CONTENT_COLUMNS}, children)


def _content_scalar(value) -> str:
    """``canonical_json(value, default=str)`` of a plain content column: in line for text, whole numbers and null."""
    if value is None or type(value) is str or type(value) is int:
        return _scalar(value)
    return canonical_json(value, default=str)


def _digest_re_encoded(stored, children: list[dict]) -> str | None:
    """The digest over the JSON columns decoded and re-encoded (rows stored before, or by hand), as always."""
    try:
        values = {column: (json.loads(stored[column]) if column in _JSON_CONTENT and stored[column] is not None
                           else stored[column]) for column in CONTENT_COLUMNS}
    except ValueError:
        return None
    return digest_of(values, children)


def _check_contents(walk: _Walk | _Receipts, full: bool) -> None:
    """Every contact's stored content still matches the digest its latest sealing event recorded.

    In full, every contact must also have the event that recorded its receipt (a contact added
    by hand has none). Contacts stored before content digests existed have no digest; they are
    counted, not failed, until ``flask triage audit-seal`` seals them (services/sealing.py).
    """
    if full:
        contacts = _contents(None)
    else:
        contacts = _contents([contact_id for contact_id, sealed in walk.seals.items() if sealed is not None])
    for contact_id, stored, children in contacts:
        if full and contact_id not in walk.received:
            raise _Broken(None, f"contact {contact_id} has no event recording that it was received")
        sealed = walk.seals.get(contact_id)
        if sealed is None:
            continue
        # The stored text first, always: it is a hash of text already read. Decoding and re-encoding
        # (rows stored otherwise) matches every row too, so it must not become the first way tried:
        # it did after the first such row, and a store's every later contact was decoded and
        # re-encoded (60 s of a SQLite 200k store's verification, where 0.7% of rows need it).
        if not hmac.compare_digest(sealed, _digest_as_stored(stored, children) or "") and \
                not hmac.compare_digest(sealed, _digest_re_encoded(stored, children) or ""):
            raise _Broken(None, f"contact {contact_id} no longer matches the content its last sealing event "
                                "recorded (payload, children, recommendation, level or urgency changed)")


def _verify_since(base: AuditCheckpoint) -> Verification:
    """Only the events after ``base``: their links (from heads the checkpoint covers), hashes and rows."""
    rows = list(audit_rows.events(after=base.upto_seq))
    firsts: dict[str, int] = {}
    for r in rows:
        if r[6] is None:
            raise _Broken(r[0], "an event of the old single chain after a checkpoint")
        firsts.setdefault(r[6], r[7])
    heads: dict[str, tuple[int, str]] = {}
    wanted = [seq for seq in firsts.values() if seq]
    known = {}
    for i in range(0, len(wanted), 500):
        for seq, stream, hash_ in db.session.execute(select(Event.seq, Event.stream, Event.hash)
                                                     .where(Event.seq.in_(wanted[i:i + 500]))):
            known[seq] = (stream, hash_)
    for stream, prev_seq in firsts.items():
        if not prev_seq:
            continue
        if prev_seq not in known or known[prev_seq][0] != stream or prev_seq > base.upto_seq:
            first = next(r[0] for r in rows if r[6] == stream)
            raise _Broken(prev_seq, f"event {prev_seq} is missing (event {first}, next in its record, follows it)")
        heads[stream] = (prev_seq, known[prev_seq][1])
    walk = _Walk(None, heads)
    for r in rows:
        walk.event(r)
    moved = db.session.scalars(select(AuditStream.stream).where(AuditStream.seq > base.upto_seq)).all()
    _check_heads(walk.heads, set(walk.heads) | set(moved))
    _check_records(walk, full=False)
    _check_exports(walk.exports, walk.started, full=False)
    _check_contents(walk, full=False)
    return Verification(True, walk.count, since=base.id)


def _checkpoint_hash(cp, prev_hash: str) -> str:
    body = json.dumps({"id": cp.id, "upto_seq": cp.upto_seq, "events": cp.events, "digest": cp.digest,
                       "at": cp.at.isoformat(timespec="microseconds")}, sort_keys=True, separators=(",", ":"))
    return hmac.new(_key(), prev_hash.encode() + body.encode(), hashlib.sha256).hexdigest()


def _verify_checkpoint_chain() -> list:
    """The stored checkpoints, each keyed and linked to the one before (cheap: one row per checkpoint)."""
    checkpoints = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
    prev_hash, prev_upto, expected_id = GENESIS, 0, 1
    for cp in checkpoints:
        if cp.id != expected_id:
            raise _Broken(None, f"checkpoint {expected_id} is missing")
        if cp.prev_hash != prev_hash or not hmac.compare_digest(_checkpoint_hash(cp, prev_hash), cp.hash):
            raise _Broken(cp.upto_seq, f"checkpoint {cp.id} does not match its hash")
        if cp.upto_seq < prev_upto:
            raise _Broken(cp.upto_seq, f"checkpoint {cp.id} goes back in the record")
        prev_hash, prev_upto, expected_id = cp.hash, cp.upto_seq, expected_id + 1
    return checkpoints


def _verify_external(mark: dict, checkpoints: list) -> None:
    """A checkpoint kept outside the database: the stored one it names must still have its hash."""
    if "checkpoint" in mark:
        number, expected = int(mark["checkpoint"]), str(mark["hash"])
        stored = next((cp for cp in checkpoints if cp.id == number), None)
        if stored is None:
            raise _Broken(None, f"the checkpoint {number} is no longer in the record")
        if not hmac.compare_digest(stored.hash, expected):
            raise _Broken(stored.upto_seq, "the record up to the checkpoint was rewritten "
                                           "(its stored checkpoint no longer has the hash kept outside)")
        return
    seq, expected = int(mark["seq"]), str(mark["hash"])  # a head written before stored checkpoints
    if seq == 0:
        return
    stored = db.session.scalar(select(Event.hash).where(Event.seq == seq))
    if stored is None:
        raise _Broken(seq, f"the checkpoint's event {seq} is no longer in the chain")
    if not hmac.compare_digest(stored, expected):
        raise _Broken(seq, "the chain up to the checkpoint was rewritten "
                           "(its event no longer has the checkpoint's hash)")


def make_checkpoint(*, lock_timeout_seconds: int = 10) -> dict:
    """Bind every event so far, in global order, into one keyed checkpoint; store it and return it.

    Every stream head is locked for the moment it takes (PostgreSQL ``LOCK TABLE audit_streams``;
    SQLite's write lock), which waits for every append that already holds a sequence number, so
    no event below the checkpoint can commit after it. Keep the returned JSON outside the database.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL lock_timeout = '{int(lock_timeout_seconds)}s'"))
        db.session.execute(text("LOCK TABLE audit_streams IN EXCLUSIVE MODE"))
    last = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).first()
    low = last.upto_seq if last else 0
    digest, count, upto = hashlib.sha256(), 0, low
    for seq, hash_ in db.session.execute(select(Event.seq, Event.hash).where(Event.seq > low).order_by(Event.seq)
                                         .execution_options(yield_per=5000)):
        digest.update(f"{seq}:{hash_}\n".encode())
        count += 1
        upto = seq
    cp = AuditCheckpoint(id=(last.id + 1) if last else 1, upto_seq=upto, events=(last.events if last else 0) + count,
                         digest=digest.hexdigest(), at=utcnow(), prev_hash=last.hash if last else GENESIS)
    cp.hash = _checkpoint_hash(cp, cp.prev_hash)
    db.session.add(cp)
    mark = {"checkpoint": cp.id, "seq": cp.upto_seq, "events": cp.events, "hash": cp.hash,
            "at": cp.at.isoformat(timespec="seconds")}
    db.session.commit()
    return mark


def checkpoint() -> dict:
    """A new stored checkpoint (see ``make_checkpoint``), to keep somewhere the database's writers cannot reach."""
    return make_checkpoint()


def rekey() -> Verification:
    """Move a chain stored before keying (plain SHA-256) to HMAC under the configured key.

    The old chain is verified as it was first; a broken one is refused and left alone. Then every
    event's link and hash are recomputed in one transaction, stream by stream, and the heads moved.
    Run once, on upgrade, by someone holding the key; take a checkpoint straight after.
    """
    try:
        if db.session.scalar(select(func.count()).select_from(AuditCheckpoint)):
            raise _Broken(None, "the record already has keyed checkpoints; it cannot be re-keyed")
        walk = _Walk(LEGACY)
        for r in audit_rows.events():
            walk.event(r)
        _check_heads(walk.heads)
        _check_records(walk, full=True)
    except _Broken as broken:
        return Verification(False, 0, broken.seq, broken.reason)
    heads: dict[str, str] = {}
    with _append_only_lifted():
        for event in db.session.scalars(select(Event).order_by(Event.seq)).all():
            stream = event.stream or LEGACY_STREAM
            link = heads.get(stream, GENESIS)
            heads[stream] = event_hash(event, link)
            db.session.execute(update(Event).where(Event.seq == event.seq).values(prev_hash=link, hash=heads[stream]))
        if LEGACY_STREAM in heads:
            db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=heads[LEGACY_STREAM]))
        for stream, last_hash in heads.items():
            if stream != LEGACY_STREAM:
                db.session.execute(update(AuditStream).where(AuditStream.stream == stream)
                                   .values(last_hash=last_hash))
    db.session.commit()
    return verify()


@contextmanager
def _append_only_lifted():
    """The events table's append-only trigger off for this one transaction (``rekey`` only).

    PostgreSQL: disabled and re-enabled inside the transaction, so it is never left off. SQLite:
    dropped and created again (DDL is transactional there too), exactly as migration 0001 made it.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
        yield
        db.session.execute(text("ALTER TABLE events ENABLE TRIGGER events_append_only"))
        return
    db.session.execute(text("DROP TRIGGER IF EXISTS events_no_update"))
    yield
    db.session.execute(text("CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
                            "BEGIN SELECT RAISE(ABORT, 'events is append-only'); END"))


# Each record table, the event that vouches for each of its rows, the key in the event's data
# naming the row, the person column that must be the event's actor, and the columns the event copies.
RECORDS = (
    ("decided", Decision, "decision_id", "decided_by_id",
     ("level", "rationale", "marac_referral", "next_steps", "override_reason", "contact_id",
      "recommendation_stage", "consent", "consent_reason")),
    ("reviewed", Review, "review_id", "reviewed_by_id",
     ("outcome", "level", "rationale", "decision_id", "contact_id")),
    ("information_requested", InformationRequest, "request_id", "requested_by_id",
     ("fields", "message", "contact_id")),
    ("feedback_released", FeedbackRelease, "release_id", "released_by_id", ("contact_id", "supersedes_id")),
    ("child_linked", ChildLink, "link_id", "linked_by_id", ("child_id", "linked_child_id", "reason", "contact_id")),
    ("child_unlinked", ChildUnlink, "unlink_id", "unlinked_by_id", ("link_id", "reason", "contact_id")),
    ("checks_requested", CheckRequest, "check_id", "requested_by_id",
     ("agency", "why", "reason", "consent", "without_consent_reason", "due_at", "contact_id")),
    ("check_answered", CheckResponse, "response_id", "answered_by_id",
     ("check_id", "known", "findings", "summary", "late")),
    ("meeting_action_agreed", MeetingAction, "action_id", "agreed_by_id",
     ("item_id", "kind", "description", "owner_role", "owner_organisation")),
    ("audit_sample_drawn", AuditSample, "sample_id", "drawn_by_id", ("month", "seed", "per_practitioner")),
    ("quality_audited", AuditFinding, "finding_id", "audited_by_id",
     ("assignment_id", "level", "grade", "learning", "contact_id")),
)


#: Record columns the event's data names otherwise: the column, then the event's key.
EVENT_KEYS = {"supersedes_id": "supersedes"}

RECORD_KINDS = frozenset(kind for kind, *_ in RECORDS)
#: The kinds whose data the checks after the walk read (the rest are only hashed).
_DATA_KINDS = RECORD_KINDS | frozenset(SEALING_KINDS) | {"export_started", "exported"}


def _stored(value):
    """A column value as the event's JSON copy holds it (text, whole numbers, booleans and null as they are)."""
    if value is None or isinstance(value, (str, int)):  # bool is an int; JSON gives each back unchanged
        return value
    return json.loads(json.dumps(value, default=str))


#: The exports whose lists name a contact: each export's list number (``export_lists``, one row an
#: export), then one look into that list by (number, contact). A look per export, not an index by
#: contact: that index took an entry beside each listed contact's earlier ones on every export, so
#: a list cost more to store each time the same contacts were exported (``ExportContact``). Asked as
#: EXISTS, so each list is looked into by its key: as a join, SQLite scanned every stored list for
#: the contact instead, and a history at 200,000 contacts took 2 ms more with each year's export.
_EXPORTS_LISTING = select(ExportList.export_id).where(
    select(ExportContact.list_id).where(ExportContact.list_id == ExportList.id,
                                        ExportContact.contact_id == bindparam("contact")).exists())


def history(contact_id: str) -> list[Event]:
    """The contact's events, oldest first, with each export it was in shown as a ``viewed`` event.

    An export is one event in its own stream; here it appears in the contact's history as what it
    is for that contact: a read, "via export", by the person who downloaded it, at that time.
    """
    own = list(db.session.scalars(select(Event).where(Event.contact_id == contact_id).order_by(Event.seq)))
    export_ids = db.session.scalars(_EXPORTS_LISTING, {"contact": contact_id}).all()
    if not export_ids:
        return own
    exports = db.session.scalars(select(Event).where(Event.stream.in_([f"{EXPORT_STREAM}{e}" for e in export_ids]),
                                                     Event.kind == "exported")).all()
    views = [Event(seq=e.seq, contact_id=contact_id, kind="viewed", actor_id=e.actor_id, actor=e.actor, at=e.at,
                   data={"via": "export", "what": e.data.get("what")}, prev_hash=e.prev_hash, hash=e.hash,
                   stream=e.stream, prev_seq=e.prev_seq) for e in exports]
    return sorted(own + views, key=lambda e: e.seq)

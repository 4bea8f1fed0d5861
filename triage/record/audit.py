"""The tamper-evident record: an append-only chain of events, each hashed with the one before.

Every event's hash covers its own content and the previous event's hash, so altering,
removing or reordering any stored event breaks the chain from that point on, and
``verify`` names the first event that does not match. Appends are serialised through the
single ``audit_head`` row (an UPDATE takes a row lock on PostgreSQL and the write lock on
SQLite), so concurrent requests never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from triage.extensions import db
from triage.record.tables import (
    AuditHead,
    CheckRequest,
    CheckResponse,
    Decision,
    Event,
    FeedbackRelease,
    InformationRequest,
    Review,
    User,
    utcnow,
)

GENESIS = "0" * 64

EVENT_KINDS = (
    "received",
    "scored",
    "viewed",
    "decided",
    "reviewed",
    "information_requested",
    "feedback_released",
    "checks_requested",  # one event per agency asked (spec section 10)
    "check_answered",
    "rescored",  # the after-checks recommendation, by the service itself
    "access_changed",  # an account or API token changed (triage.accounts); contact_id is None
)


def _canonical(event: Event) -> bytes:
    body = {
        "seq": event.seq,
        "contact_id": event.contact_id,
        "kind": event.kind,
        "actor_id": event.actor_id,
        "actor": event.actor,
        "at": event.at.isoformat(timespec="microseconds"),
        "data": event.data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: Event, prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(event)).hexdigest()


def record(
    kind: str,
    *,
    contact_id: str | None = None,
    user: User | None = None,
    data: dict | None = None,
    at: datetime | None = None,
) -> Event:
    """Append one event inside the caller's transaction (committed with the change it records)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    seq, prev_hash = db.session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one()
    event = Event(
        seq=seq,
        contact_id=contact_id,
        kind=kind,
        actor_id=user.id if user else None,
        actor=user.label if user else None,
        at=at or utcnow(),
        data=json.loads(json.dumps(data or {}, default=str)),
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event, prev_hash)
    db.session.add(event)
    db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=event.hash))
    return event


def record_export(what: str, contact_ids: Iterable[str], user: User) -> int:
    """A download is a read of every contact in it: one "viewed" event per contact, in its history.

    Bulk exports (the Annex A lists, the training file) hold children's details, so the record
    shows who took each contact out of the service, and in which file, exactly as it shows who
    opened it on a page. Returns how many were recorded.
    """
    count = 0
    for contact_id in dict.fromkeys(contact_ids):
        record("viewed", contact_id=contact_id, user=user, data={"via": "export", "what": what})
        count += 1
    return count


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str = ""

    def summary(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.count} events verified, and every record row matches its event"
        where = f"at event {self.first_bad_seq}" if self.first_bad_seq else "in the record tables"
        return f"audit chain BROKEN {where}: {self.reason}"


def verify() -> Verification:
    """Walk the whole chain in order, then check every record row against its event."""
    chain = _verify_chain()
    return chain if not chain.ok else _verify_records(chain.count)


def _verify_chain() -> Verification:
    """Report the first event that is missing, out of order, or does not match its hash."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for event in db.session.scalars(select(Event).order_by(Event.seq)).yield_per(1000):
        if event.seq != expected_seq:
            return Verification(False, count, expected_seq, f"event {expected_seq} is missing (next stored is {event.seq})")
        if event.prev_hash != prev_hash:
            return Verification(False, count, event.seq, "its link to the previous event does not match")
        if event_hash(event, prev_hash) != event.hash:
            return Verification(False, count, event.seq, "its content does not match its hash")
        prev_hash = event.hash
        expected_seq += 1
        count += 1
    head = db.session.get(AuditHead, 1)
    if head is None or head.seq != count or head.last_hash != prev_hash:
        return Verification(False, count, count + 1, "events after this point were removed")
    return Verification(True, count)


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
    ("feedback_released", FeedbackRelease, "release_id", "released_by_id", ("contact_id",)),
    ("checks_requested", CheckRequest, "check_id", "requested_by_id",
     ("agency", "why", "reason", "consent", "without_consent_reason", "due_at", "contact_id")),
    ("check_answered", CheckResponse, "response_id", "answered_by_id",
     ("check_id", "known", "findings", "summary", "late")),
)


def _verify_records(count: int) -> Verification:
    """The chain protects events; this makes the decision tables tamper-evident through them.

    Every row of a record table must be named by exactly one event of its kind, made by the same
    person, with the same content: a row edited, added or removed by hand (with the append-only
    triggers switched off) no longer matches the chain.
    """
    for kind, model, key, person, columns in RECORDS:
        rows = {row.id: row for row in db.session.scalars(select(model))}
        events = db.session.scalars(select(Event).where(Event.kind == kind).order_by(Event.seq))
        for event in events:
            row = rows.pop(event.data.get(key), None)
            if row is None:
                return Verification(False, count, event.seq, f"the {model.__tablename__} row it records is missing")
            values = {**event.data, "contact_id": event.contact_id}
            changed = [c for c in columns if c in values and _stored(getattr(row, c)) != values[c]]
            if getattr(row, person) != event.actor_id:
                changed.append(person)
            if changed:
                return Verification(False, count, event.seq, f"{model.__tablename__} row {row.id} no longer "
                                    f"matches it ({', '.join(changed)} changed)")
        if rows:
            first = min(rows)
            return Verification(False, count, None, f"{model.__tablename__} row {first} has no event in the record")
    return Verification(True, count)


def _stored(value):
    """A column value as the event's JSON copy holds it."""
    return json.loads(json.dumps(value, default=str))


def history(contact_id: str) -> list[Event]:
    return list(
        db.session.scalars(select(Event).where(Event.contact_id == contact_id).order_by(Event.seq))
    )

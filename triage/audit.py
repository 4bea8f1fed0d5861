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
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from .extensions import db
from .models import AuditHead, Event, User, utcnow

GENESIS = "0" * 64

EVENT_KINDS = (
    "received",
    "scored",
    "viewed",
    "decided",
    "reviewed",
    "information_requested",
    "feedback_released",
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


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str = ""

    def summary(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.count} events verified"
        return f"audit chain BROKEN at event {self.first_bad_seq}: {self.reason}"


def verify() -> Verification:
    """Walk the whole chain in order and report the first event that does not match."""
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


def history(contact_id: str) -> list[Event]:
    return list(
        db.session.scalars(select(Event).where(Event.contact_id == contact_id).order_by(Event.seq))
    )

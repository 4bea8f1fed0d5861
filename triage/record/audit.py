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

import hashlib
import hmac
import json
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select, text, update
from sqlalchemy.orm import selectinload

from triage.extensions import db
from triage.record.tables import (
    AuditFinding,
    AuditHead,
    AuditSample,
    CheckRequest,
    CheckResponse,
    ChildLink,
    ChildUnlink,
    Contact,
    Decision,
    Event,
    FeedbackRelease,
    InformationRequest,
    MeetingAction,
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
    "child_linked",  # two child records said to be one child (services/children.py)
    "child_unlinked",  # a link undone
    "sign_in_alert",  # one account failed sign-in many times from anywhere (triage.services.signin)
    # The front door's rhythms (issue 17; triage.services.meetings and triage.services.quality_audit)
    "meeting_opened",  # contact_id is None: the attendees and the agenda
    "meeting_item_taken",  # one contact decided or discussed in the meeting
    "meeting_action_agreed",
    "meeting_closed",  # the minutes: every item, its outcome and actions; items not reached carry over
    "audit_sample_drawn",  # the month, the seed and every decision drawn with its auditor
    "quality_audited",  # an auditor's finding on one decision
    "retention_applied",  # personal content removed past retention; seals what is left (services/retention.py)
    "guidance_adopted",  # the service began serving a version of the threshold guidance (issue 16)
    "guidance_draft_kept",  # a manager uploaded a draft of the guidance for a what-if run
    "what_if_run",  # a what-if replay of a draft: who, which file (SHA-256), which window; nothing else written
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
#: The events that seal a contact's content: intake's ``scored``, after checks ``rescored``, and the
#: retention event that removed its personal content (what is left is what it seals).
SEALING_KINDS = ("scored", "rescored", "retention_applied")
CHILD_COLUMNS = ("position", "child_reference", "child_id", "age_years", "unborn", "sex", "ethnicity", "disabled",
                 "current_status")


def content_digest(contact: Contact) -> str:
    """SHA-256 of the contact's stored content, canonical JSON; the keyed event that holds it is the seal."""
    body = {column: getattr(contact, column) for column in CONTENT_COLUMNS}
    body["children"] = [{column: getattr(child, column) for column in CHILD_COLUMNS}
                        for child in sorted(contact.children, key=lambda c: c.position)]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


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


def verify(checkpoint: dict | None = None) -> Verification:
    """Walk the whole chain in order, then check every record row and contact against its event.

    With a ``checkpoint`` (from ``checkpoint()``, kept outside the database), also prove that the
    event at its sequence number still has its hash: nothing up to it was rewritten, even by
    someone holding the key, and nothing was cut off after it.
    """
    chain = _verify_chain()
    if chain.ok and checkpoint is not None:
        chain = _verify_checkpoint(chain.count, checkpoint)
    if not chain.ok:
        return chain
    records = _verify_records(chain.count)
    return records if not records.ok else _verify_contents(chain.count)


def checkpoint() -> dict:
    """The chain's head now, to keep somewhere the database's writers cannot reach."""
    head = db.session.get(AuditHead, 1)
    return {"seq": head.seq, "hash": head.last_hash, "at": utcnow().isoformat(timespec="seconds")}


def _verify_checkpoint(count: int, mark: dict) -> Verification:
    seq, expected = int(mark["seq"]), str(mark["hash"])
    if seq == 0:
        return Verification(True, count)
    stored = db.session.scalar(select(Event.hash).where(Event.seq == seq))
    if stored is None:
        return Verification(False, count, seq, f"the checkpoint's event {seq} is no longer in the chain")
    if not hmac.compare_digest(stored, expected):
        return Verification(False, count, seq, "the chain up to the checkpoint was rewritten "
                                               "(its event no longer has the checkpoint's hash)")
    return Verification(True, count)


def _verify_contents(count: int) -> Verification:
    """Every contact's stored content still matches the digest its ``scored`` event sealed.

    Contacts stored before content digests existed have none to check; they are counted, not failed.
    """
    # The latest seal wins: a contact rescored after checks is sealed again by its ``rescored`` event.
    digests = {event.contact_id: event.data.get("content_digest")
               for event in db.session.scalars(select(Event).where(Event.kind.in_(SEALING_KINDS))
                                               .order_by(Event.seq))}
    contacts = db.session.scalars(select(Contact).options(selectinload(Contact.children))).yield_per(500)
    for contact in contacts:
        sealed = digests.get(contact.id)
        if sealed is None:
            continue
        if not hmac.compare_digest(sealed, content_digest(contact)):
            return Verification(False, count, None, f"contact {contact.id} no longer matches the content its "
                                "last sealing event recorded (payload, children, recommendation, level or urgency changed)")
    return Verification(True, count)


def rekey() -> Verification:
    """Move a chain stored before keying (plain SHA-256) to HMAC under the configured key.

    The old chain is verified as it was first; a broken one is refused and left alone. Then every
    event's link and hash are recomputed in one transaction, and the head moved. Run once, on
    upgrade, by someone holding the key; take a checkpoint straight after.
    """
    old = _verify_chain(LEGACY)
    if old.ok:
        old = _verify_records(old.count)
    if not old.ok:
        return old
    prev_hash = GENESIS
    with _append_only_lifted():
        for event in db.session.scalars(select(Event).order_by(Event.seq)).all():
            link, prev_hash = prev_hash, event_hash(event, prev_hash)
            db.session.execute(update(Event).where(Event.seq == event.seq).values(prev_hash=link, hash=prev_hash))
        db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev_hash))
    db.session.commit()
    return _verify_chain()


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


def _verify_chain(key: bytes | None = None) -> Verification:
    """Report the first event that is missing, out of order, or does not match its hash."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for event in db.session.scalars(select(Event).order_by(Event.seq)).yield_per(1000):
        if event.seq != expected_seq:
            return Verification(False, count, expected_seq, f"event {expected_seq} is missing (next stored is {event.seq})")
        if event.prev_hash != prev_hash:
            return Verification(False, count, event.seq, "its link to the previous event does not match")
        if not hmac.compare_digest(event_hash(event, prev_hash, key), event.hash):
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

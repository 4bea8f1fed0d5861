"""Taking a contact in: validate, recommend, store once, record.

The store is the source of truth for idempotency: a unique constraint on
(organisation, partner_reference) means racing retries make one row, and the loser of the
race answers with the row the winner stored. The recommendation step may fail (a broken
model, a bug in a rule); the contact is stored anyway, flagged red for a person to triage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from triage.engine.contract import parse_rfc3339
from triage.engine.errors import Invalid, NotAllowed
from triage.engine.history import KnownHistory
from triage.engine.recommend import Recommender
from triage.engine.workdays import add_working_days
from triage.extensions import db
from triage.record import audit, inserts, txn
from triage.record.queries import existing_organisation, organisation_named
from triage.record.tables import Child, Contact, Organisation, User, utcnow
from triage.record.workflow import Status
from triage.services import children as child_records
from triage.services import guidance_versions, identity

log = logging.getLogger(__name__)
T = TypeVar("T")


def parse_datetime(value: str) -> datetime:
    """Parse an RFC 3339 string (already validated by the contract schema) to aware UTC."""
    return parse_rfc3339(value).astimezone(timezone.utc)


# A partner's clock may run a little fast; anything further ahead is a mistake, not a contact.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Who records a contact taken by phone: their call time starts the clock (spec section 8).
FRONT_DOOR_ROLES = ("practitioner", "manager")


def received_time(contact: dict, now: datetime) -> datetime:
    """When the partner recorded the contact, in UTC, or 422 if the front door cannot take that time.

    RFC 3339 allows 0001-01-01T00:00:00+01:00 and 9999-12-31T23:59:59Z; neither has a UTC
    instant that Python can represent, so they are refused here rather than failing as a 500
    while being stored. A time more than five minutes ahead of ``now`` is refused too: a
    contact dated 2030 would otherwise sit in the record as not yet sent.
    """
    try:
        received_at = parse_datetime(contact["received_at"])
    except (OverflowError, ValueError):
        raise Invalid("received_at is outside the dates this service can work with.",
                      errors={"received_at": ["Must be a real date between years 0001 and 9999."]}) from None
    if received_at > now + FUTURE_TOLERANCE:
        raise Invalid("received_at is in the future.",
                      errors={"received_at": ["Must not be in the future: give the time the contact was "
                                              "recorded (or the call was taken), with its UTC offset."]})
    return received_at


def accepted_time(received_at: datetime, user: User, now: datetime) -> datetime:
    """When the front door's clock starts: now for a partner's system, the call time for a worker's call."""
    return received_at if user.role in FRONT_DOOR_ROLES else now


def sender_organisation(contact: dict, user: User, *, make: bool = True) -> Organisation | None:
    """A partner submits only for its own organisation; the front door for anyone (phone contacts).

    A name the store does not know yet is a new organisation, made here; with ``make=False`` (a
    read phase, which must not write) that is None instead.
    """
    named = contact["source"]["organisation"]
    if user.role == "partner":
        if user.organisation is None or named != user.organisation.name:
            raise NotAllowed("source.organisation must be your own organisation "
                f"({user.organisation.name if user.organisation else 'none set'}).",
                errors={"source.organisation": ["Does not match the organisation of your token."]},
            )
        return user.organisation
    return organisation_named(named) if make else existing_organisation(named)


def fill_partner_organisation(document: object, user: User) -> None:
    """A partner may leave source.organisation out; it is filled from their token."""
    if user.role == "partner" and user.organisation and isinstance(document, dict):
        source = document.get("source")
        if isinstance(source, dict) and "organisation" not in source:
            source["organisation"] = user.organisation.name


#: Built once: every intake asks it, and a statement built per call costs its construction and cache
#: key each time (prebuilt, SQLAlchemy keeps its key). It asks for the id alone: almost every intake
#: is new and finds nothing, and an ORM entity query costs its setup even when no row comes back.
_EXISTING = select(Contact.id).where(Contact.organisation_id == bindparam("org"),
                                     Contact.partner_reference == bindparam("ref"))


def find_existing(organisation_id: int, partner_reference: str) -> Contact | None:
    """The contact this organisation already sent with this reference (a retry), or None."""
    contact_id = db.session.scalar(_EXISTING, {"org": organisation_id, "ref": partner_reference})
    return None if contact_id is None else db.session.get(Contact, contact_id)


def score(contact: dict, accepted_at: datetime, history: KnownHistory,
          recommender: Recommender) -> tuple[dict | None, str | None]:
    """Run the recommendation step; never raises (the contact must be stored regardless).

    The engine's clock is the front door's (``accepted_at``), and it reads what the store
    already knows about these children (``history``) beside what the partner reported.
    """
    try:
        return recommender.recommend(contact, received_at=accepted_at, history=history), None
    except Exception as exc:  # noqa: BLE001 - any failure here must not lose the contact
        log.exception("recommendation step failed; contact stored without one")
        return None, type(exc).__name__


def _children(contact: dict, child_ids: list[str]) -> list[Child]:
    return [
        Child(
            position=i,
            child_id=child_ids[i],
            child_reference=c["child_reference"],
            age_years=c.get("age_years"),
            unborn=c.get("unborn", False),
            sex=c.get("sex"),
            ethnicity=c.get("ethnicity"),
            disabled=c.get("disabled"),
            current_status=c.get("current_status"),
        )
        for i, c in enumerate(contact["children"])
    ]


def _new_contact(contact: dict, user: User, org: Organisation, times: tuple[datetime, datetime],
                 recommendation: dict | None, child_ids: list[str]) -> Contact:
    rec = recommendation or {}
    received_at, accepted_at = times
    return Contact(
        organisation_id=org.id,
        partner_reference=contact["partner_reference"],
        source_code=contact["source"]["code"],
        source_team=contact["source"].get("team"),
        primary_concern=contact["primary_concern"],
        received_at=received_at,
        accepted_at=accepted_at,
        status=Status.AWAITING_DECISION,
        # The guidance sets the deadline (a council may change it); one working day if scoring failed.
        decision_due_at=(parse_datetime(rec["decision_due_at"]) if rec.get("decision_due_at")
                         else add_working_days(accepted_at, 1)),
        # Unscored contacts are red: nobody has looked at them yet, so a person must, first.
        urgency=rec.get("urgency", "red"),
        floor_level=(rec.get("floor") or {}).get("level"),
        recommended_level=rec.get("level"),
        marac_recommended=bool((rec.get("marac") or {}).get("recommended")),
        dash_risk=(rec.get("dash") or {}).get("risk"),
        model_version=rec.get("model_version"),
        payload=contact,
        recommendation=recommendation,
        created_by_id=user.id,
        children=_children(contact, child_ids),
    )


def submit(contact: dict, user: User, recommender: Recommender,
           now: datetime | None = None) -> tuple[Contact, bool]:
    """Store a validated contact once. Returns ``(contact, created)``; a retry gives the stored one.

    The recommender is an argument, not looked up from the app, so the same use case serves the
    API, the phone-contact page, the demo and the tests with whichever recommender they hold.
    Identifiers are checked, turned into the children's ``child_id`` and dropped: the stored
    payload, the recommendation step and everything after never see them. ``now`` is when the
    service accepts it (the demo and tests set it).
    """
    row, created = _store(contact, user, recommender, now)
    if created:
        db.session.commit()
    return row, created


def submit_answered(contact: dict, user: User, recommender: Recommender, answer: Callable[[Contact, bool], T],
                    before_commit: Callable[[], None] | None = None) -> tuple[T, str, bool]:
    """``submit``, with the answer made from the stored row before the commit: ``(answer, id, created)``.

    The API answers with the contact it stored. Made after the commit, that answer re-read the row
    and its children in a transaction of its own (on SQLite one more turn at the write lock, behind
    every other intake); made inside the intake's transaction it reads only what that transaction
    wrote, which is what the commit then stores. A retry's answer is read the same way. ``answer``
    is told whether the row is new (stored by this transaction: nothing can refer to it yet).
    ``before_commit`` runs last in the transaction (the API adds the request's rate count there, and
    may refuse, which stores nothing). A retry answered from the read snapshot (SQLite) writes
    nothing; its count is added on its own at the end of the request.
    """
    row, created = _store(contact, user, recommender, None)
    body, contact_id = answer(row, created), row.id
    if before_commit is not None and (created or not txn.reading_now()):
        before_commit()
    db.session.commit()
    return body, contact_id, created


@dataclass(frozen=True)
class _Scored:
    """What the read phase worked out: the history the recommendation read, and what it gave."""

    history: KnownHistory
    recommendation: dict | None
    failure: str | None


def _store(contact: dict, user: User, recommender: Recommender, now: datetime | None) -> tuple[Contact, bool]:
    """Everything ``submit`` does but the commit: the row added and recorded, or the one already stored.

    In a request that reads first (``txn.reads_first``: the API's intake), in two phases. The read
    phase finds the children's records and their history and scores the contact; on SQLite it holds
    no write lock, so other intakes write meanwhile. The write phase (on SQLite holding the lock)
    checks again what they may have changed: the children's records (made now if still unknown) and
    their history (a link, an earlier phone contact entered since, a decision); the contact is scored
    again only if that history differs from what was scored. A retry stored meanwhile is told by the
    unique constraint, on both databases (``_add``). Elsewhere (a page's POST, the demo, the CLI) the
    whole intake holds the lock from its start, as before: nothing can differ, nothing is read twice.
    """
    now = now or utcnow()
    received_at = received_time(contact, now)
    identity.check_identifiers(contact)
    split = txn.reads_first()
    org = sender_organisation(contact, user, make=not txn.reading_now())  # None: new, made when writing
    if org is not None:
        existing = find_existing(org.id, contact["partner_reference"])
        if existing is not None:
            return existing, False
    digests = [identity.child_digests(c) for c in contact["children"]]
    stored_contact = identity.without_identifiers(contact)
    accepted_at = accepted_time(received_at, user, now)
    scored = None
    if split and org is not None:  # scored with no lock held (a child not yet known has no history)
        found = [identity.known_child(d) for d in digests]
        scored = _scored(stored_contact, accepted_at, [c for c in found if c is not None], recommender)
    with txn.write_phase():
        # A retry stored while this one was scored is not looked for again here: the store's unique
        # key (organisation, reference) refuses the second row, and ``_add`` answers with the first.
        org = org or sender_organisation(contact, user)
        assert org is not None  # made if new
        records = [identity.find_or_make_record(d) for d in digests]
        # a record made just now has no links and no contacts: its history is empty without asking
        scored = _scored(stored_contact, accepted_at, [child_id for child_id, made in records if not made],
                         recommender, scored)
        if scored.recommendation is not None:  # the version it names is kept from its first use (issue 16)
            guidance_versions.record_served(recommender.guidance.config, now=now)
        return _add(stored_contact, user, org, (received_at, accepted_at), scored,
                    [child_id for child_id, _made in records])


def _scored(contact: dict, accepted_at: datetime, child_ids: list[str], recommender: Recommender,
            earlier: _Scored | None = None) -> _Scored:
    """The children's history and the recommendation on it; ``earlier``'s, if its history is still the same.

    Under the write lock after a read phase, the history is read again: the recommendation made
    without the lock stands if nothing it read has changed, and is made again if something has.
    """
    history = child_records.known_history(child_ids, before=accepted_at)
    if earlier is not None and history == earlier.history:
        return earlier
    if earlier is not None:
        log.info("children's history changed while the contact was scored; scored again")
    return _Scored(history, *score(contact, accepted_at, history, recommender))


def _add(contact: dict, user: User, org: Organisation, times: tuple[datetime, datetime], scored: _Scored,
         child_ids: list[str]) -> tuple[Contact, bool]:
    """The row added and its opening events recorded; or, if a racing retry stored it first, that one."""
    row = _new_contact(contact, user, org, times, scored.recommendation, child_ids)
    try:
        inserts.insert_contact(row)
    except IntegrityError:
        db.session.rollback()  # a racing retry stored it first: answer with that one
        org = sender_organisation(contact, user)
        existing = find_existing(org.id, contact["partner_reference"])
        if existing is None:
            raise
        return existing, False
    # when it reached the front door (now, or a phone call's time); its stream is new: one append for both
    audit.record_opening(row.id, intake_events(row, user, org, child_ids, scored.recommendation, scored.failure),
                         at=times[1])
    return row, True


def intake_events(row: Contact, user: User, org: Organisation, child_ids: list[str], recommendation: dict | None,
                  failure: str | None) -> list[tuple[str, User | None, dict]]:
    """The events that record a stored contact, in order: ``received`` (by whom), ``scored`` (its seal).

    (kind, actor, data) each; ``submit`` appends them one by one, the batch loader (``services.volume``)
    chains many contacts' at once, so both record exactly the same.
    """
    return [
        ("received", user, {
            "partner_reference": row.partner_reference, "source_code": row.source_code,
            "organisation": org.name, "child_ids": child_ids,
        }),
        ("scored", None, {
            "ok": failure is None,
            "error": failure,
            "level": row.recommended_level,
            "floor_level": row.floor_level,
            "model_version": row.model_version,
            "guidance_version": (recommendation or {}).get("guidance_version"),
            "guidance_sha256": (recommendation or {}).get("guidance_sha256"),
            "urgency": row.urgency,
            "content_digest": audit.content_digest(row),
        }),
    ]

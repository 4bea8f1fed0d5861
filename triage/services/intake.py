"""Taking a contact in: validate, recommend, store once, record.

The store is the source of truth for idempotency: a unique constraint on
(organisation, partner_reference) means racing retries make one row, and the loser of the
race answers with the row the winner stored. The recommendation step may fail (a broken
model, a bug in a rule); the contact is stored anyway, flagged red for a person to triage.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from triage.engine.contract import parse_rfc3339
from triage.engine.errors import Invalid, NotAllowed
from triage.engine.recommend import Recommender
from triage.engine.workdays import add_working_days
from triage.extensions import db
from triage.record import audit
from triage.record.queries import organisation_named
from triage.record.tables import Child, Contact, Organisation, User
from triage.record.workflow import Status

log = logging.getLogger(__name__)


def parse_datetime(value: str) -> datetime:
    """Parse an RFC 3339 string (already validated by the contract schema) to aware UTC."""
    return parse_rfc3339(value).astimezone(timezone.utc)


def received_time(contact: dict) -> datetime:
    """When the contact arrived, in UTC, or 422 if it is a date the front door cannot schedule.

    RFC 3339 allows 0001-01-01T00:00:00+01:00 and 9999-12-31T23:59:59Z; neither has a UTC
    instant or a next working day that Python can represent, so they are refused here rather
    than failing as a 500 while being stored.
    """
    try:
        received_at = parse_datetime(contact["received_at"])
        add_working_days(received_at, 1)
    except (OverflowError, ValueError):
        raise Invalid("received_at is outside the dates this service can work with.",
                      errors={"received_at": ["Must be a real date between years 0001 and 9999, "
                                              "with a working day after it."]}) from None
    return received_at


def sender_organisation(contact: dict, user: User) -> Organisation:
    """A partner submits only for its own organisation; the front door for anyone (phone contacts)."""
    named = contact["source"]["organisation"]
    if user.role == "partner":
        if user.organisation is None or named != user.organisation.name:
            raise NotAllowed("source.organisation must be your own organisation "
                f"({user.organisation.name if user.organisation else 'none set'}).",
                errors={"source.organisation": ["Does not match the organisation of your token."]},
            )
        return user.organisation
    return organisation_named(named)


def fill_partner_organisation(document: object, user: User) -> None:
    """A partner may leave source.organisation out; it is filled from their token."""
    if user.role == "partner" and user.organisation and isinstance(document, dict):
        source = document.get("source")
        if isinstance(source, dict) and "organisation" not in source:
            source["organisation"] = user.organisation.name


def find_existing(organisation_id: int, partner_reference: str) -> Contact | None:
    return db.session.scalar(
        select(Contact).where(
            Contact.organisation_id == organisation_id,
            Contact.partner_reference == partner_reference,
        )
    )


def prior_marac_12m(child_references: list[str], received_at: datetime) -> bool:
    """Was MARAC recommended for any of these children on a contact in the previous 12 months?"""
    if not child_references:
        return False
    since = received_at - timedelta(days=365)
    hit = db.session.scalar(
        select(Contact.id)
        .join(Child, Child.contact_id == Contact.id)
        .where(
            Child.child_reference.in_(child_references),
            Contact.marac_recommended.is_(True),
            Contact.received_at >= since,
            Contact.received_at < received_at,
        )
        .limit(1)
    )
    return hit is not None


def score(contact: dict, received_at: datetime, recommender: Recommender) -> tuple[dict | None, str | None]:
    """Run the recommendation step; never raises (the contact must be stored regardless)."""
    try:
        refs = [child["child_reference"] for child in contact["children"]]
        prior = prior_marac_12m(refs, received_at)
        return recommender.recommend(contact, received_at=received_at, prior_marac_12m=prior), None
    except Exception as exc:  # noqa: BLE001 - any failure here must not lose the contact
        log.exception("recommendation step failed; contact stored without one")
        return None, type(exc).__name__


def _children(contact: dict) -> list[Child]:
    return [
        Child(
            position=i,
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


def _new_contact(contact: dict, user: User, org: Organisation, received_at: datetime,
                 recommendation: dict | None) -> Contact:
    rec = recommendation or {}
    return Contact(
        organisation_id=org.id,
        partner_reference=contact["partner_reference"],
        source_code=contact["source"]["code"],
        source_team=contact["source"].get("team"),
        primary_concern=contact["primary_concern"],
        received_at=received_at,
        status=Status.AWAITING_DECISION,
        # The guidance sets the deadline (a council may change it); one working day if scoring failed.
        decision_due_at=(parse_datetime(rec["decision_due_at"]) if rec.get("decision_due_at")
                         else add_working_days(received_at, 1)),
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
        children=_children(contact),
    )


def submit(contact: dict, user: User, recommender: Recommender) -> tuple[Contact, bool]:
    """Store a validated contact once. Returns ``(contact, created)``; a retry gives the stored one.

    The recommender is an argument, not looked up from the app, so the same use case serves the
    API, the phone-contact page, the demo and the tests with whichever recommender they hold.
    """
    received_at = received_time(contact)
    org = sender_organisation(contact, user)
    existing = find_existing(org.id, contact["partner_reference"])
    if existing is not None:
        return existing, False
    recommendation, failure = score(contact, received_at, recommender)
    row = _new_contact(contact, user, org, received_at, recommendation)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # a racing retry stored it first: answer with that one
        org = sender_organisation(contact, user)
        existing = find_existing(org.id, contact["partner_reference"])
        if existing is None:
            raise
        return existing, False
    audit.record("received", contact_id=row.id, user=user, data={
        "partner_reference": row.partner_reference, "source_code": row.source_code,
        "organisation": org.name,
    })
    audit.record("scored", contact_id=row.id, data={
        "ok": failure is None,
        "error": failure,
        "level": row.recommended_level,
        "floor_level": row.floor_level,
        "model_version": row.model_version,
        "urgency": row.urgency,
        "content_digest": audit.content_digest(row),
    })
    db.session.commit()
    return row, True

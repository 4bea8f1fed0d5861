"""Timeliness measured from the record: accepted to decision, decision to review, in working hours.

The clock is the front door's (``accepted_at``, spec section 8): when the service first accepted a
partner's contact, or the call time a worker gave. The partner's own ``received_at`` only measures
how late a notification was (``notification_delay``).

The inspection found oversight "late" without anyone knowing how late. These figures come
from the stored timestamps (never typed in) and count working hours the way the deadline
does (``workdays``), so a contact that arrived at 16:30 on Friday and was decided at 09:30 on
Monday took one working hour.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from triage.engine.contract import rfc3339
from triage.engine.workdays import add_working_days, working_hours_between
from triage.extensions import db
from triage.record.tables import Contact, Decision, Review

# A manager's oversight is due within this many working days of the decision: the inspection found
# oversight late and without rationale, and the service's promise is confirmation within one day.
REVIEW_WORKING_DAYS = 1


# A partner should send a contact within a working day of recording it (the front door's own
# deadline); later than that, the contact page and the partner report show it as late.
NOTIFICATION_WORKING_DAYS = 1


def notification_delay(received_at: datetime, accepted_at: datetime) -> timedelta | None:
    """How long after the partner recorded it the front door got it, when that was late; else None."""
    if accepted_at > add_working_days(received_at, NOTIFICATION_WORKING_DAYS):
        return accepted_at - received_at
    return None


def review_due(decided_at: datetime) -> datetime:
    """When the manager's review of a decision made at ``decided_at`` is due."""
    return add_working_days(decided_at, REVIEW_WORKING_DAYS)


def first_decision_facts(accepted_at: datetime, decided_at: datetime) -> dict:
    """What ``measure`` works out per first decision, kept on the contact so reports count it in SQL.

    ``contacts.first_decided_at``, ``first_decision_hours`` (working hours from ``accepted_at``,
    unrounded: a median is picked or averaged first, then rounded as ``measure`` rounds) and
    ``first_review_due_at``: fixed once the decision is made.
    """
    return {"first_decided_at": decided_at,
            "first_decision_hours": working_hours_between(accepted_at, decided_at),
            "first_review_due_at": review_due(decided_at)}


@dataclass(frozen=True)
class Timeliness:
    accepted_at: datetime
    decision_due_at: datetime | None
    decided_at: datetime | None
    reviewed_at: datetime | None
    hours_to_decision: float | None
    hours_decision_to_review: float | None
    decided_on_time: bool | None
    review_due_at: datetime | None = None
    reviewed_on_time: bool | None = None

    def as_json(self) -> dict:
        return {key: (rfc3339(value) if isinstance(value, datetime) else value)
                for key, value in asdict(self).items()}


def measure(accepted_at: datetime, decision_due_at: datetime | None, decided_at: datetime | None,
            reviewed_at: datetime | None) -> Timeliness:
    """Working hours between the steps that happened; ``None`` for a step not yet taken."""
    to_decision = round(working_hours_between(accepted_at, decided_at), 2) if decided_at else None
    to_review = (round(working_hours_between(decided_at, reviewed_at), 2)
                 if decided_at and reviewed_at else None)
    on_time = decided_at <= decision_due_at if decided_at and decision_due_at else None
    review_due_at = review_due(decided_at) if decided_at else None
    reviewed_on_time = reviewed_at <= review_due_at if reviewed_at and review_due_at else None
    return Timeliness(accepted_at, decision_due_at, decided_at, reviewed_at, to_decision, to_review, on_time,
                      review_due_at, reviewed_on_time)


def for_contact(contact: Contact) -> Timeliness:
    """Timeliness of the first decision on a contact (the one the deadline is for) and its review."""
    decision = db.session.scalar(
        select(Decision).where(Decision.contact_id == contact.id).order_by(Decision.id).limit(1)
    )
    review = None
    if decision is not None:
        review = db.session.scalar(
            select(Review).where(Review.decision_id == decision.id).order_by(Review.id).limit(1)
        )
    return measure(
        contact.accepted_at, contact.decision_due_at,
        decision.decided_at if decision else None, review.reviewed_at if review else None,
    )

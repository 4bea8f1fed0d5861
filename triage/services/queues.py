"""The front door's work queues: what to decide next, what is late, what awaits oversight.

Ordered the way the team works a morning: the most urgent first (red, amber, green, then
anything unscored last within its deadline), and within an urgency the earliest deadline.
Every item carries its time left (or how late it is) in seconds and in words, measured
against the one-working-day deadline, so a page never has to do date arithmetic.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import Select, case, func, select

from triage.engine.guidance_config import URGENCIES
from triage.engine.workdays import LONDON
from triage.extensions import db
from triage.record import workflow
from triage.record.tables import Contact, Decision, User, utcnow
from triage.services.timeliness import review_due

UNDECIDED = (workflow.AWAITING_DECISION, workflow.INFO_REQUESTED)
_URGENCY_ORDER = case({u: i for i, u in enumerate(URGENCIES)}, value=Contact.urgency, else_=len(URGENCIES))


def duration_text(seconds: float) -> str:
    """'2 days 3 hours', '1 hour 5 minutes', '12 minutes': the two largest units, no more."""
    minutes = int(abs(seconds)) // 60
    if minutes == 0:
        return "less than a minute"
    parts = []
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2])


def time_left(due: datetime | None, now: datetime) -> dict:
    """Time until the deadline (negative seconds when overdue), with the words to show."""
    if due is None:
        return {"seconds_left": None, "overdue": False, "text": "no deadline"}
    seconds = int((due - now).total_seconds())
    text = f"overdue by {duration_text(seconds)}" if seconds < 0 else f"{duration_text(seconds)} left"
    return {"seconds_left": seconds, "overdue": seconds < 0, "text": text}


def decided_against_deadline(due: datetime | None, decided_at: datetime) -> dict:
    """How the decision's time compared with the deadline, in seconds and words."""
    if due is None:
        return {"seconds_left": None, "overdue": False, "text": "no deadline"}
    seconds = int((due - decided_at).total_seconds())
    when = "after" if seconds < 0 else "before"
    return {"seconds_left": seconds, "overdue": seconds < 0,
            "text": f"decided {duration_text(seconds)} {when} the deadline"}


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def summary(contact: Contact) -> dict:
    """A contact in one line of a list or queue: enough to show a row and link to it, no narrative."""
    return {
        "id": contact.id,
        "partner_reference": contact.partner_reference,
        "organisation": contact.organisation.name,
        "source_code": contact.source_code,
        "primary_concern": contact.primary_concern,
        "received_at": iso(contact.received_at),
        "accepted_at": iso(contact.accepted_at),
        "decision_due_at": iso(contact.decision_due_at),
        "status": contact.status,
        "urgency": contact.urgency,
        "recommended_level": contact.recommended_level,
        "floor_level": contact.floor_level,
        "marac_recommended": contact.marac_recommended,
        "dash_risk": contact.dash_risk,
        "children_ages": ["unborn" if child.unborn else child.age_years for child in contact.children],
    }


def item(contact: Contact, timing: dict, decision: Decision | None = None) -> dict:
    """One queue entry: the contact's summary with its time left (and decision, where there is one)."""
    entry = {**summary(contact), "time": timing}
    if decision is not None:
        entry["decision"] = {"id": decision.id, "level": decision.level, "decided_by": decision.decided_by.label,
                             "decided_at": iso(decision.decided_at),
                             "review_due_at": iso(review_due(decision.decided_at))}
    return entry


def _latest_decisions() -> Select:
    latest = select(func.max(Decision.id).label("id")).group_by(Decision.contact_id).subquery()
    return select(Decision).join(latest, latest.c.id == Decision.id)


def awaiting_decision(now: datetime | None = None) -> list[dict]:
    """Contacts with no decision yet (including those waiting on the referrer), most urgent first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Contact).where(Contact.status.in_(UNDECIDED))
        .order_by(_URGENCY_ORDER, Contact.decision_due_at, Contact.accepted_at, Contact.id)
    )
    return [item(c, time_left(c.decision_due_at, now)) for c in rows]


def overdue(now: datetime | None = None) -> list[dict]:
    """Contacts past their decision deadline with no decision, the longest overdue first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Contact).where(Contact.status.in_(UNDECIDED), Contact.decision_due_at < now)
        .order_by(Contact.decision_due_at, _URGENCY_ORDER, Contact.id)
    )
    return [item(c, time_left(c.decision_due_at, now)) for c in rows]


def _awaiting_review_query(*conditions) -> Select:
    decisions = _latest_decisions().subquery()
    return (
        select(Contact, Decision)
        .join(decisions, decisions.c.contact_id == Contact.id)
        .join(Decision, Decision.id == decisions.c.id)
        .where(Contact.status == workflow.AWAITING_REVIEW, *conditions)
        .order_by(Decision.decided_at, Contact.id)
    )


def _review_item(contact: Contact, decision: Decision, now: datetime) -> dict:
    """A decision awaiting review, timed against the review's own deadline (not the decision's)."""
    return item(contact, time_left(review_due(decision.decided_at), now), decision)


def awaiting_review(user: User, now: datetime | None = None) -> list[dict]:
    """For a manager: decisions they may review (never their own), oldest decision first.

    For a practitioner: their own decisions still waiting for a manager, so they can see what
    has not yet had oversight. Each item's time is left until the review is due, one working
    day after the decision.
    """
    now = now or utcnow()
    mine = Decision.decided_by_id == user.id
    query = _awaiting_review_query(~mine if user.role == "manager" else mine)
    return [_review_item(c, d, now) for c, d in db.session.execute(query)]


def reviews_overdue(now: datetime | None = None) -> list[dict]:
    """Decisions still awaiting a manager's review after it was due, longest overdue first.

    The team's view of late oversight, whoever made the decision: the inspection found
    management oversight often late, and nobody could see which decisions were waiting.
    """
    now = now or utcnow()
    rows = [_review_item(c, d, now) for c, d in db.session.execute(_awaiting_review_query())]
    return [entry for entry in rows if entry["time"]["overdue"]]


def london_day(now: datetime) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the London calendar day containing ``now``."""
    day = now.astimezone(LONDON).date()
    start = datetime.combine(day, time(0), tzinfo=LONDON).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(timezone.utc)
    return start, end


def decided_today(now: datetime | None = None) -> list[dict]:
    """Contacts whose decision was recorded today (London), newest first, with how it met the deadline."""
    now = now or utcnow()
    start, end = london_day(now)
    query = (
        _latest_decisions().add_columns(Contact)
        .join(Contact, Contact.id == Decision.contact_id)
        .where(Decision.decided_at >= start, Decision.decided_at < end)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
    )
    return [item(c, decided_against_deadline(c.decision_due_at, d.decided_at), d)
            for d, c in db.session.execute(query)]

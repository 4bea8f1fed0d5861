"""The front door's work queues: what to decide next, what is late, what awaits oversight.

Ordered the way the team works a morning: the most urgent first (red, amber, green, then
anything unscored last within its deadline), and within an urgency the earliest deadline.
Every item carries its time left (or how late it is) in seconds and in words, measured
against the one-working-day deadline, so a page never has to do date arithmetic. Items are
``QueueItem`` rows holding the stored contact and decision (datetimes, not text): the JSON API
formats them, the pages show them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, case, select

from triage.engine.guidance_config import URGENCIES, UrgencyRule
from triage.engine.workdays import london_date, london_days
from triage.extensions import db
from triage.record.queries import latest_decisions
from triage.record.tables import CheckRequest, Contact, Decision, User, utcnow
from triage.record.workflow import Status
from triage.services.timeliness import review_due

UNDECIDED = (Status.AWAITING_DECISION, Status.INFO_REQUESTED)
#: Not yet decided, wherever it waits: the decision deadline runs on while agencies are asked.
NOT_DECIDED = (*UNDECIDED, Status.CHECKS_REQUESTED)
_URGENCY_RANK = {u: i for i, u in enumerate(URGENCIES)}
_URGENCY_ORDER = case(_URGENCY_RANK, value=Contact.urgency, else_=len(URGENCIES))


def level_urgencies(rules: Sequence[UrgencyRule]) -> dict[int, str]:
    """The urgency the guidance gives a level on its own (its ``levels:`` rules): {4: "red", 3: "amber"}."""
    out: dict[int, str] = {}
    for rule in rules:
        if rule.when is None and rule.levels:
            for level in rule.levels:
                out.setdefault(level, rule.urgency)
    return out


def review_urgency_order(level_urgency: Mapping[int, str] | None):
    """The review queue's urgency key: the more urgent of the contact's own rating and its decided level's.

    A decision at child protection is red in the review queue even when the contact came in green,
    so a manager sees it before early-help decisions; ``level_urgency`` is ``level_urgencies`` of
    the guidance (empty: the contact's own rating only).
    """
    by_level = {level: _URGENCY_RANK[u] for level, u in (level_urgency or {}).items() if u in _URGENCY_RANK}
    if not by_level:
        return _URGENCY_ORDER
    return case((case(by_level, value=Decision.level, else_=len(URGENCIES)) < _URGENCY_ORDER,
                 case(by_level, value=Decision.level, else_=len(URGENCIES))), else_=_URGENCY_ORDER)


def review_urgency(contact: Contact, decision: Decision | None, level_urgency: Mapping[int, str] | None) -> str | None:
    """The same key in Python, for the tag a page shows beside the decision."""
    ranked = [u for u in (contact.urgency, (level_urgency or {}).get(decision.level) if decision else None)
              if u in _URGENCY_RANK]
    return min(ranked, key=_URGENCY_RANK.__getitem__) if ranked else contact.urgency


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


@dataclass(frozen=True)
class QueueItem:
    """One queue entry: the stored contact, its time left and, in the review queues, its latest decision."""

    contact: Contact
    time: dict
    decision: Decision | None = None
    #: In the awaiting-checks queue: every check asked on the contact.
    checks: tuple[CheckRequest, ...] = ()

    @property
    def review_due_at(self) -> datetime | None:
        """When the manager's review of the decision is due (one working day after it)."""
        return review_due(self.decision.decided_at) if self.decision is not None else None


def awaiting_decision(now: datetime | None = None) -> list[QueueItem]:
    """Contacts with no decision yet (including those waiting on the referrer), most urgent first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Contact).where(Contact.status.in_(UNDECIDED))
        .order_by(_URGENCY_ORDER, Contact.decision_due_at, Contact.accepted_at, Contact.id)
    )
    return [QueueItem(c, time_left(c.decision_due_at, now)) for c in rows]


def overdue(now: datetime | None = None) -> list[QueueItem]:
    """Contacts past their decision deadline with no decision, the longest overdue first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Contact).where(Contact.status.in_(NOT_DECIDED), Contact.decision_due_at < now)
        .order_by(Contact.decision_due_at, _URGENCY_ORDER, Contact.id)
    )
    return [QueueItem(c, time_left(c.decision_due_at, now)) for c in rows]


def awaiting_checks(now: datetime | None = None) -> list[QueueItem]:
    """Contacts waiting on agency checks, the soonest unanswered check due first.

    Each item's ``time`` is against the earliest unanswered check (or the decision deadline);
    ``checks`` holds every check asked, so a reader sees which agencies are overdue.
    """
    now = now or utcnow()
    contacts = db.session.scalars(select(Contact).where(Contact.status == Status.CHECKS_REQUESTED)).all()
    out = []
    for contact in contacts:
        rows = tuple(db.session.scalars(select(CheckRequest).where(CheckRequest.contact_id == contact.id)
                                        .order_by(CheckRequest.id)))
        soonest = min((r.due_at for r in rows if r.response is None), default=contact.decision_due_at)
        out.append(QueueItem(contact, time_left(soonest, now), checks=rows))
    return sorted(out, key=lambda item: (item.time["seconds_left"] if item.time["seconds_left"] is not None
                                         else 10**12, item.contact.id))


def _awaiting_review_query(*conditions, level_urgency: Mapping[int, str] | None = None) -> Select:
    """With ``level_urgency``, most urgent first (``review_urgency_order``); then the review due soonest."""
    decisions = latest_decisions().subquery()
    return (
        select(Contact, Decision)
        .join(decisions, decisions.c.contact_id == Contact.id)
        .join(Decision, Decision.id == decisions.c.id)
        .where(Contact.status == Status.AWAITING_REVIEW, *conditions)
        .order_by(*([review_urgency_order(level_urgency)] if level_urgency is not None else []),
                  Decision.decided_at, Contact.id)
    )


def _review_item(contact: Contact, decision: Decision, now: datetime) -> QueueItem:
    """A decision awaiting review, timed against the review's own deadline (not the decision's)."""
    return QueueItem(contact, time_left(review_due(decision.decided_at), now), decision)


def awaiting_review(user: User, now: datetime | None = None, *,
                    level_urgency: Mapping[int, str] | None = None) -> list[QueueItem]:
    """For a manager: decisions they may review (never their own), most urgent first, then the review due soonest.

    Urgency is the contact's own or its decided level's, whichever is higher (``level_urgency``:
    ``level_urgencies`` of the guidance).

    For a practitioner: their own decisions still waiting for a manager, so they can see what
    has not yet had oversight. Each item's time is left until the review is due, one working
    day after the decision.
    """
    now = now or utcnow()
    mine = Decision.decided_by_id == user.id
    query = _awaiting_review_query(~mine if user.role == "manager" else mine, level_urgency=level_urgency)
    return [_review_item(c, d, now) for c, d in db.session.execute(query)]


def reviews_overdue(now: datetime | None = None) -> list[QueueItem]:
    """Decisions still awaiting a manager's review after it was due, longest overdue first.

    The team's view of late oversight, whoever made the decision: the inspection found
    management oversight often late, and nobody could see which decisions were waiting.
    """
    now = now or utcnow()
    rows = [_review_item(c, d, now) for c, d in db.session.execute(_awaiting_review_query())]
    return [entry for entry in rows if entry.time["overdue"]]


def decided_today(now: datetime | None = None) -> list[QueueItem]:
    """Contacts whose decision was recorded today (London), newest first, with how it met the deadline."""
    now = now or utcnow()
    today = london_date(now)
    start, end = london_days(today, today)
    query = (
        latest_decisions().add_columns(Contact)
        .join(Contact, Contact.id == Decision.contact_id)
        .where(Decision.decided_at >= start, Decision.decided_at < end)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
    )
    return [QueueItem(c, decided_against_deadline(c.decision_due_at, d.decided_at), d)
            for d, c in db.session.execute(query)]

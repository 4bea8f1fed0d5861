"""The dashboard counted in SQL (issues 18 and 19): each contact's London day and first-decision timeliness.

``contacts.accepted_day`` (the London day of ``accepted_at``), ``first_decision_id``,
``first_decided_at``, ``first_decision_hours`` (working hours from ``accepted_at``),
``first_review_due_at`` (one working day after the first decision) and ``first_reviewed_at`` (that
decision's first review). The service writes them as each fact happens; this migration fills them
in for the contacts already stored. None of them is sealed content (``audit.CONTENT_COLUMNS``), so
the record's digests are unchanged.

Frozen: the working-day arithmetic below is a copy of ``triage/engine/workdays.py`` as it was on
2 December 2026 (09:00 to 17:00 London time, England and Wales bank holidays from ``holidays``),
so this migration gives the same answer whatever that module becomes.

Revision ID: 0011_dashboard_facts
Revises: 0010_scale_indexes
Create Date: 2026-12-02
"""

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import sqlalchemy as sa
from alembic import op

revision = "0011_dashboard_facts"
down_revision = "0010_scale_indexes"
branch_labels = None
depends_on = None

LONDON = ZoneInfo("Europe/London")
OPENS, CLOSES = time(9, 0), time(17, 0)
BATCH = 1000
#: The dashboard reads its window, groups and counts from this index alone (not the wide JSON rows).
DASHBOARD_INDEX = ("accepted_day", "source_code", "model_version", "status", "recommended_level",
                   "latest_decision_id", "latest_review_id", "decision_due_at", "first_decided_at",
                   "first_decision_hours", "first_reviewed_at", "first_review_due_at", "marac_recommended",
                   "primary_concern", "dash_risk", "accepted_at", "id")

COLUMNS = (
    sa.Column("accepted_day", sa.Date(), nullable=True),
    sa.Column("first_decision_id", sa.Integer(), nullable=True),
    sa.Column("first_decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("first_decision_hours", sa.Float(), nullable=True),
    sa.Column("first_review_due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("first_reviewed_at", sa.DateTime(timezone=True), nullable=True),
)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def _working(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def _at(day: date, wall: time) -> datetime:
    return datetime.combine(day, wall, tzinfo=LONDON).astimezone(timezone.utc)


def _review_due(decided: datetime) -> datetime:
    """One working day after ``decided``, same London wall time (from 09:00 if not a working day)."""
    local = decided.astimezone(LONDON)
    day, wall = local.date(), local.time()
    if not _working(day):
        day += timedelta(days=1)
        while not _working(day):
            day += timedelta(days=1)
        wall = OPENS
    day += timedelta(days=1)
    while not _working(day):
        day += timedelta(days=1)
    return _at(day, wall)


def _hours(start: datetime, end: datetime) -> float:
    if end < start:
        return -_hours(end, start)
    total, day, last = 0.0, start.astimezone(LONDON).date(), end.astimezone(LONDON).date()
    while day <= last:
        if _working(day):
            overlap = min(_at(day, CLOSES), end) - max(_at(day, OPENS), start)
            total += max(overlap.total_seconds(), 0.0) / 3600
        day += timedelta(days=1)
    return total


def _aware(value):
    """A stored time as aware UTC (SQLite keeps naive UTC; PostgreSQL gives it aware)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _stored(value: datetime | None, sqlite: bool):
    """As ``UTCDateTime`` stores it: naive UTC on SQLite, aware on PostgreSQL."""
    if value is None:
        return None
    return value.replace(tzinfo=None) if sqlite else value


def upgrade():
    for column in COLUMNS:
        op.add_column("contacts", column)
    op.execute("UPDATE contacts SET first_decision_id = "
               "(SELECT min(d.id) FROM decisions d WHERE d.contact_id = contacts.id)")
    op.execute("UPDATE contacts SET first_decided_at = "
               "(SELECT d.decided_at FROM decisions d WHERE d.id = contacts.first_decision_id) "
               "WHERE first_decision_id IS NOT NULL")
    op.execute("UPDATE contacts SET first_reviewed_at = "
               "(SELECT r.reviewed_at FROM reviews r WHERE r.contact_id = contacts.id "
               "AND r.decision_id = contacts.first_decision_id ORDER BY r.id LIMIT 1) "
               "WHERE first_decision_id IS NOT NULL")
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    contacts = sa.table("contacts", sa.column("id", sa.String()), sa.column("accepted_at", sa.DateTime()),
                        sa.column("first_decided_at", sa.DateTime()), *(sa.column(c.name, c.type) for c in COLUMNS
                                                                        if c.name not in ("first_decided_at",)))
    rows = bind.execute(sa.select(contacts.c.id, contacts.c.accepted_at, contacts.c.first_decided_at)
                        .order_by(contacts.c.id)).all()
    change = (sa.update(contacts).where(contacts.c.id == sa.bindparam("cid"))
              .values(accepted_day=sa.bindparam("day"), first_decision_hours=sa.bindparam("hours"),
                      first_review_due_at=sa.bindparam("due")))
    batch = []
    for cid, accepted, decided in rows:
        accepted, decided = _aware(accepted), _aware(decided)
        batch.append({"cid": cid, "day": accepted.astimezone(LONDON).date(),
                      "hours": _hours(accepted, decided) if decided else None,
                      "due": _stored(_review_due(decided), sqlite) if decided else None})
        if len(batch) >= BATCH:
            bind.execute(change, batch)
            batch = []
    if batch:
        bind.execute(change, batch)
    op.create_index("ix_contacts_dashboard", "contacts", list(DASHBOARD_INDEX))


def downgrade():
    op.drop_index("ix_contacts_dashboard", table_name="contacts")
    for column in reversed(COLUMNS):
        op.drop_column("contacts", column.name)

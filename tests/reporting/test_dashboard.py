"""The management dashboard counted in SQL equals the Python dashboard it replaced (issues 18 and 19).

``dashboard_reference`` is the dashboard as it was: plain Python over one ``ContactFacts`` per
contact, read through the ORM (``reference_facts``), timeliness by ``timeliness.measure``. The
store here is awkward on purpose: phone contacts taken either side of both 2025 clock changes and
late on a Saturday in London that is already Sunday in UTC terms (or the reverse), before a bank
holiday weekend and over Christmas; decided at weekends and on the next working day; undecided
past the deadline; decided and not reviewed; reviewed late; changed on review; and contacts with
a second decision (a correction), one whose first decision was never reviewed. The SQL dashboard
must give exactly the reference's figures over the whole range, a month and a single day, with
"now" before, inside and after the deadlines.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, update

from tests.decision_support import OVERRIDE, RATIONALE, REVIEW_RATIONALE, pin, submit
from tests.reporting import dashboard_reference
from tests.reporting.test_lean_loading import reference_facts
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.record.tables import Contact, User
from triage.reporting import dashboard
from triage.services import decisions

UTC = timezone.utc
FACTS = ("accepted_day", "first_decision_id", "first_decided_at", "first_decision_hours", "first_review_due_at",
         "first_reviewed_at")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


#: (accepted, [(decided at, level or None for the recommendation), ...], [(reviewed at, changed to), ...]).
#: A second decision is a correction: the contact is put back to await a decision first.
TIMED = [
    (utc(2025, 3, 29, 23, 30), [(utc(2025, 3, 31, 9, 0), None)], [(utc(2025, 4, 1, 11, 0), None)]),
    (utc(2025, 3, 30, 0, 30), [(utc(2025, 3, 30, 12, 0), None)], [(utc(2025, 3, 31, 16, 0), 4)]),
    (utc(2025, 3, 30, 23, 30), [(utc(2025, 4, 1, 15, 59), 4)], []),  # 31 March 00:30 BST
    (utc(2025, 10, 25, 23, 30), [(utc(2025, 10, 27, 16, 30), None)], [(utc(2025, 10, 29, 9, 0), None)]),
    (utc(2025, 10, 26, 0, 30), [(utc(2025, 10, 26, 10, 0), 4)], [(utc(2025, 10, 27, 8, 0), None)]),
    (utc(2025, 10, 26, 1, 30), [], []),
    (utc(2025, 8, 22, 15, 30), [(utc(2025, 8, 26, 8, 30), None)], [(utc(2025, 8, 27, 8, 29), None)]),
    (utc(2025, 12, 24, 16, 0), [(utc(2025, 12, 29, 10, 0), None)], [(utc(2025, 12, 30, 9, 59), 4)]),
    (utc(2025, 12, 1, 9, 0), [], []),
    (utc(2025, 12, 2, 9, 0), [(utc(2025, 12, 2, 12, 0), 4)], []),
    (utc(2025, 11, 3, 9, 0), [(utc(2025, 11, 3, 14, 0), None)], [(utc(2025, 11, 4, 9, 0), 4)]),
    (utc(2025, 11, 10, 9, 0), [(utc(2025, 11, 10, 11, 0), None), (utc(2025, 11, 12, 10, 0), 4)],
     [(utc(2025, 11, 12, 12, 0), None)]),  # first decision never reviewed: the review is of the correction
    (utc(2025, 11, 17, 9, 0), [(utc(2025, 11, 17, 10, 0), None), (utc(2025, 11, 18, 10, 0), None)],
     [(utc(2025, 11, 17, 12, 0), None), (utc(2025, 11, 18, 12, 0), 4)]),
    (utc(2025, 11, 15, 10, 0), [(utc(2025, 11, 15, 12, 0), None)], [(utc(2025, 11, 16, 9, 0), None)]),
]
WHOLE = (date(2025, 3, 1), date(2025, 12, 31))
NOWS = (utc(2025, 12, 2, 13, 0), utc(2025, 12, 3, 12, 30), utc(2026, 6, 1, 0, 0))


def _decide(contact: Contact, worker: User, at: datetime, level: int | None) -> None:
    recommended = contact.recommended_level or 3
    chosen = level or recommended
    decisions.record_decision(contact, worker, level=chosen, rationale=RATIONALE, consent="obtained",
                              override_reason=OVERRIDE if chosen != recommended else None,
                              marac_referral=chosen == 4, now=at)


def _review(contact: Contact, manager: User, at: datetime, changed_to: int | None) -> None:
    if changed_to is not None and changed_to != decisions.latest_decision(contact.id).level:
        decisions.record_review(contact, manager, outcome="changed", level=changed_to,
                                rationale=REVIEW_RATIONALE, now=at)
    else:
        decisions.record_review(contact, manager, outcome="confirmed", rationale=REVIEW_RATIONALE, now=at)


@pytest.fixture
def timed_store(app, client, people):
    """The contacts of ``TIMED``, taken by phone (the clock is the call time), decided and reviewed then."""
    pin(app, level=3, floor=2)
    ids = [submit(client, people["practitioner"], received_at=accepted.isoformat(), partner_reference=f"T-{n}")
           for n, (accepted, _, _) in enumerate(TIMED)]
    with app.app_context():
        worker = db.session.get(User, people["practitioner"].id)
        manager = db.session.get(User, people["manager"].id)
        for contact_id, (_, decided, reviewed) in zip(ids, TIMED, strict=True):
            steps = sorted([(at, "decide", level) for at, level in decided]
                           + [(at, "review", level) for at, level in reviewed])
            for at, step, level in steps:
                contact = db.session.get(Contact, contact_id)
                if step == "decide":
                    if contact.status != "awaiting_decision":  # a correction: back to awaiting a decision
                        db.session.execute(update(Contact.__table__).where(Contact.__table__.c.id == contact_id)
                                           .values(status="awaiting_decision"))
                        db.session.commit()
                        db.session.refresh(contact)
                    _decide(contact, worker, at, level)
                else:
                    _review(contact, manager, at, level)
    return ids


def _both(first: date, last: date, now: datetime, levels) -> tuple[dict, dict]:
    start, end = london_days(first, last)
    expected = dashboard_reference.dashboard(reference_facts(start, end), first=first, last=last, now=now,
                                             levels=levels)
    served = dashboard.dashboard_for(first, last, now, levels)
    served.pop("checks")  # issue 13's checks figures: counted in SQL already, tested in test_checks_report.py
    return served, expected


@pytest.mark.parametrize("now", NOWS)
def test_the_sql_dashboard_gives_the_python_figures(app, timed_store, now):
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        for first, last in (WHOLE, (date(2025, 10, 1), date(2025, 10, 31)), (date(2025, 3, 30), date(2025, 3, 30)),
                            (date(2025, 10, 26), date(2025, 10, 26)), (date(2025, 11, 1), date(2025, 11, 30))):
            served, expected = _both(first, last, now, levels)
            assert served == expected, (first, last)
        served, _ = _both(*WHOLE, now, levels)
        assert served["contacts"] == len(TIMED)
        assert served["timeliness"]["decisions"]["made"] == sum(1 for t in TIMED if t[1])


def test_the_london_day_counts_a_contact_on_the_day_london_saw_it(app, timed_store):
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        days = {d["date"]: d["total"] for d in dashboard.dashboard_for(*WHOLE, NOWS[0], levels)["per_day"]["days"]}
        # 29 March 23:30 UTC is London's 29th (GMT); 30 March 23:30 UTC is London's 31st (BST).
        assert (days["2025-03-29"], days["2025-03-30"], days["2025-03-31"]) == (1, 1, 1)
        # 25 October 23:30 UTC is London's 26th (BST until 01:00 UTC), as are 00:30 and 01:30 UTC.
        assert (days["2025-10-25"], days["2025-10-26"]) == (0, 3)


def test_a_first_decision_never_reviewed_stays_unreviewed_after_its_correction_is(app, timed_store):
    with app.app_context():
        corrected = db.session.scalar(select(Contact).where(Contact.partner_reference == "T-11"))
        assert corrected.first_decided_at == utc(2025, 11, 10, 11, 0)
        assert corrected.first_reviewed_at is None and corrected.latest_review_id is not None
        assert corrected.first_review_due_at == utc(2025, 11, 11, 11, 0)
        twice = db.session.scalar(select(Contact).where(Contact.partner_reference == "T-12"))
        assert (twice.first_decided_at, twice.first_reviewed_at) == (utc(2025, 11, 17, 10, 0), utc(2025, 11, 17, 12, 0))
        assert twice.first_decision_id != twice.latest_decision_id
        friday = db.session.scalar(select(Contact).where(Contact.partner_reference == "T-6"))
        # Friday 16:30 BST to Tuesday 09:30 BST over the August bank holiday: 0.5 + 0.5 working hours.
        assert friday.first_decision_hours == 1.0


def test_the_departure_lists_are_the_most_recent_and_the_totals_count_them_all(app, timed_store, monkeypatch):
    monkeypatch.setattr(dashboard, "LISTED", 2)
    monkeypatch.setattr(dashboard_reference, "LISTED", 2)
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        served, expected = _both(*WHOLE, NOWS[0], levels)
        assert served == expected
        departures = served["departures"]
        assert departures["departures"] > 2 and len(departures["items"]) == 2 and departures["listed"] == 2
        assert departures["changed_by_managers"] > 2 and len(departures["changes"]) == 2
        assert [i["accepted_at"] for i in departures["items"]] == sorted(
            (i["accepted_at"] for i in departures["items"]), reverse=True)


def test_migration_0011_fills_in_the_facts_the_service_keeps(app, timed_store):
    """Downgraded past 0011 and upgraded again, the backfill gives what the service wrote as it happened."""
    from flask_migrate import downgrade, upgrade

    from triage.app import MIGRATIONS

    columns = [getattr(Contact, name) for name in FACTS]
    with app.app_context():
        kept = db.session.execute(select(Contact.id, *columns).order_by(Contact.id)).all()
        assert any(row.first_decision_hours for row in kept) and any(row.first_reviewed_at for row in kept)
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="0010_scale_indexes")
        upgrade(directory=MIGRATIONS)
        db.session.remove()
        db.engine.dispose()
        assert db.session.execute(select(Contact.id, *columns).order_by(Contact.id)).all() == kept

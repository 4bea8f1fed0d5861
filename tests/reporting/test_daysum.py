"""The dashboard from per-day summaries equals the dashboard counted afresh, figure for figure (issue 15 finding 5).

``test_dashboard.timed_store``'s contacts (either side of both 2025 clock changes, over Christmas,
undecided, unreviewed, corrected) are counted for several windows with summaries (the first time
counted and kept, then read back) and without (``summaries=False``); then the store changes in
every way the dashboard counts: a new contact on a day already kept, a decision, a review, a
status change, a recommendation replaced (the MARAC criteria and level) and a correction, each
followed by the same comparison. "Now" is after every deadline (days kept), and between them (the
days whose deadlines are still to come are counted live, never kept).
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select

from tests.decision_support import submit
from tests.reporting.test_dashboard import _decide, _review, timed_store  # noqa: F401 (a fixture)
from triage.extensions import db
from triage.record.tables import Contact, DashboardDay, User
from triage.reporting import daysum
from triage.reporting.dashboard import SUMMARY_LAYOUT, _summarised, dashboard_for, keep_summaries

LATER = datetime(2026, 6, 1, tzinfo=timezone.utc)  # every deadline of the store is past
BETWEEN = datetime(2025, 12, 2, 13, 0, tzinfo=timezone.utc)  # some of December's deadlines are still to come
WINDOWS = ((date(2025, 3, 1), date(2025, 12, 31)), (date(2025, 10, 1), date(2025, 10, 31)),
           (date(2025, 10, 26), date(2025, 10, 26)), (date(2025, 11, 10), date(2025, 11, 16)),
           (date(2024, 12, 2), date(2025, 12, 2)))


def _same(app, now: datetime) -> None:
    """Every window, read twice with summaries (kept, then read back), equals the count without them."""
    levels = app.extensions["recommender"].guidance.levels
    for first, last in WINDOWS:
        fresh = dashboard_for(first, last, now, levels, summaries=False)
        assert dashboard_for(first, last, now, levels) == fresh, (first, last, now)
        assert dashboard_for(first, last, now, levels) == fresh, (first, last, now)


def _kept() -> int:
    return db.session.scalar(select(func.count()).select_from(DashboardDay))


def _people(people) -> tuple[User, User]:
    return db.session.get(User, people["practitioner"].id), db.session.get(User, people["manager"].id)


def _by_reference(reference: str) -> Contact:
    return db.session.scalar(select(Contact).where(Contact.partner_reference == reference))


@pytest.mark.parametrize("now", (LATER, BETWEEN))
def test_summaries_give_the_fresh_figures_as_contacts_change(app, client, people, timed_store, now):  # noqa: F811
    with app.app_context():
        _same(app, now)
        assert _kept() > 0
        summary = _summarised(date(2025, 3, 1), date(2025, 12, 31), now, True)
        assert summary.kept_days == _kept() and not summary.pending  # the second read counted no kept day again
    # a new contact on a day already kept (a phone call taken then: the clock is the call time)
    submit(client, people["practitioner"], received_at="2025-11-03T10:00:00+00:00", partner_reference="T-new")
    with app.app_context():
        assert db.session.get(DashboardDay, date(2025, 11, 3)) is not None
        _same(app, now)
        worker, manager = _people(people)
        _decide(_by_reference("T-new"), worker, datetime(2025, 11, 3, 15, 0, tzinfo=timezone.utc), 4)  # decided
        _same(app, now)
        _review(_by_reference("T-new"), manager, datetime(2025, 11, 4, 10, 0, tzinfo=timezone.utc), 2)  # changed
        _same(app, now)
        _decide(_by_reference("T-8"), worker, datetime(2025, 12, 1, 16, 0, tzinfo=timezone.utc), None)
        _same(app, now)
        contact = _by_reference("T-10")  # a status change alone
        contact.status = "awaiting_decision"
        db.session.commit()
        _same(app, now)
        _decide(contact, worker, datetime(2025, 11, 5, 9, 0, tzinfo=timezone.utc), 4)  # its correction
        _same(app, now)
        contact = _by_reference("T-4")  # a recommendation replaced: MARAC criteria, level, DASH band
        contact.recommendation = {**(contact.recommendation or {}),
                                  "marac": {"recommended": True, "criteria": ["repeat", "visible_high_risk"]}}
        contact.recommended_level, contact.dash_risk, contact.primary_concern = 1, "high", "domestic_abuse"
        db.session.commit()
        _same(app, now)


def test_a_day_with_a_deadline_to_come_is_never_kept_and_a_kept_day_is_read_only_after_its_deadlines(
        app, timed_store):  # noqa: F811
    december = (date(2025, 12, 1), date(2025, 12, 2))
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        # 3 December 10:00: 2 December's contact (decided 12:00 the 2nd, never reviewed) is due for review at
        # 12:00 today, so its day is closed but not kept; 1 December's (undecided, due 09:00 the 2nd) is kept.
        dashboard_for(*december, datetime(2025, 12, 3, 10, 0, tzinfo=timezone.utc), levels)
        assert set(db.session.scalars(select(DashboardDay.day))) == {date(2025, 12, 1)}
        later = dashboard_for(*december, LATER, levels)
        assert later == dashboard_for(*december, LATER, levels, summaries=False)
        assert later["timeliness"]["reviews"]["unreviewed_past_deadline"] == 1
        assert all(row.deadline < LATER for row in db.session.scalars(select(DashboardDay)))
        # read with a "now" before a kept day's deadlines, that day is counted live: still the fresh answer
        early = datetime(2025, 12, 2, 8, 0, tzinfo=timezone.utc)
        assert db.session.get(DashboardDay, date(2025, 12, 1)) is not None
        answer = dashboard_for(*december, early, levels)
        assert answer == dashboard_for(*december, early, levels, summaries=False)
        assert answer["timeliness"]["decisions"]["undecided_past_deadline"] == 0


def test_a_summary_of_another_layout_is_counted_again(app, timed_store):  # noqa: F811
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        fresh = dashboard_for(*WINDOWS[0], LATER, levels, summaries=False)
        dashboard_for(*WINDOWS[0], LATER, levels)
        for row in db.session.scalars(select(DashboardDay)):
            row.layout = "0-older"  # counts of another meaning: wrong for this layout
            row.counts = {**row.counts, "total": [7] * len(row.counts["total"])}
        db.session.commit()
        assert dashboard_for(*WINDOWS[0], LATER, levels) == fresh
        assert set(db.session.scalars(select(DashboardDay.layout))) == {SUMMARY_LAYOUT}


def test_the_cli_keeps_the_summaries_and_clears_them(app, timed_store):  # noqa: F811
    with app.app_context():
        unchanged, kept = keep_summaries(*WINDOWS[0], LATER)
        assert (unchanged, kept) == (0, len({c[0].date() for c in _accepted_days()}))
        assert keep_summaries(*WINDOWS[0], LATER) == (kept, 0)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["triage", "dashboard-summaries", "--clear"])
    assert result.exit_code == 0 and f"{kept} day summaries removed" in result.output
    assert "0 already kept" in result.output  # the store's days are over a year before today: none is kept again


def _accepted_days() -> list:
    return db.session.execute(select(Contact.accepted_at)).all()


def test_two_requests_keeping_the_same_days_at_once_both_answer(app, people, timed_store):  # noqa: F811
    """Both count the same cold days and keep them (an upsert each): neither fails, the answers agree."""
    url = "/api/v1/reports/dashboard?from=2025-03-01&to=2025-12-31"
    barrier, answers = threading.Barrier(2), []

    def read() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.get(url, headers=people["manager"].headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200, 200] and answers[0][1] == answers[1][1]
    with app.app_context():
        assert _kept() == len({day for (day,) in db.session.execute(select(Contact.accepted_day).distinct())})
        assert daysum.store(_summarised(*WINDOWS[0], LATER, True).pending) == 0  # nothing left to keep


def test_migration_0015_adds_and_removes_the_summaries(app, timed_store):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from triage.app import MIGRATIONS

    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        dashboard_for(*WINDOWS[0], LATER, levels)
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="0014_queue_order")
        db.session.remove()
        db.engine.dispose()
        inspector = inspect(db.engine)
        assert "dashboard_days" not in inspector.get_table_names()
        assert "ix_contacts_daysum" not in {index["name"] for index in inspector.get_indexes("contacts")}
        upgrade(directory=MIGRATIONS)
        db.session.remove()
        db.engine.dispose()
        inspector = inspect(db.engine)
        assert "ix_contacts_daysum" in {index["name"] for index in inspector.get_indexes("contacts")}
        assert _kept() == 0
        assert dashboard_for(*WINDOWS[0], LATER, levels) == dashboard_for(*WINDOWS[0], LATER, levels, summaries=False)
        assert _kept() > 0


def test_unchanged_kept_days_are_judged_together_and_a_change_to_one_judges_each_again(
        app, people, timed_store, monkeypatch):  # noqa: F811
    """One sum over the window stands for the kept days while none changed; the answer is the fresh one either way."""
    judged: list[tuple[date, date]] = []
    by_day = daysum.fingerprints
    monkeypatch.setattr(daysum, "fingerprints", lambda first, last: judged.append((first, last)) or by_day(first, last))
    first, last = WINDOWS[0]
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        fresh = dashboard_for(first, last, LATER, levels, summaries=False)
        dashboard_for(first, last, LATER, levels)  # counted and kept
        judged.clear()
        assert dashboard_for(first, last, LATER, levels) == fresh
        newest_kept = max(db.session.scalars(select(DashboardDay.day)))
        assert judged == [(newest_kept + timedelta(days=1), last)]  # only the days after the kept ones, one by one
        summary = _summarised(first, last, LATER, True)
        assert summary.kept_days == _kept() and not summary.pending
        contact = _by_reference("T-4")  # an old day's contact changes: its day is counted again
        contact.status = "awaiting_decision"
        db.session.commit()
        judged.clear()
        assert dashboard_for(first, last, LATER, levels) == dashboard_for(first, last, LATER, levels, summaries=False)
        assert judged[0] == (first, last)


def test_a_worker_reads_each_kept_days_figures_once_and_again_once_the_day_is_kept_again(
        app, people, timed_store):  # noqa: F811
    """Kept figures are held by each worker under the row's key; a day counted again is read again."""
    from sqlalchemy import event

    read: list[str] = []
    first, last = WINDOWS[0]
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_: read.append(statement) if "dashboard_days.counts" in statement
                     else None)
        dashboard_for(first, last, LATER, levels)  # counted and kept
        dashboard_for(first, last, LATER, levels)  # read from the table
        read.clear()
        assert dashboard_for(first, last, LATER, levels) == dashboard_for(first, last, LATER, levels, summaries=False)
        assert read == []  # held: no kept day's figures read again
        worker, _ = _people(people)
        _decide(_by_reference("T-8"), worker, datetime(2025, 12, 1, 16, 0, tzinfo=timezone.utc), None)
        assert dashboard_for(first, last, LATER, levels) == dashboard_for(first, last, LATER, levels, summaries=False)
        dashboard_for(first, last, LATER, levels)  # the changed day, kept again, is read under its new key
        assert len(read) == 1

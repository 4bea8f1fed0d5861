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
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, inspect, select, text

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


def _touched() -> dict[date, int]:
    return dict(db.session.execute(select(DashboardDay.day, DashboardDay.touched)).all())


def test_a_change_to_a_contact_by_any_path_touches_its_kept_day_alone_which_is_counted_again(
        app, client, people, timed_store):  # noqa: F811
    """The store marks the day (migration 0022's trigger): a status change, a hand edit in SQL, a contact added."""
    first, last = WINDOWS[0]
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        dashboard_for(first, last, LATER, levels)  # counted and kept
        assert set(_touched().values()) == {0}
        contact = _by_reference("T-4")
        day = contact.accepted_day
        contact.status = "awaiting_decision"
        db.session.commit()
        assert {d for d, n in _touched().items() if n} == {day}
        assert dashboard_for(first, last, LATER, levels) == dashboard_for(first, last, LATER, levels, summaries=False)
        assert _touched()[day] == 0  # counted again and kept again
        # a hand edit that moves no version (the fingerprint alone would not see it)
        db.session.execute(text("UPDATE contacts SET primary_concern = 'neglect' WHERE partner_reference = 'T-4'"))
        db.session.commit()
        assert _touched()[day] == 1
        assert dashboard_for(first, last, LATER, levels) == dashboard_for(first, last, LATER, levels, summaries=False)
    submit(client, people["practitioner"], received_at="2025-11-03T10:00:00+00:00", partner_reference="T-added")
    with app.app_context():
        assert _touched()[date(2025, 11, 3)] == 1
        assert dashboard_for(first, last, LATER, levels) == dashboard_for(first, last, LATER, levels, summaries=False)
        assert set(_touched().values()) == {0}


def test_a_change_committed_while_its_day_was_counted_leaves_the_day_touched_once_kept(app, people, timed_store):  # noqa: F811
    """The trigger finds no row for a day not yet kept, so keeping reads the fingerprints again (``daysum.store``)."""
    first, last = WINDOWS[0]
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        counted = _summarised(first, last, LATER, True)  # counted, not yet kept
        contact = _by_reference("T-4")
        contact.status = "awaiting_decision"  # committed before the counts are kept
        db.session.commit()
        assert daysum.store(counted.pending) == len(counted.pending) - 1
        assert {d for d, n in _touched().items() if n} == {contact.accepted_day}
        assert dashboard_for(first, last, LATER, levels) == dashboard_for(first, last, LATER, levels, summaries=False)


def test_the_days_not_kept_are_counted_as_runs_of_the_index():
    kept = [date(2025, 3, 2), date(2025, 3, 3), date(2025, 3, 6)]
    assert daysum._gaps(date(2025, 3, 1), date(2025, 3, 8), kept) == [
        (date(2025, 3, 1), date(2025, 3, 1)), (date(2025, 3, 4), date(2025, 3, 5)), (date(2025, 3, 7), date(2025, 3, 8))]
    assert daysum._gaps(date(2025, 3, 2), date(2025, 3, 3), kept[:2]) == []
    assert daysum._gaps(date(2025, 3, 1), date(2025, 3, 1), []) == [(date(2025, 3, 1), date(2025, 3, 1))]


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


def test_migration_0022_forgets_the_days_kept_before_it_and_its_downgrade_removes_the_trigger(app, timed_store):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from triage.app import MIGRATIONS

    first, last = WINDOWS[0]
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="0021_release_supersedes")
        db.session.remove()
        db.engine.dispose()
        assert "touched" not in {c["name"] for c in inspect(db.engine).get_columns("dashboard_days")}
        db.session.execute(text(  # a day kept before 0022, judged by its fingerprint alone
            "INSERT INTO dashboard_days (day, layout, contacts, version_sum, decisions_sum, reviews_sum, counts, "
            "criteria, computed_at) VALUES ('2025-11-03', :layout, 1, 1, 0, 0, '{}', '{}', '2026-01-01 00:00:00')"),
            {"layout": SUMMARY_LAYOUT})
        db.session.commit()
        upgrade(directory=MIGRATIONS)
        db.session.remove()
        db.engine.dispose()
        assert _kept() == 0
        assert dashboard_for(first, last, LATER, levels) == dashboard_for(first, last, LATER, levels, summaries=False)
        db.session.execute(text("UPDATE contacts SET primary_concern = 'domestic_abuse' WHERE partner_reference = 'T-4'"))
        db.session.commit()
        assert sum(_touched().values()) == 1

"""Failed sign-ins: counted per account per address and per account, in windows that pass."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from triage.services import signin

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_five_failures_from_one_address_close_the_account_there_for_fifteen_minutes(app):
    with app.app_context():
        for n in range(5):
            assert signin.wait_seconds("sw@council.example", "10.0.0.1", T0 + timedelta(minutes=n)) == 0
            signin.record_failure("sw@council.example", "10.0.0.1", T0 + timedelta(minutes=n))
        assert signin.wait_seconds("SW@council.example ", "10.0.0.1", T0 + timedelta(minutes=5)) == 10 * 60
        assert signin.wait_seconds("sw@council.example", "10.0.0.2", T0 + timedelta(minutes=5)) == 0
        assert signin.wait_seconds("other@council.example", "10.0.0.1", T0 + timedelta(minutes=5)) == 0
        assert signin.wait_seconds("sw@council.example", "10.0.0.1", T0 + timedelta(minutes=15, seconds=1)) == 0


def test_spraying_many_accounts_from_one_address_meets_a_limit(app):
    with app.app_context():
        refused_at = None
        for n in range(25):
            at = T0 + timedelta(seconds=10 * n)
            if signin.wait_seconds(f"person{n}@council.example", "10.6.6.6", at):
                refused_at = n
                break
            signin.record_failure(f"person{n}@council.example", "10.6.6.6", at)
        assert refused_at is not None and refused_at <= signin.ADDRESS_LIMIT.failures
        later = T0 + timedelta(minutes=5)
        assert signin.wait_seconds("someone.else@council.example", "10.6.6.6", later) > 0
        assert signin.wait_seconds("someone.else@council.example", "10.0.0.7", later) == 0


def test_failures_from_other_addresses_cannot_lock_a_named_person_out(app):
    with app.app_context():
        for n in range(40):
            signin.record_failure("victim@council.example", f"10.0.{n}.1", T0 + timedelta(seconds=n))
        assert signin.wait_seconds("victim@council.example", "192.168.1.20", T0 + timedelta(minutes=1)) == 0


def test_an_account_with_many_failures_raises_one_alert_for_administrators(app, people):
    from sqlalchemy import select

    from triage.extensions import db
    from triage.record.tables import Event, User

    with app.app_context():
        victim = db.session.get(User, people["practitioner"].id)
        for n in range(signin.ALERT_FAILURES * 2):
            signin.record_failure(victim.email, f"10.0.{n}.1", T0 + timedelta(seconds=n), user=victim)
        alerts = db.session.scalars(select(Event).where(Event.kind == "sign_in_alert")).all()
        assert len(alerts) == 1
        assert alerts[0].data["user_id"] == victim.id and alerts[0].data["failures"] == signin.ALERT_FAILURES
        assert victim.email not in str(alerts[0].data)  # ids only in the record
        assert signin.recent_alerts(T0 + timedelta(hours=1))[0]["user_id"] == victim.id


def test_the_people_page_reads_recent_alerts_from_the_services_chain_not_every_event(app):
    """By kind alone SQLite read every event in the record: 0.19 s for the people page at 200,000 contacts."""
    from tests.plans import sqlite_plans

    with app.app_context():
        plans = sqlite_plans(lambda: signin.recent_alerts(T0), "FROM events")
    assert len(plans) == 1 and "USING INDEX ix_events_stream (stream=?)" in plans[0], plans


def test_failures_older_than_a_day_are_deleted_and_a_success_clears_the_account(app):
    from triage.extensions import db
    from triage.record.tables import SignInFailure

    with app.app_context():
        signin.record_failure("a@council.example", "10.0.0.1", T0)
        signin.record_failure("b@council.example", "10.0.0.1", T0 + timedelta(days=1, minutes=1))
        assert db.session.query(SignInFailure).count() == 1     # a's, a day old, went
        signin.record_failure("b@council.example", "10.0.0.1", T0 + timedelta(days=1, minutes=2))
        signin.clear("B@council.example")
        assert db.session.query(SignInFailure).count() == 0

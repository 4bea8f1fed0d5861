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


def test_twenty_failures_from_anywhere_close_the_account_for_the_hour(app):
    with app.app_context():
        for n in range(20):
            signin.record_failure("sw@council.example", f"10.0.1.{n}", T0 + timedelta(minutes=n))
        assert signin.wait_seconds("sw@council.example", "10.9.9.9", T0 + timedelta(minutes=20)) == 40 * 60
        assert signin.wait_seconds("sw@council.example", "10.9.9.9", T0 + timedelta(hours=1, seconds=1)) == 0


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

"""The checks figures counted from ``check_requests`` equal the ``EXISTS`` per contact they replaced.

``checks_reference`` is ``checks_figures`` as it was (issue 13 item 7). Here 120 contacts of two
partners over three weeks either side of the October 2026 clock change, drawn from a fixed seed:
some sent to one to three agencies (answered on time, late or not at all), some rescored after
checks (raised, lowered, unchanged) and some with a screening recommendation but no check, some
decided (a few corrected) and some not. Every window the service asks for (whole London days with
and without a partner, a partner's month, a window that does not start at midnight) gives the same
figures, with enough contacts behind them that the shares are given too.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.decision_support import RATIONALE
from tests.reporting.checks_reference import checks_figures as reference
from triage.engine.guidance_config import CHECK_AGENCIES
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.record.tables import CheckRequest, CheckResponse, Contact, Decision, Organisation
from triage.reporting.checks_report import checks_figures
from triage.services.decisions import keep_latest

START = datetime(2026, 10, 19, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def varied(app, people):
    return _seed(app, people, checks=True)


def _seed(app, people, *, checks: bool) -> list[int]:
    rng = random.Random(15)
    with app.app_context():
        orgs = [Organisation(name="Varied A"), Organisation(name="Varied B")]
        db.session.add_all(orgs)
        db.session.flush()
        user = people["practitioner"].id
        for n in range(120):
            accepted = START + timedelta(minutes=rng.randrange(21 * 24 * 60))
            screening = rng.choice([None, None, 1, 2, 3, 4])
            cid = f"v{n:03d}"
            db.session.add(Contact(
                id=cid, organisation_id=rng.choice(orgs).id, partner_reference=cid, source_code="6",
                primary_concern="neglect", received_at=accepted, accepted_at=accepted, status="awaiting_decision",
                payload={}, recommended_level=rng.choice([1, 2, 3, 4]), created_by_id=user,
                screening_recommendation=None if screening is None else {"level": screening, "stage": "screening"}))
            db.session.flush()
            for agency in rng.sample(CHECK_AGENCIES, rng.choice([0, 0, 1, 2, 3]) if checks else 0):
                due = accepted + timedelta(hours=4)
                check = CheckRequest(contact_id=cid, agency=agency, why="why", reason="reason", consent="obtained",
                                     due_at=due, requested_by_id=user, requested_at=accepted)
                db.session.add(check)
                db.session.flush()
                answer = rng.choice([None, timedelta(hours=1), timedelta(hours=30)])
                if answer is not None:
                    db.session.add(CheckResponse(check_id=check.id, known=True, findings=[],
                                                 late=accepted + answer > due, answered_by_id=user,
                                                 answered_at=accepted + answer))
            for step in range(rng.choice([0, 1, 1, 1, 2])):  # undecided, decided, or decided and corrected
                decided = accepted + timedelta(hours=rng.randrange(1, 80) + step * 3)
                row = Decision(contact_id=cid, level=rng.choice([1, 2, 3, 4]), rationale=RATIONALE,
                               decided_by_id=user, decided_at=decided)
                db.session.add(row)
                db.session.flush()
                keep_latest(db.session.get(Contact, cid), row)
        db.session.commit()
        return [o.id for o in orgs]


def test_the_figures_equal_the_exists_per_contact_they_replaced(app, varied):
    windows = [london_days(date(2026, 10, 19), date(2026, 11, 8)), london_days(date(2026, 10, 25), date(2026, 10, 25)),
               london_days(date(2026, 10, 26), date(2026, 11, 1)), london_days(date(2026, 10, 1), date(2026, 10, 31)),
               (START + timedelta(hours=30), START + timedelta(days=9, hours=5)),
               london_days(date(2020, 1, 1), date(2020, 1, 2))]
    with app.app_context():
        whole = checks_figures(*windows[0])
        assert whole["contacts"] == 120 and whole["sent_to_checks"] >= 30 and whole["sent_to_checks_share"]
        assert whole["level_changed"]["raised"] and whole["level_changed"]["lowered"]
        assert whole["time_to_decision"]["with_checks"]["decided"] >= 10
        for start, end in windows:
            assert checks_figures(start, end) == reference(start, end), (start, end)
            for org in varied:
                assert checks_figures(start, end, organisation_id=org) == reference(start, end, organisation_id=org)


@pytest.mark.parametrize("checks", ("some", "none"))
def test_the_dashboards_checks_figures_from_its_own_counts_equal_them_too(app, people, checks):
    """The dashboard passes its counts and its decided contacts' middle hours: the figures are the same.

    With no check at all, its median without checks is the one it read for all decisions.
    """
    from triage.reporting.dashboard import dashboard_for

    now = datetime(2027, 1, 1, tzinfo=timezone.utc)
    _seed(app, people, checks=checks == "some")
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        days = [(date(2026, 10, 19) + timedelta(days=n),) * 2 for n in range(21)]  # even and odd counts decided
        for first, last in ((date(2026, 10, 19), date(2026, 11, 8)), (date(2026, 10, 26), date(2026, 11, 1)),
                            (date(2020, 1, 1), date(2020, 1, 2)), *days):
            board = dashboard_for(first, last, now, levels)
            assert board["checks"] == reference(*london_days(first, last)), (first, last)
        whole = dashboard_for(date(2026, 10, 19), date(2026, 11, 8), now, levels)["checks"]
        assert (whole["sent_to_checks"] == 0) == (checks == "none")
        assert whole["time_to_decision"]["without_checks"]["median_working_hours"] is not None

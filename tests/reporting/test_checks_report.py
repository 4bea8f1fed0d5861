"""Screening and checks figures (triage/reporting/checks_report.py) against a count by hand.

The seeded week, November 2026 (London is on GMT, so UTC = London; working hours 09:00-17:00):

| id | org | accepted   | checks (answer)                      | level screening -> after | first decision | working hours |
|----|-----|------------|--------------------------------------|--------------------------|----------------|---------------|
| c1 | A   | Mon 09:00  | -                                    | -                        | Mon 11:00      | 2             |
| c2 | A   | Mon 10:00  | police (on time), health (late)      | 2 -> 3 (raised)          | Tue 10:00      | 7 + 1 = 8     |
| c3 | A   | Tue 09:00  | police (no answer)                   | 2 -> 2                   | Wed 13:00      | 8 + 4 = 12    |
| c4 | B   | Wed 09:00  | education (on time)                  | 3 -> 2 (lowered)         | -              | -             |
| c5 | B   | Thu 09:00  | -                                    | -                        | Thu 12:00 (and a correction at 15:00) | 3 |
| c6 | A   | Fri 09:00  | -                                    | -                        | -              | -             |
| c7 | A   | 10 Nov     | police (on time)                     | 2 -> 4                   | 10 Nov         | outside the week |

All organisations, 16-20 November: 6 contacts, 4 decided, 2 settled at screening (c1, c5), 3 sent
to checks (c2, c3, c4); police asked 2 (1 on time, 1 no answer), health 1 (late), education 1 (on
time); with checks median (8, 12) = 10.0 hours, without (2, 3) = 2.5; rescored 3: 1 raised, 1
lowered, 1 unchanged. Organisation A alone: 4 contacts, 3 decided, 1 settled, 2 sent; police 2,
health 1; medians 10.0 and 2.0; rescored 2, 1 raised. Every share is null: fewer than 10 behind it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tests.decision_support import RATIONALE
from tests.plans import sqlite_plans
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.record.tables import CheckRequest, CheckResponse, Contact, Decision, Organisation
from triage.reporting.checks_report import MIN_FOR_SHARE, checks_figures, share
from triage.services.decisions import keep_latest


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=timezone.utc)


def _contact(cid: str, org: Organisation, accepted: datetime, user_id: int, *, screening: int | None = None,
             level: int = 2) -> Contact:
    row = Contact(id=cid, organisation_id=org.id, partner_reference=cid, source_code="6", primary_concern="neglect",
                  received_at=accepted, accepted_at=accepted, status="awaiting_decision", payload={},
                  recommended_level=level, created_by_id=user_id,
                  screening_recommendation=None if screening is None else {"level": screening, "stage": "screening"})
    db.session.add(row)
    return row


def _check(cid: str, agency: str, user_id: int, due: datetime, answered: datetime | None = None) -> None:
    check = CheckRequest(contact_id=cid, agency=agency, why="why", reason="reason", consent="obtained", due_at=due,
                         requested_by_id=user_id, requested_at=due)
    db.session.add(check)
    db.session.flush()
    if answered is not None:
        db.session.add(CheckResponse(check_id=check.id, known=True, findings=[], late=answered > due,
                                     answered_by_id=user_id, answered_at=answered))


def _decide(cid: str, user_id: int, when: datetime, level: int = 2) -> None:
    row = Decision(contact_id=cid, level=level, rationale=RATIONALE, decided_by_id=user_id, decided_at=when)
    db.session.add(row)
    db.session.flush()
    keep_latest(db.session.get(Contact, cid), row)  # what services/decisions.py writes beside every decision


@pytest.fixture
def seeded(app, people):
    with app.app_context():
        a, b = Organisation(name="Org A"), Organisation(name="Org B")
        db.session.add_all([a, b])
        db.session.flush()
        u = people["practitioner"].id
        _contact("c1", a, at(16, 9), u)
        _contact("c2", a, at(16, 10), u, screening=2, level=3)
        _contact("c3", a, at(17, 9), u, screening=2, level=2)
        _contact("c4", b, at(18, 9), u, screening=3, level=2)
        _contact("c5", b, at(19, 9), u)
        _contact("c6", a, at(20, 9), u)
        _contact("c7", a, at(10, 9), u, screening=2, level=4)
        db.session.flush()
        _check("c2", "police", u, at(16, 14), answered=at(16, 12))
        _check("c2", "health", u, at(16, 14), answered=at(17, 9))
        _check("c3", "police", u, at(17, 13))
        _check("c4", "education", u, at(18, 13), answered=at(18, 11))
        _check("c7", "police", u, at(10, 13), answered=at(10, 11))
        _decide("c1", u, at(16, 11))
        _decide("c2", u, at(17, 10), level=3)
        _decide("c3", u, at(18, 13))
        _decide("c5", u, at(19, 12))
        _decide("c5", u, at(19, 15), level=1)  # a correction: the first decision is the one timed
        _decide("c7", u, at(10, 15), level=4)
        db.session.commit()
        return {"A": a.id, "B": b.id}


def _by_agency(figures: dict) -> dict:
    return {a["agency"]: (a["asked"], a["answered_on_time"], a["answered_late"], a["not_answered"])
            for a in figures["agencies"]}


def test_the_weeks_figures_match_the_count_by_hand(app, seeded):
    with app.app_context():
        f = checks_figures(*london_days(date(2026, 11, 16), date(2026, 11, 20)))
    assert (f["contacts"], f["decided"], f["settled_at_screening"], f["sent_to_checks"]) == (6, 4, 2, 3)
    assert _by_agency(f) == {"police": (2, 1, 0, 1), "health": (1, 0, 1, 0), "education": (1, 1, 0, 0),
                             "probation": (0, 0, 0, 0), "housing": (0, 0, 0, 0)}
    assert f["time_to_decision"] == {"with_checks": {"decided": 2, "median_working_hours": 10.0},
                                     "without_checks": {"decided": 2, "median_working_hours": 2.5}}
    assert f["level_changed"] == {"rescored": 3, "raised": 1, "lowered": 1, "unchanged": 1, "changed_share": None}


def test_a_check_asked_in_the_window_about_an_earlier_contact_is_not_the_windows(app, people, seeded):
    """c7 was accepted on the 10th; a check asked about it on the 17th is in no agency's figures for the 16th-20th."""
    with app.app_context():
        _check("c7", "probation", people["practitioner"].id, at(17, 9))
        db.session.commit()
        f = checks_figures(*london_days(date(2026, 11, 16), date(2026, 11, 20)))
        earlier = checks_figures(*london_days(date(2026, 11, 10), date(2026, 11, 20)))
    assert _by_agency(f)["probation"] == (0, 0, 0, 0)
    assert _by_agency(earlier)["probation"] == (1, 0, 0, 1) and _by_agency(earlier)["police"] == (3, 2, 0, 1)


def test_the_checks_by_agency_are_read_by_when_they_were_asked_not_from_every_contact(app, seeded):
    """A year's dashboard probed ``check_requests`` once per contact of the window (7.6 ms of some 50 at 40,000
    contacts on SQLite): the checks are found by their own time, and each one's contact by its id."""
    with app.app_context():
        plans = sqlite_plans(lambda: checks_figures(*london_days(date(2026, 11, 16), date(2026, 11, 20))),
                             "SELECT check_requests.agency")
    assert len(plans) == 1 and "ix_check_requests_requested_at (requested_at>?)" in plans[0], plans
    assert "ix_contacts_dashboard" not in plans[0], plans


def test_one_partners_figures_count_only_its_contacts(app, seeded):
    with app.app_context():
        f = checks_figures(*london_days(date(2026, 11, 16), date(2026, 11, 20)), organisation_id=seeded["A"])
    assert (f["contacts"], f["decided"], f["settled_at_screening"], f["sent_to_checks"]) == (4, 3, 1, 2)
    assert _by_agency(f)["police"] == (2, 1, 0, 1) and _by_agency(f)["education"] == (0, 0, 0, 0)
    assert f["time_to_decision"]["with_checks"]["median_working_hours"] == 10.0
    assert f["time_to_decision"]["without_checks"]["median_working_hours"] == 2.0
    assert (f["level_changed"]["rescored"], f["level_changed"]["raised"]) == (2, 1)


def test_small_numbers_give_counts_and_no_share(app, seeded):
    with app.app_context():
        f = checks_figures(*london_days(date(2026, 11, 16), date(2026, 11, 20)))
    assert f["min_for_share"] == MIN_FOR_SHARE == 10
    assert f["sent_to_checks_share"] is None and f["settled_at_screening_share"] is None
    assert all(a["on_time_share"] is None for a in f["agencies"])
    assert share(3, 9) is None and share(3, 10) == 0.3 and share(0, 0) is None


def test_an_empty_window_is_all_zeros(app, seeded):
    with app.app_context():
        f = checks_figures(*london_days(date(2020, 1, 1), date(2020, 1, 2)))
    assert (f["contacts"], f["decided"], f["sent_to_checks"]) == (0, 0, 0)
    assert f["time_to_decision"]["with_checks"] == {"decided": 0, "median_working_hours": None}


def test_the_dashboard_and_the_partner_report_carry_them(app, client, people, seeded):
    headers = people["manager"].headers
    board = client.get("/api/v1/reports/dashboard?from=2026-11-16&to=2026-11-20", headers=headers)
    assert board.status_code == 200 and board.get_json()["checks"]["sent_to_checks"] == 3
    report = client.get(f"/api/v1/reports/partners/{seeded['A']}?month=2026-11", headers=headers)
    assert report.status_code == 200
    # the partner report covers the whole month: c7 (10 November) counts too
    assert (report.get_json()["checks"]["contacts"], report.get_json()["checks"]["sent_to_checks"]) == (5, 3)
    from tests.web.conftest import sign_in

    sign_in(client, people["manager"])
    page = client.get("/reports/dashboard?from=2026-11-16&to=2026-11-20").get_data(as_text=True)
    assert "Screening and checks with other agencies" in page
    assert "3 of 6 contacts" in page and "10.0 working hours (2 decided)" in page and "%" not in page.split(
        'id="checks-figures"')[1].split("</table>")[0]
    page = client.get(f"/reports/partners/{seeded['A']}?month=2026-11").get_data(as_text=True)
    assert "Checks answered on time, by agency" in page

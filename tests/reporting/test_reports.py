"""Reports (triage/reports.py): every figure checked against one worked by hand.

The seeded month, November 2026 (Monday 16 to Friday 20; London is on GMT, so UTC = London):

| id | org    | team     | received  | rec | decided (at)       | reviewed (at)           | confirmed | gaps             | consent      | DA / DASH         |
|----|--------|----------|-----------|-----|--------------------|-------------------------|-----------|------------------|--------------|-------------------|
| p1 | police | Hub      | Mon 09:00 | 1   | 1 (Mon 15:00)      | confirmed (Tue 10:00)   | 1         | none             | obtained     | DA, done, standard|
| p2 | police | Hub      | Mon 10:00 | 2   | 3 (Wed 09:00) dep. | confirmed (Wed 12:00)   | 3         | consent, age     | not_sought   | DA, not done      |
| p3 | police | Response | Tue 09:00 | 2   | 2 (Tue 11:00)      | confirmed (Thu 12:00)   | 2         | age x2 children  | refused      | DA, done, high    |
| p4 | police | Response | Wed 09:00 | 2   | -                  | -                       | -         | narrative        | not_required | not DA            |
| s1 | school | -        | Thu 09:00 | 2   | 2 (Thu 10:00)      | changed to 3 (Thu 11:00)| 3         | none             | obtained     | not DA            |
| s2 | school | -        | Fri 08:00 | 3   | 2 (Fri 09:00) dep. | confirmed (Fri 10:00)   | 2         | narrative        | obtained     | not DA            |
| s3 | school | -        | Mon 09:30 | 1   | 1 (Mon 10:00)      | -                       | -         | narrative        | obtained     | not DA            |
| p5 | police | Hub      | 14 Oct    | 4   | 4                  | confirmed               | 4         | none             | obtained     | not DA            |

"Now" is Friday 20 November 12:00.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest

from tests.decision_support import decide, review, submit
from tests.factories import child
from triage.engine.guidance import load_guidance
from triage.engine.workdays import add_working_days, london_days
from triage.extensions import db
from triage.record.tables import Contact
from triage.reporting import reports
from triage.reporting.reports import ChildFacts, ContactFacts, DecisionFacts, ReviewFacts
from triage.settings import PROJECT_ROOT

LEVELS = load_guidance(PROJECT_ROOT / "config" / "thresholds.yaml").levels
POLICE, SCHOOL = 1, 2
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


def row(cid: str, org: int, received: datetime, rec: int, *, team: str | None = None, decided: tuple | None = None,
        reviewed: tuple | None = None, gaps: tuple = (), consent: str = "obtained", da: bool = False,
        dash_completed: bool | None = None, dash_risk: str | None = None, marac: tuple = (),
        marac_referral: bool = False, reason: str | None = None, model: str = "m1", children: int = 1) -> ContactFacts:
    """``decided`` = (level, at); ``reviewed`` = (outcome, level, at, rationale)."""
    decision = review_row = None
    if decided:
        decision = DecisionFacts(1, decided[0], rec, reason, marac_referral, decided[1], "worker@test.invalid")
    if reviewed:
        review_row = ReviewFacts(1, 1, reviewed[0], reviewed[1], reviewed[3], reviewed[2], "manager@test.invalid")
    return ContactFacts(
        id=cid, organisation_id=org, organisation="Police" if org == POLICE else "School",
        source_code="6" if org == POLICE else "2A", received_at=received,
        status="decided" if reviewed else "awaiting_review" if decided else "awaiting_decision",
        primary_concern="domestic_abuse" if da else "neglect", team=team,
        decision_due_at=add_working_days(received, 1), recommended_level=rec,
        marac_recommended=bool(marac), marac_criteria=marac, dash_risk=dash_risk, model_version=model,
        consent=consent, dash_completed=dash_completed, gap_fields=gaps,
        children=tuple(ChildFacts(f"{cid}-c{i}", 5, False, "female", "WBRI") for i in range(children)),
        first_decided_at=decided[1] if decided else None, first_reviewed_at=reviewed[2] if reviewed else None,
        decision=decision, review=review_row,
    )


OK = "The decision follows the guidance."
SEEDED = [
    row("p1", POLICE, at(16, 9), 1, team="Hub", decided=(1, at(16, 15)), reviewed=("confirmed", 1, at(17, 10), OK),
        da=True, dash_completed=True, dash_risk="standard"),
    row("p2", POLICE, at(16, 10), 2, team="Hub", decided=(3, at(18, 9)), reviewed=("confirmed", 3, at(18, 12), OK),
        gaps=("consent", "children.0.age_years"), consent="not_sought", da=True, dash_completed=False,
        marac=("potential_escalation",), marac_referral=True, reason="Three call-outs this month."),
    row("p3", POLICE, at(17, 9), 2, team="Response", decided=(2, at(17, 11)),
        reviewed=("confirmed", 2, at(19, 12), OK), gaps=("children.0.age_years", "children.1.age_years"),
        consent="refused", da=True, dash_completed=True, dash_risk="high",
        marac=("visible_high_risk", "potential_escalation"), children=2),
    row("p4", POLICE, at(18, 9), 2, team="Response", gaps=("narrative",), consent="not_required"),
    row("s1", SCHOOL, at(19, 9), 2, decided=(2, at(19, 10)),
        reviewed=("changed", 3, at(19, 11), "A pattern of concerns the school has not seen.")),
    row("s2", SCHOOL, at(20, 8), 3, decided=(2, at(20, 9)), reviewed=("confirmed", 2, at(20, 10), OK),
        gaps=("narrative",), reason="The school already supports the family.", model="m2"),
    row("s3", SCHOOL, at(16, 9, 30), 1, decided=(1, at(16, 10)), gaps=("narrative",)),
    row("p5", POLICE, at(14, 9, month=10), 4, team="Hub", decided=(4, at(14, 10, month=10)),
        reviewed=("confirmed", 4, at(14, 11, month=10), OK)),
]
NOVEMBER = [r for r in SEEDED if r.received_at.month == 11]


def police_report(team: str | None = None) -> dict:
    return reports.partner_report(SEEDED, organisation_id=POLICE, organisation="Police", month=date(2026, 11, 1),
                                  team=team, levels=LEVELS)


# --- the partner report ----------------------------------------------------------------------


def test_contacts_and_shares_at_each_confirmed_level():
    figures = police_report()["figures"]
    assert (figures["contacts"], figures["decided"], figures["awaiting_outcome"]) == (4, 3, 1)
    assert figures["levels"] == {"1": {"contacts": 1, "share": 0.3333}, "2": {"contacts": 1, "share": 0.3333},
                                 "3": {"contacts": 1, "share": 0.3333}, "4": {"contacts": 0, "share": 0.0}}
    assert (figures["referrals"], figures["referral_share"]) == (1, 0.3333)


def test_referral_threshold_share_is_compared_with_all_partners():
    everyone = police_report()["all_partners"]
    # November: 7 contacts, 5 confirmed (p1 p2 p3 s1 s2), 2 referrals (p2, s1); no gaps: p1, s1.
    assert (everyone["contacts"], everyone["decided"], everyone["referral_share"]) == (7, 5, 0.4)
    assert everyone["no_gaps_share"] == 0.2857


def test_information_quality_counts_each_kind_of_gap_once_per_contact():
    information = police_report()["figures"]["information"]
    assert (information["assessed"], information["no_gaps"], information["no_gaps_share"]) == (4, 1, 0.25)
    assert [(g["field"], g["contacts"], g["share"]) for g in information["common_gaps"]] == [
        ("children[*].age_years", 2, 0.5), ("consent", 1, 0.25), ("narrative", 1, 0.25)]
    assert information["common_gaps"][0]["label"] == "each child's age (or that the child is unborn)"


def test_consent_sought_and_dash_completed():
    figures = police_report()["figures"]
    assert figures["consent"] == {"counts": {"obtained": 1, "refused": 1, "not_required": 1, "not_sought": 1},
                                  "sought": 2, "sought_share": 0.5}
    assert figures["dash"] == {"domestic_abuse_contacts": 3, "completed": 2, "completed_share": 0.6667}


def test_six_month_trend_ends_with_the_reported_month():
    trend = police_report()["trend"]
    assert [p["month"] for p in trend] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert [p["contacts"] for p in trend] == [0, 0, 0, 0, 1, 4]
    assert trend[4]["referral_share"] == 1.0 and trend[5]["referral_share"] == 0.3333
    assert trend[0]["referral_share"] is None  # nothing to divide, never a misleading 0%


def test_a_team_report_counts_only_that_team_and_lists_the_teams():
    report = police_report(team="Hub")
    assert report["teams"] == ["Hub", "Response"]
    assert (report["figures"]["contacts"], report["figures"]["referral_share"]) == (2, 0.5)
    assert report["all_partners"]["contacts"] == 7


def test_partner_report_csv_opens_as_measure_and_value():
    rows = dict(csv.reader(io.StringIO(reports.partner_report_csv(police_report()))))
    assert rows["Contacts sent"] == "4"
    assert rows[f"Level 3 {LEVELS[3]['name']}: % of confirmed"] == "33.3"
    assert rows["All partners: met the referral threshold: % of confirmed"] == "40.0"
    assert rows["Trend 2026-06: met the referral threshold %"] == ""


def test_months_are_london_months():
    assert reports.parse_month("2026-03") == date(2026, 3, 1)
    start, end = reports.report_window(date(2026, 11, 1))
    assert start == datetime(2026, 5, 31, 23, 0, tzinfo=timezone.utc)  # 1 June 00:00 BST
    assert end == datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
    late_in_june = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)  # 1 July 00:30 in London
    assert reports.month_key(late_in_june) == "2026-07"


@pytest.mark.parametrize("text", ["2026-3", "11-2026", "2026/11", "2026-13", ""])
def test_a_month_that_is_not_yyyy_mm_is_refused(text):
    with pytest.raises(ValueError):
        reports.parse_month(text)


# The dashboard's hand-worked figures over this November are in test_dashboard.py: the same rows,
# stored and counted in SQL (triage/reporting/dashboard.py).


# --- reading the store -----------------------------------------------------------------------


def test_load_facts_reads_the_confirmed_outcome_from_the_stored_rows(app, client, people):
    contact_id = submit(client, people["partner"], consent="refused",
                        children=[child(), child(present_at_incident=None)])
    with app.app_context():
        stored = db.session.get(Contact, contact_id)
        level, gaps = stored.recommended_level, [g["field"] for g in stored.recommendation["information_gaps"]]
        received = stored.accepted_at  # the reports count from the front door's clock
    assert decide(client, people["practitioner"], contact_id, level=level).status_code == 201
    with app.app_context():
        (pending,) = reports.load_facts(*london_days(received.date(), received.date()))
        assert pending.confirmed_level is None and pending.first_decided_at is not None
    assert review(client, people["manager"], contact_id).status_code == 201
    with app.app_context():
        (facts,) = reports.load_facts(*london_days(received.date(), received.date()))
        assert facts.confirmed_level == level and facts.recommended_level == level
        assert list(facts.gap_fields) == gaps and "children.1.present_at_incident" in gaps
        assert (facts.consent, facts.dash_completed, facts.organisation) == ("refused", True, "Demo Police")
        assert [c.child_reference for c in facts.children] == [c["child_reference"] for c in stored.payload["children"]]
        assert facts.decision.decided_by == people["practitioner"].email
        assert reports.load_facts(*london_days(date(2020, 1, 1), date(2020, 1, 2))) == []

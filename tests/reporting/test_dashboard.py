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
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.decision_support import OVERRIDE, RATIONALE, REVIEW_RATIONALE, pin, submit
from tests.reporting import dashboard_reference
from tests.reporting.test_lean_loading import reference_facts
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.record.tables import Contact, Organisation, User
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


# --- the hand-worked November (test_reports.py's table), stored and counted in SQL -------------


@pytest.fixture
def november(app, people):
    """``test_reports.SEEDED`` stored as contacts, decided and reviewed through the services at their times."""
    from tests.reporting.test_reports import SEEDED

    with app.app_context():
        worker = db.session.get(User, people["practitioner"].id)
        manager = db.session.get(User, people["manager"].id)
        orgs = {}
        for facts in SEEDED:
            if facts.organisation_id not in orgs:
                org = Organisation(name=f"{facts.organisation} (November)")
                db.session.add(org)
                db.session.flush()
                orgs[facts.organisation_id] = org.id
            db.session.add(Contact(
                id=facts.id, organisation_id=orgs[facts.organisation_id], partner_reference=facts.id,
                source_code=facts.source_code, source_team=facts.team, primary_concern=facts.primary_concern,
                received_at=facts.received_at, accepted_at=facts.received_at, status="awaiting_decision",
                decision_due_at=facts.decision_due_at, recommended_level=facts.recommended_level,
                marac_recommended=facts.marac_recommended, dash_risk=facts.dash_risk, model_version=facts.model_version,
                payload={"consent": facts.consent}, created_by_id=worker.id,
                recommendation={"marac": {"recommended": facts.marac_recommended,
                                          "criteria": list(facts.marac_criteria)},
                                "information_gaps": [{"field": f} for f in facts.gap_fields or ()]}))
        db.session.commit()
        for facts in SEEDED:
            contact = db.session.get(Contact, facts.id)
            if facts.decision:
                d = facts.decision
                decisions.record_decision(contact, worker, level=d.level, rationale=RATIONALE, consent="obtained",
                                          override_reason=d.override_reason, marac_referral=d.marac_referral,
                                          now=d.decided_at)
            if facts.review:
                r = facts.review
                decisions.record_review(contact, manager, outcome=r.outcome,
                                        rationale=r.rationale if r.outcome == "changed" else REVIEW_RATIONALE,
                                        level=r.level if r.outcome == "changed" else None, now=r.reviewed_at)
    return app


def november_dashboard(app) -> dict:
    from tests.reporting.test_reports import LEVELS, NOW

    with app.app_context():
        return dashboard.dashboard_for(date(2026, 11, 16), date(2026, 11, 20), NOW, LEVELS)


def test_contacts_per_day_by_source(november):
    per_day = november_dashboard(november)["per_day"]
    assert per_day["sources"] == ["6", "2A"]
    assert [(d["date"], d["total"], d["by_source"]) for d in per_day["days"]] == [
        ("2026-11-16", 3, {"6": 2, "2A": 1}), ("2026-11-17", 1, {"6": 1, "2A": 0}),
        ("2026-11-18", 1, {"6": 1, "2A": 0}), ("2026-11-19", 1, {"6": 0, "2A": 1}),
        ("2026-11-20", 1, {"6": 0, "2A": 1})]



def test_the_days_are_built_as_the_answer_schema_would_dump_them(november):
    """The API answers the per-day rows as built (``schemas.AsBuilt``): they must be the schema's own dump."""
    from triage.api.schemas import DayCountSchema

    days = november_dashboard(november)["per_day"]["days"]
    assert DayCountSchema(many=True).dump(days) == days
    assert all(type(n) is int for d in days for n in (d["total"], *d["by_source"].values()))

def test_conversion_to_referral_overall_and_by_source(november):
    conversion = november_dashboard(november)["conversion"]
    assert (conversion["decided"], conversion["referrals"], conversion["share"]) == (5, 2, 0.4)
    assert conversion["by_source"] == {"2A": {"decided": 2, "referrals": 1, "share": 0.5},
                                       "6": {"decided": 3, "referrals": 1, "share": 0.3333}}


def test_decisions_and_reviews_within_deadline(november):
    timeliness = november_dashboard(november)["timeliness"]
    # Decided late: p2 (due Tue 10:00, decided Wed). Reviewed late: p3 (due Wed 11:00, reviewed Thu).
    assert timeliness["decisions"] == {"made": 6, "within_deadline": 5, "share": 0.8333,
                                       "undecided_past_deadline": 1, "median_working_hours": 2.0}
    assert timeliness["reviews"] == {"made": 5, "within_deadline": 4, "share": 0.8,
                                     "unreviewed_past_deadline": 1, "deadline_working_days": 1}


def test_departures_by_workers_and_changes_by_managers_with_their_reasons(november):
    departures = november_dashboard(november)["departures"]
    assert (departures["decisions"], departures["departures"], departures["share"]) == (6, 2, 0.3333)
    assert (departures["higher"], departures["lower"]) == (1, 1)
    assert [(i["contact_id"], i["recommended_level"], i["decided_level"], i["reason"]) for i in departures["items"]] == [
        ("s2", 3, 2, "The school already supports the family."), ("p2", 2, 3, "Three call-outs this month.")]
    assert (departures["reviews"], departures["changed_by_managers"], departures["changed_share"]) == (5, 1, 0.2)
    change = departures["changes"][0]
    assert (change["contact_id"], change["decided_level"], change["confirmed_level"]) == ("s1", 2, 3)
    assert change["reason"] == "A pattern of concerns the school has not seen."


def test_agreement_between_recommendation_and_confirmed_level_by_week_and_model(november):
    agreement = november_dashboard(november)["agreement"]
    # Confirmed: p1 (1=1), p2 (2 vs 3), p3 (2=2), s1 (2 vs 3), s2 (3 vs 2).
    assert (agreement["confirmed"], agreement["agreed"], agreement["share"]) == (5, 2, 0.4)
    assert agreement["by_week"] == [{"week_starting": "2026-11-16", "confirmed": 5, "agreed": 2, "share": 0.4}]
    assert agreement["by_model"] == {"m1": {"confirmed": 4, "agreed": 2, "share": 0.5},
                                     "m2": {"confirmed": 1, "agreed": 0, "share": 0.0}}


def test_marac_and_domestic_abuse_by_dash_band(november):
    board = november_dashboard(november)
    assert board["marac"] == {"recommended": 2, "referred": 1,
                              "criteria": {"potential_escalation": 2, "visible_high_risk": 1}}
    assert board["dash"] == {"domestic_abuse_contacts": 3, "bands": {
        "high": {"contacts": 1, "share": 0.3333}, "medium": {"contacts": 0, "share": 0.0},
        "standard": {"contacts": 1, "share": 0.3333}, "none": {"contacts": 1, "share": 0.3333}}}


def test_marac_criteria_count_on_contacts_of_any_primary_concern(november):
    """Domestic abuse among a contact's other concerns can meet a MARAC criterion (the demo has one)."""
    with november.app_context():
        s1 = db.session.get(Contact, "s1")  # neglect
        s1.recommendation = {**s1.recommendation, "marac": {"recommended": True, "criteria": ["repeat"]}}
        db.session.commit()
    assert november_dashboard(november)["marac"]["criteria"] == {"potential_escalation": 2, "repeat": 1,
                                                                 "visible_high_risk": 1}


def test_a_replaced_recommendation_sets_what_the_dashboard_reads_off_it(november):
    """Rescoring after checks replaces the recommendation: the MARAC facts follow the one in force."""
    with november.app_context():
        p3 = db.session.get(Contact, "p3")
        assert (p3.marac_recommended, p3.marac_criteria) == (True, "potential_escalation,visible_high_risk")
        p3.recommendation = {**p3.recommendation, "marac": {"recommended": False, "criteria": []}}
        db.session.commit()
        assert (p3.marac_recommended, p3.marac_criteria) == (False, None)
    assert november_dashboard(november)["marac"] == {"recommended": 1, "referred": 1,
                                                      "criteria": {"potential_escalation": 1}}


def test_migration_0013_fills_in_the_marac_facts_from_the_recommendation_in_force(november):
    """Downgraded past 0013 and upgraded again, every contact's MARAC facts are what the service keeps."""
    from flask_migrate import downgrade, upgrade

    from triage.app import MIGRATIONS

    columns = (Contact.id, Contact.marac_criteria, Contact.marac_recommended)
    with november.app_context():
        kept = db.session.execute(select(*columns).order_by(Contact.id)).all()
        assert {row.marac_criteria for row in kept} >= {None, "potential_escalation",
                                                       "potential_escalation,visible_high_risk"}
        db.session.execute(update(Contact).values(marac_recommended=False))  # as rescoring used to leave it
        db.session.commit()
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="0012_gap_count")
        upgrade(directory=MIGRATIONS)
        db.session.remove()
        db.engine.dispose()
        assert db.session.execute(select(*columns).order_by(Contact.id)).all() == kept


def _per_day(first: date, days: int) -> dict:
    """A dashboard's ``per_day`` of ``days`` days from ``first``: one police contact a day, two on Mondays."""
    rows = []
    for n in range(days):
        day = date.fromordinal(first.toordinal() + n)
        police = 2 if day.weekday() == 0 else 1
        rows.append({"date": day.isoformat(), "total": police + 1, "by_source": {"police": police, "school": 1}})
    return {"sources": ["police", "school"], "days": rows}


def test_up_to_two_months_demand_is_shown_day_by_day():
    shown = dashboard.demand(_per_day(date(2026, 10, 3), dashboard.DAILY_UP_TO))
    assert shown["unit"] == "day" and len(shown["rows"]) == dashboard.DAILY_UP_TO
    assert shown["rows"][0] == {"label": "2026-10-03", "total": 2, "by_source": {"police": 1, "school": 1}}


def test_a_longer_window_is_shown_by_week_from_monday_and_short_weeks_say_so():
    per_day = _per_day(date(2025, 12, 3), 366)  # a Wednesday to a Thursday
    shown = dashboard.demand(per_day)
    assert shown["unit"] == "week" and len(shown["rows"]) == 53
    first, second, last = shown["rows"][0], shown["rows"][1], shown["rows"][-1]
    assert first == {"label": "Week of 2025-12-01 (5 days)", "total": 10, "by_source": {"police": 5, "school": 5}}
    assert second == {"label": "Week of 2025-12-08", "total": 15, "by_source": {"police": 8, "school": 7}}
    assert last["label"] == "Week of 2026-11-30 (4 days)"
    assert sum(row["total"] for row in shown["rows"]) == sum(d["total"] for d in per_day["days"])


# The median's middle values, picked from each day's packed hours (issue 15 finding 5).
_HOURS = st.lists(st.floats(min_value=0, max_value=500, allow_nan=False), max_size=12)


@given(st.lists(_HOURS, max_size=6))
def test_the_middle_of_every_days_hours_is_the_middle_of_them_sorted_together(per_day):
    days = [dashboard.unpack_hours(dashboard.pack_hours(sorted(hours))) for hours in per_day]
    everything = sorted(h for hours in per_day for h in hours)
    made = len(everything)
    expected = everything[(made - 1) // 2: made // 2 + 1] if made else []
    assert dashboard._decided_middle(days) == expected


def test_packed_hours_are_exact():
    hours = [0.0, 1 / 3, 2.0016666666666668, 123.45]
    assert dashboard.unpack_hours(dashboard.pack_hours(hours)).tolist() == hours

"""The board pack (reporting/board_pack.py): every figure checked against a hand count.

Two six-week periods (``previous=1``): A, 21 September to 1 November 2026, and B, from Monday
2 November to 13 December 2026. "Now" is 14 December.

Period A: ten school contacts d0-d9, each recommended, decided, reviewed and confirmed at level 2,
on time, complete and sent on time.

Period B: twelve contacts c0-c11 accepted 3 to 14 November at 09:00 (c0-c5 police, c0-c3 about
domestic abuse; c6-c11 school):

| id  | rec | decided (latest) | floor | confirmed | on time?          | gaps    | other                          |
|-----|-----|------------------|-------|-----------|-------------------|---------|--------------------------------|
| c0  | 4   | 4                | 1     | 4         | yes, review yes   | consent | re-referral; police check on time; audited 4 good |
| c1  | 3   | 3                | 1     | 3         | yes, yes          | consent | police check answered late; audited 2, requires improvement |
| c2  | 3   | 2 (departs)      | 3     | 2         | yes, yes          |         | below the floor                 |
| c3  | 3   | 3                | 1     | 3         | yes, yes          |         |                                 |
| c4  | 1   | 1                | 1     | 1         | yes, yes          |         | sent 5 days after recording (late); audited 1 good |
| c5  | 2   | 2                | 1     | 2         | decision late     |         |                                 |
| c6  | 3   | 3                | 1     | 3         | decision late     |         | health check past due, unanswered; audited 3 outstanding |
| c7  | 1   | 2 (departs)      | 1     | 2         | yes, yes          |         | health check not yet due        |
| c8  | 1   | 1                | 1     | 1         | yes, yes          |         |                                 |
| c9  | 3   | 3                | 1     | 3         | yes, review late  |         |                                 |
| c10 | 2   | 2                | 1     | -         | yes, not reviewed |         |                                 |
| c11 | 2   | -                | -     | -         | -                 |         |                                 |
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from triage.reporting import board_pack as bp
from triage.reporting.reports import ChildFacts, ContactFacts, DecisionFacts, ReviewFacts

NOW = datetime(2026, 12, 14, 9, 0, tzinfo=timezone.utc)
B = date(2026, 11, 2)


def contact(cid, accepted, *, rec, level=None, confirmed=None, police=False, da=False, late_decision=False,
            late_review=False, gaps=(), sent_late=False, floor=1, checks=(), audit=None, rereferral=False) -> bp.BoardRow:
    decided_at = accepted + (timedelta(days=3) if late_decision else timedelta(hours=2))
    reviewed_at = decided_at + (timedelta(days=5) if late_review else timedelta(hours=1))
    decision = DecisionFacts(1, level, rec, None, False, decided_at, "w@test.invalid") if level else None
    review = ReviewFacts(1, 1, "confirmed", confirmed, "ok", reviewed_at, "m@test.invalid") if confirmed else None
    facts = ContactFacts(
        id=cid, organisation_id=1 if police else 2, organisation="Police" if police else "School",
        source_code="6" if police else "2A", received_at=accepted - timedelta(days=5 if sent_late else 0),
        accepted_at=accepted, status="decided" if confirmed else "awaiting_review" if level else "awaiting_decision",
        primary_concern="domestic_abuse" if da else "neglect", decision_due_at=accepted + timedelta(days=1),
        recommended_level=rec, gap_fields=tuple(gaps), children=(ChildFacts(f"{cid}-k", 5, False, "female", "WBRI"),),
        first_decided_at=decided_at if level else None, first_reviewed_at=reviewed_at if confirmed else None,
        decision=decision, review=review)
    return bp.BoardRow(facts, floor if level else None, tuple(checks), audit, rereferral)


def check(agency, requested, *, answered=None, late=None, due_days=1):
    return bp.CheckFacts(agency, requested + timedelta(days=due_days), requested, answered, late)


def seeded() -> list[bp.BoardRow]:
    rows = [contact(f"d{i}", datetime(2026, 9, 22, 9, tzinfo=timezone.utc) + timedelta(days=i), rec=2, level=2, confirmed=2, floor=None)
            for i in range(10)]
    day = [datetime(2026, 11, 3 + i, 9, tzinfo=timezone.utc) for i in range(12)]
    rows += [
        contact("c0", day[0], rec=4, level=4, confirmed=4, police=True, da=True, gaps=("consent",), rereferral=True,
                checks=[check("police", day[0], answered=day[0] + timedelta(hours=3), late=False)],
                audit=bp.AuditFacts(4, 4, "good")),
        contact("c1", day[1], rec=3, level=3, confirmed=3, police=True, da=True, gaps=("consent",),
                checks=[check("police", day[1], answered=day[1] + timedelta(days=2), late=True)],
                audit=bp.AuditFacts(3, 2, "requires_improvement")),
        contact("c2", day[2], rec=3, level=2, confirmed=2, police=True, da=True, floor=3),
        contact("c3", day[3], rec=3, level=3, confirmed=3, police=True, da=True),
        contact("c4", day[4], rec=1, level=1, confirmed=1, police=True, sent_late=True, audit=bp.AuditFacts(1, 1, "good")),
        contact("c5", day[5], rec=2, level=2, confirmed=2, police=True, late_decision=True),
        contact("c6", day[6], rec=3, level=3, confirmed=3, late_decision=True,
                checks=[check("health", day[6])], audit=bp.AuditFacts(3, 3, "outstanding")),
        contact("c7", day[7], rec=1, level=2, confirmed=2, checks=[check("health", NOW - timedelta(hours=1))]),
        contact("c8", day[8], rec=1, level=1, confirmed=1),
        contact("c9", day[9], rec=3, level=3, confirmed=3, late_review=True),
        contact("c10", day[10], rec=2, level=2),
        contact("c11", day[11], rec=2),
    ]
    return rows


def pack() -> dict:
    return bp.board_pack(seeded(), B, NOW, previous=1)


def figure(key: str) -> dict:
    return next(f for f in pack()["figures"] if f["key"] == key)


def counts(key: str) -> list[tuple[int, int]]:
    return [(p["count"], p["of"]) for p in figure(key)["points"]]


def test_periods_are_six_weeks_back_to_back():
    spans = bp.periods(B, 2)
    assert [(p.first, p.last) for p in spans] == [(date(2026, 8, 10), date(2026, 9, 20)),
                                                   (date(2026, 9, 21), date(2026, 11, 1)),
                                                   (date(2026, 11, 2), date(2026, 12, 13))]


def test_every_figure_matches_the_hand_count():
    assert pack()["demand"] == [10, 12]
    expected = {
        "police_da": [(0, 10), (4, 12)],
        "conversion": [(0, 10), (5, 10)],  # c0 c1 c3 c6 c9 of the ten confirmed
        "rereferrals": [(0, 0), (1, 5)],
        "inappropriate": [(0, 0), (1, 3)],  # c1, of c0 c1 c6
        "decisions_on_time": [(10, 10), (9, 11)],  # c5 and c6 late
        "reviews_on_time": [(10, 10), (9, 10)],  # c9 late
        "checks_on_time": [(0, 0), (1, 3)],  # c0 on time; c1 late; c6 past due; c7 not yet due (left out)
        "missing_information": [(0, 10), (2, 12)],
        "late_notifications": [(0, 10), (1, 12)],
        "departures": [(0, 10), (2, 11)],  # c2 and c7
        "below_floor": [(0, 0), (1, 11)],  # c2; period A's decisions had no floor recorded
        "model_agreement": [(10, 10), (8, 10)],  # c2 and c7 confirmed at another level
        "good_or_better": [(0, 0), (3, 4)],
    }
    assert {key: counts(key) for key in expected} == expected


def test_tables_by_source_partner_agency_and_grade():
    tables = pack()["tables"]
    assert {r["name"]: r["values"] for r in tables["demand_by_source"]["rows"]} == {"Police": [0, 6], "School": [10, 6]}
    missing = {r["name"]: [(v["count"], v["of"]) for v in r["values"]] for r in tables["missing_by_partner"]["rows"]}
    assert missing == {"Police": [(0, 0), (2, 6)], "School": [(0, 10), (0, 6)]}
    late = {r["name"]: [(v["count"], v["of"]) for v in r["values"]] for r in tables["late_by_partner"]["rows"]}
    assert late["Police"] == [(0, 0), (1, 6)]
    agencies = {r["name"]: [(v["count"], v["of"]) for v in r["values"]] for r in tables["checks_by_agency"]["rows"]}
    assert agencies == {"Health": [(0, 0), (0, 1)], "Police": [(0, 0), (1, 2)]}
    grades = {r["name"]: r["values"] for r in tables["grades"]["rows"]}
    assert grades == {"Outstanding": [0, 1], "Good": [0, 2], "Requires improvement": [0, 1], "Inadequate": [0, 0]}


def test_no_percentage_of_fewer_than_ten():
    assert figure("checks_on_time")["points"][-1]["percent"] is None  # 1 of 3
    assert figure("police_da")["points"][-1]["percent"] == 33.3  # 4 of 12
    assert figure("conversion")["points"][-1]["percent"] == 50.0  # 5 of 10
    assert bp.share_text(bp.share(1, 3)) == "1 of 3"
    assert bp.share_text(bp.share(4, 12)) == "33.3% (4 of 12)"
    assert "1 of 3" in bp.share_chart(figure("checks_on_time")) and "%" not in bp.share_chart(figure("good_or_better"))


def test_the_summary_says_what_improved_what_did_not_and_what_is_too_thin():
    verdicts = {f["key"]: f["verdict"]["kind"] for f in pack()["figures"]}
    assert verdicts["decisions_on_time"] == "worse"  # 100% -> 81.8%
    assert verdicts["reviews_on_time"] == "worse"  # 100% -> 90%
    assert verdicts["missing_information"] == "worse"  # 0% -> 16.7%
    assert verdicts["late_notifications"] == "worse"  # 0% -> 8.3%: 8 points
    assert verdicts["checks_on_time"] == "few" and verdicts["good_or_better"] == "few"
    assert verdicts["departures"] == "moved"  # neither better nor worse in itself
    lines = pack()["summary"]
    assert lines[0] == "Demand: 12 contacts, up 20% on the 10 in the period before."
    assert any(line.startswith("Did not improve") and "decisions made on time (100% (10 of 10) before, "
               "81.8% (9 of 11) now)" in line for line in lines)
    assert any(line.startswith("Too few to compare") and "checks answered on time" in line for line in lines)
    assert not any(line.startswith("Improved") for line in lines)


def test_an_improvement_is_named_as_one():
    better = bp.verdict(bp.share(5, 10), bp.share(9, 10), "up")
    assert better["kind"] == "improved" and better["word"] == "improved (up 40 points)"
    assert bp.verdict(bp.share(5, 10), bp.share(9, 10), "down")["kind"] == "worse"
    assert bp.verdict(bp.share(5, 10), bp.share(5, 11), "up")["kind"] == "same"
    assert bp.verdict(bp.share(1, 9), bp.share(9, 10), "up")["kind"] == "few"
    assert bp._demand_words([1, 42]) == "42 contacts (1 in the period before: too few for a percentage change)"

"""What if (issue 16): a draft that raises one indicator's level, replayed over a seeded window.

Every figure in the report is checked against a count made here, contact by contact: the floors
from the seed's design (which contacts meet the indicator), the levels, next steps and checks from
the engine's single-contact path (``Recommender.recommend``) with the history written out by hand,
and the decisions this test made. Replaying the guidance in force changes nothing. Nothing but the
run's own event is written.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.factories import child, contact_payload
from triage.engine.guidance import load_guidance
from triage.engine.history import KnownHistory
from triage.engine.recommend import Recommender
from triage.extensions import db
from triage.record.tables import Contact, Event, User
from triage.services import decisions, intake, whatif
from triage.services.children import known_history
from triage.settings import PROJECT_ROOT

DEFAULT = PROJECT_ROOT / "config" / "thresholds.yaml"
NHS = ("9434765919", "4010232137")
START = datetime(2026, 9, 30, 23, 0, tzinfo=timezone.utc)  # 1 October 2026, London
END = datetime(2026, 10, 31, 23, 0, tzinfo=timezone.utc)
RATIONALE = ("Police attended a verbal argument; no injuries, the child was asleep and the mother "
             "has support from her sister nearby.")
OVERRIDE = "The family already works with the school's early help worker, who saw them this week."


def raised_draft(tmp_path):
    """The guidance in force with L2_DA_CHILD_IN_HOUSEHOLD raised to level 3 (renamed to match)."""
    text = DEFAULT.read_text(encoding="utf-8")
    old = "  - id: L2_DA_CHILD_IN_HOUSEHOLD\n    level: 2\n"
    assert old in text
    path = tmp_path / "draft.yaml"
    path.write_text(text.replace(old, "  - id: L3_DA_CHILD_IN_HOUSEHOLD\n    level: 3\n")
                    .replace('guidance_version: "2026.1"', 'guidance_version: "2026.2 draft"'), encoding="utf-8")
    return path


def _da(yes: int, **kw) -> dict:
    answers = {str(q): ("yes" if q <= yes else "no") for q in range(1, 28)}
    return contact_payload(domestic_abuse={"dash": {"version": "police-27", "officer_grading": "standard",
                                                    "answers": answers},
                                           "incidents_12m": 1, "weapon_used": False, "strangulation": False,
                                           "perpetrator_in_household": True}, **kw)


def _other(**kw) -> dict:
    payload = contact_payload(primary_concern="emotional_abuse", **kw)
    payload.pop("domestic_abuse")
    return payload


# (days into the window, payload maker, DA indicator met, NHS number index or None)
SEED = [
    (-20, lambda: _da(3, children=[child(identifiers={"nhs_number": NHS[0]})]), True, 0),  # before the window
    (2, lambda: _da(2), True, None),
    (3, lambda: _other(), False, None),
    (5, lambda: _da(4, children=[child(identifiers={"nhs_number": NHS[0]})]), True, 0),  # known child
    (8, lambda: _da(9, children=[child(age_years=1)]), True, None),
    (9, lambda: _other(children=[child(age_years=15)]), False, None),
    (12, lambda: _da(5, children=[child(identifiers={"nhs_number": NHS[1]})]), True, 1),
    (15, lambda: _other(children=[child(identifiers={"nhs_number": NHS[1]})]), False, 1),  # known child
    (20, lambda: _da(12), True, None),
    (25, lambda: _other(consent="obtained"), False, None),
    (40, lambda: _da(4), True, None),  # after the window
]


@pytest.fixture
def seeded(app, people, make_person):
    return seed_window(app, people, make_person)


def seed_window(app, people, make_person):
    """The seed stored through intake (as partners sent it), then some decisions (made afterwards)."""
    school = make_person("partner", organisation="Riverside Primary")
    with app.app_context():
        recommender = app.extensions["recommender"]
        police = db.session.get(User, people["partner"].id)
        school_user = db.session.get(User, school.id)
        rows = []
        for days, make, da, nhs in SEED:
            at = START + timedelta(days=days, hours=10)
            payload = make()
            if not da:
                payload["source"] = {"code": "2A", "organisation": "Riverside Primary", "team": "Safeguarding"}
            payload["received_at"] = at.isoformat()
            payload.pop("incident_at", None)
            contact, _ = intake.submit(payload, police if da else school_user, recommender, now=at)
            rows.append({"id": contact.id, "at": at, "da": da, "nhs": nhs, "payload": contact.payload,
                         "source": payload["source"]["code"], "partner": payload["source"]["organisation"],
                         "in_window": START <= at < END})
        practitioner = db.session.get(User, people["practitioner"].id)
        decided = {}
        for i, level in ((1, 2), (3, 2), (4, 3), (5, 1), (6, 2)):  # window rows; decided after all arrived
            contact = db.session.get(Contact, rows[i]["id"])
            override = None if level == contact.recommended_level else OVERRIDE
            decisions.record_decision(contact, practitioner, level=level, rationale=RATIONALE,
                                      override_reason=override, consent="obtained")
            decided[rows[i]["id"]] = level
        return rows, decided


def _history_by_hand(rows: list[dict], i: int) -> KnownHistory:
    """What the store held about row i's children when it arrived: earlier contacts, none decided yet."""
    nhs = rows[i]["nhs"]
    earlier = [r for r in rows[:i] if nhs is not None and r["nhs"] == nhs]
    return KnownHistory(earlier_contacts=len(earlier), contacts_12m=len(earlier), referrals_12m=0,
                        marac_12m=False, highest_level=None)


def _replay(app, draft_path, **kw):
    with app.app_context():
        recommender = app.extensions["recommender"]
        before = db.session.scalar(select(func.count()).select_from(Event))
        seen = []
        report = whatif.replay(load_guidance(draft_path), recommender.model, start=START, end=END,
                               in_force=recommender.guidance, served_model=recommender.model.version,
                               progress=lambda done, total: seen.append((done, total)), chunk=3)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Event)) == before  # nothing written
        return report, seen


def test_the_guidance_in_force_changes_nothing(app, seeded):
    rows, decided = seeded
    report, seen = _replay(app, DEFAULT)
    window = [r for r in rows if r["in_window"]]
    assert (report["contacts"], report["scored"], report["scored_under_other_versions"]) == (len(window),) * 2 + (0,)
    assert report["floors"]["changed"] == report["recommendations"]["changed"] == report["next_steps"]["changed"] == 0
    assert report["checks"]["difference"] == 0
    assert report["referral_rate"]["now"] == report["referral_rate"]["draft"]
    assert report["moved"] == [] and report["below_new_floor"] == [] and report["draft_below_floor"] == []
    assert all(t["floors_changed"] == t["recommendations_changed"] == 0 for t in report["by_partner"].values())
    assert seen[0] == (0, len(window)) and seen[-1] == (len(window), len(window)) and len(seen) == 1 + 3  # chunks of 3


def test_a_raised_indicator_moves_exactly_the_contacts_a_hand_count_finds(app, seeded, tmp_path):
    rows, decided = seeded
    draft_path = raised_draft(tmp_path)
    report, _ = _replay(app, draft_path)

    with app.app_context():
        model = app.extensions["recommender"].model
        by_hand = Recommender(guidance=load_guidance(draft_path), model=model)
        stored = {c.id: c.recommendation for c in db.session.scalars(select(Contact))}
        # The as-of history, not today's: today the record also holds the decisions made since.
        assert known_history([], before=END) == KnownHistory()
    window = [(i, r) for i, r in enumerate(rows) if r["in_window"]]
    draft = {}
    for i, r in window:
        rec = by_hand.recommend(r["payload"], received_at=r["at"], history=_history_by_hand(rows, i), now=r["at"])
        draft[r["id"]] = rec
    n = len(window)
    da = [r for _, r in window if r["da"]]

    # Floors: exactly the contacts meeting the raised indicator, each from 2 to 3.
    assert all(stored[r["id"]]["floor"]["level"] == 2 for r in da)
    assert all(draft[r["id"]]["floor"]["level"] == 3 for r in da)
    assert report["floors"]["changed"] == report["floors"]["raised"] == len(da) == 5
    assert report["floors"]["lowered"] == 0
    floors_now = Counter(stored[r["id"]]["floor"]["level"] for _, r in window)
    floors_draft = Counter(draft[r["id"]]["floor"]["level"] for _, r in window)
    assert {k: v["now"] for k, v in report["floors"]["by_level"].items()} == {str(k): floors_now[k] for k in range(5)}
    assert {k: v["draft"] for k, v in report["floors"]["by_level"].items()} == {
        str(k): floors_draft[k] for k in range(5)}

    # Recommendations, next steps and checks, contact by contact through the single-contact path.
    now_level = {r["id"]: stored[r["id"]]["level"] for _, r in window}
    new_level = {r["id"]: draft[r["id"]]["level"] for _, r in window}
    changed = [cid for cid in now_level if now_level[cid] != new_level[cid]]
    assert report["recommendations"]["changed"] == len(changed) > 0
    assert report["recommendations"]["raised"] == sum(new_level[c] > now_level[c] for c in changed)
    assert report["recommendations"]["lowered"] == sum(new_level[c] < now_level[c] for c in changed)
    assert report["recommendations"]["by_level"] == {
        str(k): {"now": Counter(now_level.values())[k], "draft": Counter(new_level.values())[k]} for k in (1, 2, 3, 4)}
    steps_now = Counter(stored[r["id"]]["next_step"] for _, r in window)
    steps_draft = Counter(draft[r["id"]]["next_step"] for _, r in window)
    assert report["next_steps"]["now"] == {s: steps_now[s] for s in ("refer", "checks", "decide")}
    assert report["next_steps"]["draft"] == {s: steps_draft[s] for s in ("refer", "checks", "decide")}
    assert report["next_steps"]["changed"] == sum(
        stored[r["id"]]["next_step"] != draft[r["id"]]["next_step"] for _, r in window)
    checks_now = sum(len(stored[r["id"]]["checks"]) for _, r in window)
    checks_draft = sum(len(draft[r["id"]]["checks"]) for _, r in window)
    assert (report["checks"]["now"], report["checks"]["draft"]) == (checks_now, checks_draft)
    assert report["checks"]["difference"] == checks_draft - checks_now

    # Referral rates: recommended level 3 or 4, and what people decided.
    assert report["referral_rate"]["now"] == round(sum(v >= 3 for v in now_level.values()) / n, 4)
    assert report["referral_rate"]["draft"] == round(sum(v >= 3 for v in new_level.values()) / n, 4)
    assert report["referral_rate"]["decided"] == round(sum(v >= 3 for v in decided.values()) / len(decided), 4)
    assert report["decided"] == {
        "contacts": len(decided),
        "as_recommended_now": sum(level == now_level[c] for c, level in decided.items()),
        "as_draft_recommends": sum(level == new_level[c] for c, level in decided.items())}

    # By source and by partner: the police sent the DA contacts, the school the rest.
    police, school = report["by_partner"]["Demo Police"], report["by_partner"]["Riverside Primary"]
    assert (police["contacts"], police["floors_changed"]) == (5, 5)
    assert (school["contacts"], school["floors_changed"], school["recommendations_changed"]) == (4, 0, 0)
    assert police["recommendations_changed"] == len(changed)
    assert report["by_source"]["6"] == police and report["by_source"]["2A"] == school

    # Decided contacts a manager should look at: decisions now below the draft's floor (level 3).
    below = sorted(c for c, level in decided.items() if level < new_floor(draft, c))
    assert sorted(r["contact_id"] for r in report["below_new_floor"]) == below and below
    assert report["draft_below_floor"] == []  # the draft only raises
    moved = {r["id"] for _, r in window if r["da"]} | set(changed) | set(below)
    assert {r["contact_id"] for r in report["moved"]} == moved


def new_floor(draft: dict, contact_id: str) -> int:
    return draft[contact_id]["floor"]["level"]


def test_the_history_is_the_record_as_it_stood_when_each_contact_arrived(app, seeded):
    rows, decided = seeded
    with app.app_context():
        contacts = [c for chunk in whatif.window_rows(START, END) for c in chunk]
        histories = whatif.histories_as_of(contacts, whatif._Links.load())
        by_id = dict(zip([c.id for c in contacts], histories, strict=True))
        for i, r in enumerate(rows):
            if r["in_window"]:
                assert by_id[r["id"]] == _history_by_hand(rows, i), i
        # Row 7's child was decided (row 6, level 2) after row 7 arrived: today's history says so.
        child_ids = [ch.child_id for ch in db.session.get(Contact, rows[7]["id"]).children]
        today = known_history(child_ids, before=END, exclude=rows[7]["id"])
        assert today.highest_level == 2 and by_id[rows[7]["id"]].highest_level is None


def test_a_window_that_ends_before_it_starts_is_refused(app):
    with app.app_context():
        recommender = app.extensions["recommender"]
        with pytest.raises(whatif.Invalid):
            whatif.replay(recommender.guidance, recommender.model, start=END, end=START,
                          in_force=recommender.guidance, served_model="x")


def test_a_link_counts_from_when_it_was_made_and_stops_when_undone(app, seeded, people):
    from triage.record.tables import Child, ChildLink, ChildUnlink

    rows, _ = seeded
    with app.app_context():
        def child_of(i):
            return db.session.scalar(select(Child.child_id).where(Child.contact_id == rows[i]["id"]))

        # Row 1 (day 2) and row 5 (day 9) are about different records; linked on day 5 (in force for row 5),
        # row 2 (day 3) and row 9 (day 25) linked on day 10 and undone on day 20 (gone by row 9).
        made = ChildLink(child_id=child_of(5), linked_child_id=child_of(1), reason="Same child, same school.",
                         linked_by_id=people["practitioner"].id, linked_at=START + timedelta(days=5))
        undone = ChildLink(child_id=child_of(9), linked_child_id=child_of(2), reason="Thought to be one child.",
                           linked_by_id=people["practitioner"].id, linked_at=START + timedelta(days=10))
        db.session.add_all([made, undone])
        db.session.flush()
        db.session.add(ChildUnlink(link_id=undone.id, reason="Different children after all.",
                                   unlinked_by_id=people["practitioner"].id, unlinked_at=START + timedelta(days=20)))
        db.session.commit()
        contacts = [c for chunk in whatif.window_rows(START, END) for c in chunk]
        by_id = dict(zip([c.id for c in contacts], whatif.histories_as_of(contacts, whatif._Links.load()),
                         strict=True))
        assert by_id[rows[5]["id"]].earlier_contacts == 1
        assert by_id[rows[9]["id"]].earlier_contacts == 0
        assert by_id[rows[1]["id"]].earlier_contacts == 0  # the link came after it

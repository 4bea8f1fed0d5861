"""Feedback to partners (triage/feedback.py): what the officer reads about each contact.

The builder is checked against the council's real guidance file, so a test fails if the
feedback stops citing the guidance; the store functions are checked end to end through the
decisions module: nothing before a manager's review, never the front door's own notes.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from tests.decision_support import decide, review, submit
from tests.factories import child, contact_payload
from tests.plans import sqlite_plans
from triage.engine.errors import Conflict
from triage.engine.guidance import load_guidance
from triage.extensions import db
from triage.record import audit
from triage.record.tables import Contact, Event, FeedbackRelease, User
from triage.services import feedback
from triage.services.feedback import FeedbackInput, build_feedback
from triage.settings import PROJECT_ROOT

GUIDANCE = load_guidance(PROJECT_ROOT / "config" / "thresholds.yaml")
RECEIVED = datetime(2026, 11, 20, 8, 5, tzinfo=timezone.utc)
LONG_NARRATIVE = ("Officers attended after a neighbour heard shouting; both adults were calm, the child "
                  "was asleep upstairs and the mother said she felt safe at home tonight.")
SECRET_RATIONALE = "INTERNAL-RATIONALE: the worker's own reasoning, which only the front door may read."
SECRET_STEPS = "INTERNAL-NEXT-STEPS: call the health visitor on Monday."
SECRET_REVIEW = "INTERNAL-REVIEW: the manager's oversight note, never for the partner to read."


def feedback_for(payload: dict, level: int, *, marac_referral: bool = False, stored: bool = True) -> dict:
    """Feedback as it would be built for ``payload`` at ``level``, with the recommendation stored
    at intake (or none, as when the recommendation step failed)."""
    result = GUIDANCE.evaluate(payload, received_at=RECEIVED)
    recommendation = {"indicators": result.indicators, "information_gaps": result.information_gaps,
                      "dash": result.dash, "marac": result.marac} if stored else None
    return build_feedback(FeedbackInput("c-1", payload["partner_reference"], RECEIVED, payload,
                                        recommendation, level, marac_referral), GUIDANCE)


def complete_payload(**overrides) -> dict:
    """A police domestic abuse contact with nothing missing."""
    payload = contact_payload(**({"consent": "obtained", "narrative": LONG_NARRATIVE} | overrides))
    payload["source"]["referrer"] = {"name": "PC 4471", "email": "pc4471@police.example"}
    payload["domestic_abuse"]["incidents_12m"] = 1
    return payload


def indicator(rule_id: str) -> dict:
    rule = next(r for r in GUIDANCE.config.indicators if r.id == rule_id)
    return {"id": rule.id, "level": rule.level, "text": rule.text}


# --- the builder -----------------------------------------------------------------------------


def test_outcome_is_named_and_described_by_the_councils_guidance():
    doc = feedback_for(complete_payload(), 2)
    assert (doc["level"], doc["level_name"]) == (2, GUIDANCE.levels[2]["name"])
    assert doc["level_description"] == GUIDANCE.levels[2]["description"]
    assert doc["referral"] is False
    assert feedback_for(complete_payload(), 3)["referral"] is True


def test_reason_cites_the_indicators_met_and_lists_the_next_levels_not_met():
    doc = feedback_for(complete_payload(), 2)
    met = indicator("L2_DA_CHILD_IN_HOUSEHOLD")
    assert met in doc["indicators_met"]
    assert met["text"] in doc["reason"]
    assert "did not meet level 3" in doc["reason"]
    level_3_rules = {r.id for r in GUIDANCE.config.indicators if r.level == 3 and r.floor}
    assert {i["id"] for i in doc["indicators_not_met"]} == level_3_rules
    assert all(i["level"] == 3 for i in doc["indicators_not_met"])


def test_a_contact_meeting_no_indicator_is_told_so_and_pointed_to_universal_services():
    payload = complete_payload(primary_concern="behaviour")
    del payload["domestic_abuse"]
    doc = feedback_for(payload, 1)
    assert doc["indicators_met"] == []
    assert "did not meet any of the guidance's indicators" in doc["reason"]
    assert doc["information_gaps"] == []
    assert any(GUIDANCE.levels[1]["description"] in tip for tip in doc["next_time"])


def test_a_level_above_the_indicators_met_is_explained_without_the_workers_notes():
    doc = feedback_for(complete_payload(), 3)
    assert "decided on a higher level after weighing the whole picture" in doc["reason"]


def test_each_gap_names_the_child_says_why_and_becomes_advice_for_next_time():
    payload = complete_payload(children=[child(), child(present_at_incident=None)])
    doc = feedback_for(payload, 2)
    gap = next(g for g in doc["information_gaps"] if g["field"] == "children.1.present_at_incident")
    assert gap["label"] == "whether child 2 was present at the incident"
    rule = next(r for r in GUIDANCE.config.gaps if r.field == "children[*].present_at_incident")
    assert gap["why"] == rule.why
    assert "whether child 2 was present at the incident" in doc["next_time"][0]


def test_consent_position_is_the_guidances_for_the_confirmed_level():
    payload = complete_payload(consent="not_sought")
    early_help = feedback_for(payload, 2)["consent"]
    assert early_help["given"] == "not_sought" and early_help["ok"] is False
    assert "Early help is voluntary" in early_help["note"]
    protection = feedback_for(payload, 4)["consent"]
    assert protection["ok"] is True and "not a barrier" in protection["note"]
    assert any("Ask a parent or carer for consent" in tip for tip in feedback_for(payload, 2)["next_time"])


def test_the_referrers_request_is_compared_with_the_outcome():
    asked_too_much = feedback_for(complete_payload(referrer_request="assessment"), 2)["next_time"]
    assert any(tip.startswith("You asked for an assessment; this contact was at level 2") for tip in asked_too_much)
    asked_too_little = feedback_for(complete_payload(referrer_request="information_only"), 3)["next_time"]
    assert any("but this contact needed level 3" in tip for tip in asked_too_little)


def test_many_not_known_dash_answers_are_fed_back():
    payload = complete_payload()
    answers = payload["domestic_abuse"]["dash"]["answers"]
    for q in ("20", "21", "22", "23", "24", "25"):
        answers[q] = "not_known"
    doc = feedback_for(payload, 2)
    assert doc["dash"]["not_known_count"] == 6
    assert any(tip.startswith("6 DASH questions were answered") for tip in doc["next_time"])


def test_nothing_to_change_when_the_contact_was_complete_and_asked_for_the_right_thing():
    doc = feedback_for(complete_payload(referrer_request="early_help"), 2)
    assert doc["information_gaps"] == []
    assert doc["next_time"] == ["Nothing to change: this contact gave the front door what it needed to decide."]


def test_without_a_stored_recommendation_the_guidance_is_applied_now():
    payload = complete_payload()
    assert feedback_for(payload, 2, stored=False)["indicators_met"] == feedback_for(payload, 2)["indicators_met"]


def test_marac_criteria_and_referral_are_reported_in_words():
    payload = complete_payload()
    payload["domestic_abuse"]["incidents_12m"] = 4
    doc = feedback_for(payload, 3, marac_referral=True)
    assert doc["marac"] == {"criteria_met": [feedback.MARAC_WORDS["potential_escalation"]], "referred": True}


# --- the store -------------------------------------------------------------------------------


@pytest.fixture
def decided(app, client, people):
    """A police contact decided by a practitioner and confirmed by a manager, with internal notes."""
    contact_id = submit(client, people["partner"])
    with app.app_context():
        level = db.session.get(Contact, contact_id).recommended_level
    made = decide(client, people["practitioner"], contact_id, level=level, rationale=SECRET_RATIONALE,
                  next_steps=SECRET_STEPS)
    assert made.status_code == 201, made.get_json()
    return contact_id


def test_nothing_is_prepared_before_a_manager_reviews(app, decided):
    with app.app_context():
        contact = db.session.get(Contact, decided)
        assert feedback.confirmed_outcome(contact) is None
        with pytest.raises(Conflict):
            feedback.preview(contact, GUIDANCE)


def test_release_is_recorded_and_never_carries_the_front_doors_notes(app, client, people, decided):
    assert review(client, people["manager"], decided, rationale=SECRET_REVIEW).status_code == 201
    with app.app_context():
        contact = db.session.get(Contact, decided)
        manager = db.session.get(User, people["manager"].id)
        row = feedback.release(contact, manager, GUIDANCE)
        text = json.dumps(row.content)
        for secret in ("INTERNAL-", people["practitioner"].email, people["manager"].email):
            assert secret not in text
        event = db.session.scalar(select(Event).where(Event.kind == "feedback_released"))
        assert event.contact_id == decided and event.data["release_id"] == row.id
        assert audit.verify().ok


def test_the_same_text_is_released_once(app, client, people, decided):
    assert review(client, people["manager"], decided).status_code == 201
    with app.app_context():
        contact = db.session.get(Contact, decided)
        manager = db.session.get(User, people["manager"].id)
        feedback.release(contact, manager, GUIDANCE)
        with pytest.raises(Conflict):
            feedback.release(contact, manager, GUIDANCE)
        db.session.rollback()
        assert len(db.session.scalars(select(FeedbackRelease)).all()) == 1


def test_a_partner_reads_only_its_own_organisations_releases(app, client, people, make_person, decided):
    other = make_person("partner", organisation="Demo Primary School")
    theirs = submit(client, other, source={"code": "2A", "organisation": "Demo Primary School"})
    for contact_id in (decided, theirs):
        if contact_id == theirs:
            with app.app_context():
                level = db.session.get(Contact, theirs).recommended_level
            assert decide(client, people["practitioner"], theirs, level=level).status_code == 201
        assert review(client, people["manager"], contact_id).status_code == 201
    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        for contact_id in (decided, theirs):
            feedback.release(db.session.get(Contact, contact_id), manager, GUIDANCE)
        police = db.session.get(User, people["partner"].id).organisation_id
        school = db.session.get(User, other.id).organisation_id
        assert [r.contact_id for r in feedback.released_feedback(police)] == [decided]
        assert [r.contact_id for r in feedback.released_feedback(school)] == [theirs]


# --- the demo --------------------------------------------------------------------------------


def test_seed_outcomes_decides_reviews_and_releases_through_the_decisions_module(app, client, people):
    from triage.record.tables import Decision, Review
    from triage.services.demo_outcomes import seed_outcomes

    ids = [submit(client, people["partner"]) for _ in range(10)]
    with app.app_context():
        contacts = [db.session.get(Contact, i) for i in ids]
        demo_people = {p.email: db.session.get(User, p.id) for p in people.values()}
        lines = seed_outcomes(contacts, demo_people, GUIDANCE)
        assert lines == ["demo outcomes: 7 contacts decided, 5 reviewed by a manager, "
                         "feedback released to the partner on 5"]
        statuses = [db.session.get(Contact, i).status for i in ids]
        assert statuses == ["decided"] * 5 + ["awaiting_review"] * 2 + ["awaiting_decision"] * 3
        departed = [d for d in db.session.scalars(select(Decision)) if d.level != d.recommended_level]
        assert all(d.override_reason for d in departed)
        # The fifth contact departs on purpose; a precautionary level is decided at the most likely one.
        cautious = {c.id for c in contacts[:7] if (c.recommendation or {}).get("caution")}
        assert {d.contact_id for d in departed} == cautious | {ids[4]}
        assert any(r.outcome == "changed" for r in db.session.scalars(select(Review)))
        police = db.session.get(User, people["partner"].id).organisation_id
        assert {r.contact_id for r in feedback.released_feedback(police)} == set(ids[:5])
        assert audit.verify().ok


def test_a_page_of_released_feedback_is_the_same_slice_of_the_whole_list_counted_by_the_database(app, client,
                                                                                                 people):
    """``released_page`` (the partner's page) agrees with ``released_feedback`` filtered and sliced in Python."""
    from triage.services.demo_outcomes import seed_outcomes

    ids = [submit(client, people["partner"]) for _ in range(20)]
    with app.app_context():
        contacts = [db.session.get(Contact, i) for i in ids]
        seed_outcomes(contacts, {p.email: db.session.get(User, p.id) for p in people.values()}, GUIDANCE)
        police = db.session.get(User, people["partner"].id).organisation_id
        everything = feedback.released_feedback(police)
        assert len(everything) == 10
        for level in (None, *sorted({r.content["level"] for r in everything})):
            wanted = [r.id for r in everything if level is None or r.content["level"] == level]
            seen = []
            for page in range(1, 5):
                rows, total, shown = feedback.released_page(police, None, None, level=level, page=page, per_page=3)
                assert total == len(wanted) and shown == min(page, -(-total // 3))
                if shown == page:
                    seen += [r.id for r in rows]
            assert seen == wanted, level
        past_the_end = feedback.released_page(police, None, None, level=None, page=99, per_page=3)
        assert [r.id for r in past_the_end[0]] == [r.id for r in everything][9:] and past_the_end[2] == 4
        assert feedback.released_page(police, None, None, level=99, page=1, per_page=3) == ([], 0, 1)
        rows, counted, shown = feedback.released_page(police, None, None, level=None, page=99, per_page=3,
                                                      count_up_to=4)
        assert counted == 5 and shown == 2  # counted to one past 4; its pages only, the last of them shown
        assert [r.id for r in rows] == [r.id for r in everything][3:6]
        assert feedback.released_page(police, None, None, level=None, page=1, per_page=3,
                                      count_up_to=10)[1] == 10  # all counted: not past the limit


def test_feedback_to_release_and_its_count_are_read_from_the_waiting_index(app):
    """SQLite, which keeps no statistics here, took the status index and read every decided contact
    (0.35 s at 200,000); with the status first in the waiting index it reads the waiting ones only."""
    with app.app_context():
        plans = sqlite_plans(lambda: (feedback.awaiting_release(), feedback.awaiting_release_count()),
                             "feedback_waiting_since")
    assert len(plans) >= 2  # the page, and its count (the same count the manager's home asks)
    for plan in plans:
        assert "ix_contacts_feedback_waiting (status=? AND feedback_waiting_since>?)" in plan, plan


def test_a_partners_count_is_its_newest_releases_whatever_the_window_level_or_limit(app, client, people):
    """The count (releases in range less those a later release replaced) is the length of the list
    (no later release of the same contact, whenever that one was), for every window, level and limit."""
    from datetime import timedelta

    from triage.engine.workdays import LONDON

    ids = [submit(client, people["partner"]) for _ in range(4)]
    day = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)
    with app.app_context():
        manager = people["manager"].id
        police = db.session.get(Contact, ids[0]).organisation_id
        # ids[0] released on days 0, 3 and 6 (corrections), ids[1] on days 1 and 5, ids[2] on day 2, ids[3] never
        for offset, contact_id, level in ((0, ids[0], 2), (1, ids[1], 3), (2, ids[2], 2), (3, ids[0], 3),
                                          (5, ids[1], 2), (6, ids[0], 4)):
            db.session.add(FeedbackRelease(contact_id=contact_id, content={"level": level}, released_by_id=manager,
                                           released_at=day + timedelta(days=offset)))
            db.session.flush()
        db.session.commit()
        first_day = day.astimezone(LONDON).date()
        days = [None, *(first_day + timedelta(days=n) for n in range(0, 8))]
        for start in days:
            for end in days:
                for level in (None, 2, 3, 4):
                    window = feedback._london_days(start, end)
                    wanted = len(db.session.scalars(feedback._newest_releases(police, *window, level)).all())
                    for up_to in (None, 0, 1, 2, 5):
                        counted = feedback._count_newest(police, *window, level, up_to=up_to)
                        expected = wanted if up_to is None else min(wanted, up_to + 1)
                        assert counted == expected, (start, end, level, up_to)
        assert feedback._count_newest(police, None, None, None, up_to=None) == 3


def test_a_partners_count_reads_the_replaced_releases_from_their_own_index(app):
    """The corrections are one range of the organisation's (organisation, replaced) index; nothing
    reads every release, and no release is probed for a later one."""
    with app.app_context():
        plans = sqlite_plans(lambda: feedback._count_newest(1, None, None, None, up_to=10), "feedback_releases")
    corrections = [plan for plan in plans if "supersedes_id" in plan]
    assert corrections and "ix_feedback_releases_supersedes (organisation_id=? AND supersedes_id>?)" in corrections[0]
    assert not any("SCAN feedback_releases" in plan for plan in plans), plans

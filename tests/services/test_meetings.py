"""The morning domestic-abuse meeting over the demo's police contacts: decisions, actions, carry-over, minutes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from triage.engine.errors import Conflict, Invalid, NotAllowed
from triage.engine.workdays import last_working_day_start
from triage.extensions import db
from triage.record import audit
from triage.record.tables import Contact, Decision, Event, Meeting, MeetingItem, Review
from triage.services import decisions, demo, meetings

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)  # a Wednesday: the meeting looks back to Tuesday
ATTENDEES = [
    {"agency": "front_door", "role": "Team manager", "organisation": "Front door"},
    {"agency": "police", "role": "Detective sergeant, domestic abuse", "organisation": "Demo Police"},
    {"agency": "health", "role": "Named nurse for safeguarding", "organisation": "Demo NHS Trust"},
    {"agency": "domestic_abuse_service", "role": "Independent domestic violence adviser",
     "organisation": "Demo Domestic Abuse Service"},
]
RATIONALE = ("Police attended a repeat incident with the children at home; the meeting agreed the risk "
             "needs an assessment and the mother wants support.")


@pytest.fixture
def seeded(app):
    with app.app_context():
        demo.seed(app.extensions["recommender"], count=40, now=NOW, rhythms=False)
        yield {email: demo.accounts.find_user(email) for email, *_ in demo.DEMO_PEOPLE}


def police_da_since_last_working_day() -> set[str]:
    """The hand count: police (source 6) domestic-abuse contacts accepted since Tuesday 00:00 London."""
    start = last_working_day_start(NOW)
    rows = db.session.scalars(select(Contact)).all()
    return {c.id for c in rows if c.source_code == "6" and c.primary_concern == "domestic_abuse"
            and start <= c.accepted_at < NOW}


def test_a_meeting_over_the_demo_police_contacts_decides_through_the_normal_path(app, seeded):
    chair, manager = seeded["practitioner@demo.invalid"], seeded["manager@demo.invalid"]
    meeting = meetings.start_meeting(chair, ATTENDEES, now=NOW)
    agenda = [item.contact_id for item in meeting.items]
    expected = police_da_since_last_working_day()
    assert len(expected) >= 3, "the demo day should hold several police domestic-abuse contacts"
    assert set(agenda) == expected and len(agenda) == len(expected)
    dues = [db.session.get(Contact, cid).decision_due_at for cid in agenda]
    assert dues == sorted(dues)

    waiting = [i for i in meeting.items if i.contact.status == "awaiting_decision"]
    first = waiting[0]
    contact = first.contact
    level = max(contact.recommended_level or 3, contact.floor_level or 1)
    decisions_before = db.session.scalar(select(func.count()).select_from(Decision))
    meetings.decide_item(meeting, first, chair, level=level, rationale=RATIONALE,
                         override_reason=None if level == contact.recommended_level else "Meeting's view of risk.",
                         marac_referral=False, consent="not_sought", consent_reason="Police contact; not asked yet.")
    decision = db.session.scalar(select(Decision).where(Decision.contact_id == contact.id).order_by(Decision.id.desc()))
    assert db.session.scalar(select(func.count()).select_from(Decision)) == decisions_before + 1
    assert decision.decided_by_id == chair.id and first.decision_id == decision.id
    assert db.session.get(Contact, contact.id).status == "awaiting_review"  # oversight unchanged
    kinds = [e.kind for e in audit.history(contact.id)]
    assert kinds[-2:] == ["decided", "meeting_item_taken"]
    # a manager reviews the meeting's decision exactly as any other
    decisions.record_review(db.session.get(Contact, contact.id), manager, outcome="confirmed",
                            rationale="I agree with the meeting: repeat incident, children present, assessment is right.")
    assert db.session.scalar(select(Review).where(Review.decision_id == decision.id)) is not None

    meetings.add_action(meeting, first, chair, kind="safety_planning", description="Safety plan with the mother today.",
                        owner_role="Independent domestic violence adviser",
                        owner_organisation="Demo Domestic Abuse Service")
    meetings.add_action(meeting, first, chair, kind="dash_follow_up", description="Complete the DASH with her.",
                        owner_role="Detective sergeant, domestic abuse", owner_organisation="Demo Police")
    second = meeting.items[1] if meeting.items[1] is not first else meeting.items[2]
    meetings.discuss_item(meeting, second, chair, note="Known case; police to share the bail conditions.")
    meetings.close_meeting(meeting, chair, now=NOW + timedelta(hours=1))

    closed = db.session.get(Meeting, meeting.id)
    outcomes = {i.id: i.outcome for i in closed.items}
    assert outcomes[first.id] == "decided" and outcomes[second.id] == "discussed"
    assert sum(1 for o in outcomes.values() if o == "not_reached") == len(agenda) - 2
    record = meetings.minutes(closed)
    assert [i["contact_id"] for i in record["items"]] == agenda
    assert record["actions"] == 2 and {a["kind"] for a in record["items"][agenda.index(contact.id)]["actions"]} \
        == {"safety_planning", "dash_follow_up"}
    minutes_event = db.session.scalar(select(Event).where(Event.kind == "meeting_closed"))
    assert [i["contact_id"] for i in minutes_event.data["items"]] == agenda
    assert "name" not in str(minutes_event.data["items"])
    assert audit.verify().ok, audit.verify().summary()


def test_items_not_reached_carry_over_to_the_next_meeting_first(app, seeded):
    chair = seeded["practitioner@demo.invalid"]
    first = meetings.start_meeting(chair, ATTENDEES, now=NOW)
    taken = first.items[0]
    meetings.discuss_item(first, taken, chair, note="Already open to the locality team; share with them.")
    meetings.close_meeting(first, chair, now=NOW + timedelta(minutes=40))
    left = [i.contact_id for i in first.items if i.outcome == "not_reached"]
    assert left

    second = meetings.start_meeting(chair, ATTENDEES, now=NOW + timedelta(days=1))
    carried = [i for i in second.items if i.carried_from_id is not None]
    assert [i.contact_id for i in carried] == left
    assert [i.contact_id for i in second.items[:len(left)]] == left  # carried items come first
    assert taken.contact_id not in {i.contact_id for i in second.items}
    meetings.close_meeting(second, chair, now=NOW + timedelta(days=1, minutes=30))
    third = meetings.start_meeting(chair, ATTENDEES, now=NOW + timedelta(days=2))
    # carried again from the second meeting only, never twice
    assert [i.contact_id for i in third.items if i.carried_from_id is not None] == left
    assert audit.verify().ok


def test_meeting_refusals_change_nothing(app, seeded):
    chair = seeded["practitioner@demo.invalid"]
    with pytest.raises(Invalid) as caught:
        meetings.start_meeting(chair, [ATTENDEES[0]], now=NOW)
    assert "police" in str(caught.value.errors["attendees"])
    with pytest.raises(Invalid):
        meetings.start_meeting(chair, [{**ATTENDEES[0], "role": " "}, ATTENDEES[1]], now=NOW)
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    partner = seeded["police@demo.invalid"]
    with pytest.raises(NotAllowed):
        meetings.start_meeting(partner, ATTENDEES, now=NOW)

    meeting = meetings.start_meeting(chair, ATTENDEES, now=NOW)
    with pytest.raises(Conflict):
        meetings.start_meeting(chair, ATTENDEES, now=NOW)
    item = next(i for i in meeting.items if i.contact.status == "awaiting_decision")
    events = db.session.scalar(select(func.count()).select_from(Event))
    with pytest.raises(Invalid):  # the decision path's own rules: a rationale that says something
        meetings.decide_item(meeting, item, chair, level=3, rationale="ok")
    with pytest.raises(Invalid):
        meetings.add_action(meeting, item, chair, kind="lunch", description="", owner_role="", owner_organisation="x")
    with pytest.raises(Invalid):
        meetings.discuss_item(meeting, item, chair, note="   ")
    assert db.session.get(MeetingItem, item.id).outcome == "waiting"
    assert db.session.scalar(select(func.count()).select_from(Event)) == events
    meetings.close_meeting(meeting, chair, now=NOW + timedelta(hours=1))
    with pytest.raises(Conflict):
        meetings.add_action(meeting, item, chair, kind="checks", description="Health checks.",
                            owner_role="Social worker", owner_organisation="Front door")
    with pytest.raises(Conflict):
        meetings.close_meeting(meeting, chair)
    assert db.session.scalar(select(func.count()).select_from(Event)) == events + 1  # only meeting_closed


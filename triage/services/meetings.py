"""The morning domestic-abuse meeting: the police contacts since the last working day, taken with partners.

Domestic abuse contacts "are triaged daily with police colleagues" (the seeds). A meeting is
opened by its chair with who attended (front door, police, health, the domestic abuse service:
by role and organisation, never by name), and its agenda is built then: first the items an
earlier meeting did not reach, then the police domestic-abuse contacts accepted since the start
of the last working day that no meeting has taken yet, the soonest decision due first.

For each item the meeting either makes the decision, through ``services.decisions``
(``record_decision``: the same rules, the same oversight by a manager, the same ``decided``
event), or records that it discussed the contact; and it agrees actions (safety planning, a MARAC
referral, DASH follow-up, checks), each owned by a role in an organisation. Closing the meeting
marks what it did not reach (carried over to the next one) and writes the minutes into the audit
chain (``meeting_closed``): every item, its outcome and its actions. A closed meeting changes no more.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from triage.engine.errors import Conflict, Invalid, NotAllowed, NotFound
from triage.engine.workdays import last_working_day_start
from triage.extensions import db
from triage.record import audit
from triage.record.tables import Contact, Meeting, MeetingAction, MeetingAttendee, MeetingItem, User
from triage.services import decisions

#: Who sits at the meeting, and how the minutes name each agency.
AGENCIES = {
    "front_door": "Front door (children's social care)",
    "police": "Police",
    "health": "Health",
    "domestic_abuse_service": "Domestic abuse service",
    "other": "Other agency",
}
#: The agencies without which it is not the police triage meeting.
REQUIRED_AGENCIES = ("front_door", "police")
ACTION_KINDS = {
    "safety_planning": "Safety planning",
    "marac_referral": "MARAC referral",
    "dash_follow_up": "DASH follow-up",
    "checks": "Checks with partner agencies",
    "other": "Other action",
}
OUTCOMES = {
    "waiting": "Not yet taken",
    "decided": "Decided in the meeting",
    "discussed": "Discussed, no decision made in the meeting",
    "not_reached": "Not reached: carried over to the next meeting",
}
POLICE_SOURCE = "6"
DOMESTIC_ABUSE = "domestic_abuse"
MAX_SHORT = 120
MAX_ATTENDEES = 30
STAFF = ("practitioner", "manager")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _short_errors(value: object, what: str) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        return [f"Enter the {what}."]
    if len(value.strip()) > MAX_SHORT:
        return [f"Shorten the {what} to {MAX_SHORT} characters or fewer."]
    return []


def attendee_errors(attendees: list[dict]) -> dict[str, list[str]]:
    """What is wrong with the attendance list (each: agency, role, organisation), keyed by field."""
    errors: dict[str, list[str]] = {}
    if not isinstance(attendees, list) or not attendees:
        return {"attendees": ["Add who attended: at least the front door and the police."]}
    if len(attendees) > MAX_ATTENDEES:
        return {"attendees": [f"List at most {MAX_ATTENDEES} attendees."]}
    for i, person in enumerate(attendees):
        if not isinstance(person, dict):
            errors[f"attendees.{i}"] = ["Give each attendee's agency, role and organisation."]
            continue
        if person.get("agency") not in AGENCIES:
            errors[f"attendees.{i}.agency"] = ["Choose the attendee's agency."]
        for name, what in (("role", "attendee's role"), ("organisation", "attendee's organisation")):
            if problems := _short_errors(person.get(name), what):
                errors[f"attendees.{i}.{name}"] = problems
    if not errors:
        present = {p["agency"] for p in attendees}
        missing = [AGENCIES[a] for a in REQUIRED_AGENCIES if a not in present]
        if missing:
            errors["attendees"] = [f"The police triage meeting needs {' and '.join(missing).lower()} attending."]
    return errors


def open_meeting() -> Meeting | None:
    """The meeting in progress, if any (one at a time)."""
    return db.session.scalar(select(Meeting).where(Meeting.closed_at.is_(None)).order_by(Meeting.id))


def get_meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("There is no meeting with that number.")
    return meeting


def get_item(meeting: Meeting, item_id: int) -> MeetingItem:
    item = db.session.get(MeetingItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFound("That contact is not on this meeting's agenda.")
    return item


def carried_over() -> list[MeetingItem]:
    """Items earlier meetings did not reach and no later meeting has taken up yet, oldest first."""
    taken = select(MeetingItem.carried_from_id).where(MeetingItem.carried_from_id.is_not(None))
    return list(db.session.scalars(
        select(MeetingItem).where(MeetingItem.outcome == "not_reached", MeetingItem.id.not_in(taken))
        .order_by(MeetingItem.meeting_id, MeetingItem.position)))


def police_domestic_abuse(start: datetime, end: datetime) -> list[Contact]:
    """Police domestic-abuse contacts accepted in ``[start, end)`` that no meeting has on its agenda."""
    on_agenda = select(MeetingItem.contact_id)
    return list(db.session.scalars(
        select(Contact).where(Contact.source_code == POLICE_SOURCE, Contact.primary_concern == DOMESTIC_ABUSE,
                              Contact.accepted_at >= start, Contact.accepted_at < end,
                              Contact.id.not_in(on_agenda))))


def _order(contact: Contact) -> tuple:
    """The soonest decision due first (red before amber before green when deadlines match), then oldest."""
    far = datetime.max.replace(tzinfo=timezone.utc)
    return (contact.decision_due_at or far, contact.accepted_at, contact.id)


def start_meeting(chair: User, attendees: list[dict], *, now: datetime | None = None) -> Meeting:
    """Open a meeting with its attendance and build its agenda; refused while another is open."""
    if chair.role not in STAFF:
        raise NotAllowed("Only front-door staff chair the domestic abuse meeting.")
    if (errors := attendee_errors(attendees)):
        raise Invalid("The meeting was not started; see errors.", errors=errors, title="Not recorded")
    if (running := open_meeting()) is not None:
        raise Conflict(f"Meeting {running.id} is still open. Close it before starting another, so its "
                       "contacts not reached carry over.")
    now = _now(now)
    meeting = Meeting(covers_from=last_working_day_start(now), covers_to=now, chair_id=chair.id, opened_at=now)
    meeting.attendees = [MeetingAttendee(agency=p["agency"], role=p["role"].strip(),
                                         organisation=p["organisation"].strip()) for p in attendees]
    earlier = carried_over()
    fresh = sorted(police_domestic_abuse(meeting.covers_from, now), key=_order)
    carried_ids = {item.contact_id for item in earlier}
    position = 0
    for item in earlier:
        position += 1
        meeting.items.append(MeetingItem(contact_id=item.contact_id, position=position, carried_from_id=item.id,
                                         outcome="waiting"))
    for contact in fresh:
        if contact.id in carried_ids:
            continue
        position += 1
        meeting.items.append(MeetingItem(contact_id=contact.id, position=position, outcome="waiting"))
    db.session.add(meeting)
    db.session.flush()
    audit.record("meeting_opened", user=chair, at=now, data={
        "meeting_id": meeting.id, "covers_from": meeting.covers_from.isoformat(), "covers_to": now.isoformat(),
        "attendees": [{"agency": a.agency, "role": a.role, "organisation": a.organisation} for a in meeting.attendees],
        "items": [{"item_id": i.id, "contact_id": i.contact_id, "position": i.position,
                   "carried_from": i.carried_from_id} for i in meeting.items],
    })
    db.session.commit()
    return meeting


def _check_open(meeting: Meeting) -> None:
    if meeting.closed_at is not None:
        db.session.rollback()
        raise Conflict(f"Meeting {meeting.id} is closed; its minutes are part of the record and do not change.")


def _check_waiting(item: MeetingItem) -> None:
    if item.outcome != "waiting":
        db.session.rollback()
        raise Conflict(f"This contact was already taken in the meeting ({OUTCOMES[item.outcome].lower()}).")


def _taken(meeting: Meeting, item: MeetingItem, user: User, outcome: str, now: datetime | None) -> None:
    item.outcome = outcome
    audit.record("meeting_item_taken", contact_id=item.contact_id, user=user, at=_now(now), data={
        "meeting_id": meeting.id, "item_id": item.id, "outcome": outcome, "decision_id": item.decision_id,
        "note": item.note})
    db.session.commit()


def decide_item(meeting: Meeting, item: MeetingItem, user: User, **decision) -> MeetingItem:
    """The meeting's decision on one contact, through the normal decision path (a manager then reviews it).

    ``decision`` holds ``decisions.record_decision``'s keywords (level, rationale, override_reason...).
    """
    _check_open(meeting)
    _check_waiting(item)
    row = decisions.record_decision(item.contact, user, **decision)
    item.decision_id = row.id
    _taken(meeting, item, user, "decided", decision.get("now"))
    return item


def discuss_item(meeting: Meeting, item: MeetingItem, user: User, *, note: str,
                 now: datetime | None = None) -> MeetingItem:
    """The meeting discussed the contact without deciding it (already decided, or waiting for checks)."""
    _check_open(meeting)
    _check_waiting(item)
    said = decisions.substantive(note)
    if not said:
        raise Invalid("Nothing was recorded; see errors.", errors={"note": ["Say what the meeting discussed."]},
                      title="Not recorded")
    if problems := decisions.length_errors(note, decisions.MAX_NOTE):
        raise Invalid("Nothing was recorded; see errors.", errors={"note": problems}, title="Not recorded")
    item.note = note.strip()
    _taken(meeting, item, user, "discussed", now)
    return item


def action_errors(kind: object, description: object, owner_role: object, owner_organisation: object) -> dict:
    errors: dict[str, list[str]] = {}
    if kind not in ACTION_KINDS:
        errors["kind"] = ["Choose the kind of action."]
    if not isinstance(description, str) or not decisions.substantive(description):
        errors["description"] = ["Say what was agreed."]
    elif problems := decisions.length_errors(description, decisions.MAX_NOTE):
        errors["description"] = problems
    for name, value, what in (("owner_role", owner_role, "role of the person who owns the action"),
                              ("owner_organisation", owner_organisation, "organisation that owns the action")):
        if problems := _short_errors(value, what):
            errors[name] = problems
    return errors


def add_action(meeting: Meeting, item: MeetingItem, user: User, *, kind: str, description: str,
               owner_role: str, owner_organisation: str, now: datetime | None = None) -> MeetingAction:
    """An action agreed on one item, owned by a role in an organisation (the minutes never name people)."""
    _check_open(meeting)
    if errors := action_errors(kind, description, owner_role, owner_organisation):
        raise Invalid("The action was not recorded; see errors.", errors=errors, title="Not recorded")
    action = MeetingAction(item_id=item.id, kind=kind, description=description.strip(), owner_role=owner_role.strip(),
                           owner_organisation=owner_organisation.strip(), agreed_by_id=user.id, agreed_at=_now(now))
    db.session.add(action)
    db.session.flush()
    audit.record("meeting_action_agreed", contact_id=item.contact_id, user=user, at=action.agreed_at, data={
        "action_id": action.id, "meeting_id": meeting.id, "item_id": item.id, "kind": action.kind,
        "description": action.description, "owner_role": action.owner_role,
        "owner_organisation": action.owner_organisation})
    db.session.commit()
    return action


def close_meeting(meeting: Meeting, user: User, *, now: datetime | None = None) -> Meeting:
    """Close the meeting: items not taken are marked not reached (they carry over); the minutes go on the record."""
    _check_open(meeting)
    now = _now(now)
    for item in meeting.items:
        if item.outcome == "waiting":
            item.outcome = "not_reached"
    meeting.closed_at = now
    audit.record("meeting_closed", user=user, at=now, data={
        "meeting_id": meeting.id,
        "items": [{"item_id": i.id, "contact_id": i.contact_id, "position": i.position, "outcome": i.outcome,
                   "decision_id": i.decision_id, "actions": [a.id for a in i.actions]} for i in meeting.items],
    })
    db.session.commit()
    return meeting


def record_read(meeting: Meeting, user: User, what: str) -> None:
    """Showing the agenda or minutes is a read of every contact on it, recorded like any other."""
    for item in meeting.items:
        audit.record("viewed", contact_id=item.contact_id, user=user,
                     data={"via": "meeting", "what": what, "meeting_id": meeting.id})
    db.session.commit()


def record_read_item(item: MeetingItem, user: User) -> None:
    """Opening one item shows the contact's account: a read, recorded like opening the contact."""
    audit.record("viewed", contact_id=item.contact_id, user=user,
                 data={"via": "meeting", "what": "item", "meeting_id": item.meeting_id})
    db.session.commit()


def minutes(meeting: Meeting) -> dict:
    """The meeting as its agenda and minutes show it: attendance by role, each item, decision and actions."""
    items = []
    for item in meeting.items:
        contact, decision = item.contact, item.decision
        items.append({
            "id": item.id, "position": item.position, "outcome": item.outcome,
            "outcome_text": OUTCOMES[item.outcome], "carried_over": item.carried_from_id is not None,
            "note": item.note, "contact_id": contact.id, "partner_reference": contact.partner_reference,
            "accepted_at": contact.accepted_at, "decision_due_at": contact.decision_due_at,
            "dash_risk": contact.dash_risk, "recommended_level": contact.recommended_level,
            "floor_level": contact.floor_level, "marac_recommended": bool(contact.marac_recommended),
            "status": contact.status, "children": len(contact.children),
            "decision": None if decision is None else {
                "level": decision.level, "rationale": decision.rationale,
                "marac_referral": bool(decision.marac_referral), "override_reason": decision.override_reason},
            "actions": [{"id": a.id, "kind": a.kind, "kind_text": ACTION_KINDS[a.kind], "description": a.description,
                         "owner_role": a.owner_role, "owner_organisation": a.owner_organisation}
                        for a in item.actions],
        })
    return {
        "id": meeting.id, "opened_at": meeting.opened_at, "closed_at": meeting.closed_at,
        "covers_from": meeting.covers_from, "covers_to": meeting.covers_to,
        "attendees": [{"agency": AGENCIES[a.agency], "role": a.role, "organisation": a.organisation}
                      for a in meeting.attendees],
        "items": items,
        "counts": {key: sum(1 for i in items if i["outcome"] == key) for key in OUTCOMES},
        "actions": sum(len(i["actions"]) for i in items),
    }


def recent_meetings(limit: int = 20) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).order_by(Meeting.id.desc()).limit(limit)))

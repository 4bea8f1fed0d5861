"""Demo data for ``make run``: a person for each role, partner organisations and a day of contacts.

Safe to run again: people who exist are kept, and contacts are only added to an empty store.
The passwords are for a local demonstration only and are printed by ``make run``.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from triage.engine.recommend import Recommender
from triage.engine.workdays import (
    add_working_days,
    is_working_day,
    last_working_day_start,
    london_date,
    london_midnight,
)
from triage.extensions import db
from triage.record.tables import Contact, User
from triage.services import accounts
from triage.services.intake import submit

DEMO_PASSWORD = "demo-password-2026"
DEMO_PEOPLE = (
    ("practitioner@demo.invalid", "practitioner", None),
    ("practitioner2@demo.invalid", "practitioner", None),
    ("manager@demo.invalid", "manager", None),
    ("manager2@demo.invalid", "manager", None),
    ("police@demo.invalid", "partner", "Demo Police"),
    ("school@demo.invalid", "partner", "Demo Primary School"),
    ("health@demo.invalid", "partner", "Demo NHS Trust"),
    ("admin@demo.invalid", "admin", None),
)
#: Agency hub workers who answer checks (spec section 10): email, organisation, agency type.
DEMO_AGENCIES = (
    ("police-hub@demo.invalid", "Demo Police", "police"),
    ("health-hub@demo.invalid", "Demo NHS Trust", "health"),
    ("school-hub@demo.invalid", "Demo Primary School", "education"),
)


def ensure_people() -> dict[str, User]:
    """The demo sign-ins, created through ``accounts`` like anyone's (so the record shows them)."""
    people = {}
    for email, role, org_name in DEMO_PEOPLE:
        people[email] = accounts.find_user(email) or accounts.create_user(email, role, org_name, DEMO_PASSWORD)
    for email, org_name, agency_type in DEMO_AGENCIES:
        people[email] = accounts.find_user(email) or accounts.create_user(
            email, "agency", org_name, DEMO_PASSWORD, agency_type=agency_type)
    return people


def demo_contacts(count: int, now: datetime) -> list[dict]:
    """A day of contacts from the training generator, re-dated to since the last working day began.

    The generator is the one model of a front door (source mix, concerns, missing information);
    the demo only moves its contacts into today and gives each a narrative a worker would expect.
    """
    from training.generate import generate

    rng = random.Random(2026)
    # 08:00 on the last working day: the window the morning triage covers.
    start = last_working_day_start(now) + timedelta(hours=8)
    span = max((now - start).total_seconds(), 3600.0)
    contacts = []
    for i, record in enumerate(generate(count, seed=2026)):
        contact = record["contact"]
        received = start + timedelta(seconds=span * (i + 0.5) / count)
        contact["received_at"] = received.isoformat(timespec="seconds")
        if "incident_at" in contact:
            contact["incident_at"] = (received - timedelta(hours=rng.uniform(2, 14))).isoformat(timespec="seconds")
        contact["partner_reference"] = f"DEMO-{received:%m%d}-{i + 1:03d}"
        contact["narrative"] = narrative(contact, rng)
        if i in REPEATS:
            contact["children"][0]["identifiers"] = {"nhs_number": demo_nhs_number(REPEATS[i])}
        contacts.append(contact)
    return contacts


def late_notifications(contacts: list[dict]) -> dict[int, int]:
    """Which of the day's contacts the police recorded days before sending: index -> days late."""
    police = [i for i, contact in enumerate(contacts) if contact["source"]["code"] == "6"]
    return dict(zip(police[1::2], LATE_DAYS, strict=False))


def _accepted(contact: dict, days_late: int) -> tuple[dict, datetime]:
    """When the demo contact reaches the front door, and the partner's own time of recording it."""
    accepted = datetime.fromisoformat(contact["received_at"])
    if days_late:
        recorded = accepted - timedelta(days=days_late)
        contact = {**contact, "received_at": recorded.isoformat(timespec="seconds")}
    return contact, accepted


def seed_earlier(people: dict[str, User], now: datetime, recommender: Recommender) -> list[str]:
    """The repeat children's earlier contacts, decided and reviewed through the services."""
    from triage.services.demo_outcomes import decide, review, working_times

    guidance = recommender.guidance
    practitioner, manager = people["practitioner2@demo.invalid"], people["manager2@demo.invalid"]
    for contact, sender, level, marac in earlier_contacts(now):
        user = next(u for u in people.values() if u.organisation and u.organisation.name == sender)
        stored = submit(contact, user, recommender, now=datetime.fromisoformat(contact["received_at"]))[0]
        decided_at, reviewed_at, _ = working_times(stored.accepted_at, 0, now)
        decide(stored, practitioner, guidance, level=max(level, stored.floor_level or 1), marac_referral=marac,
               at=decided_at)
        review(stored, manager, at=reviewed_at)
    return [f"added {len(EARLIER)} earlier contacts about {len(EARLIER)} children who appear again today"]


# Children the front door has met before (spec section 9): their earlier contacts, from other
# partners, weeks or months ago, so "Known to us" has real history on ``make run``.
# (days before now, sender, decided level, MARAC referral decided)
EARLIER = (
    (200, "Demo NHS Trust", 2, False),
    (75, "Demo Primary School", 3, False),
    (30, "Demo Police", 4, True),
    (12, "Demo Primary School", 2, False),
)
# Which of today's contacts are about a child met before (index into today's contacts), and which one.
REPEATS = {1: 0, 4: 1, 7: 2, 10: 3, 13: 2}
# Two police notifications the force recorded days before it sent them (spec section 8): the
# second and fourth police contacts of the day, recorded this many days earlier.
LATE_DAYS = (6, 3)
SOURCE_CODES = {"Demo Police": "6", "Demo Primary School": "2A", "Demo NHS Trust": "3A"}


def demo_nhs_number(n: int) -> str:
    """A valid NHS number in the 999 range the NHS sets aside for testing: never a real person's."""
    from stdnum.gb import nhs

    # One stem in eleven has no check digit (the remainder would be 10), so try the next serial.
    candidates = (f"999{n:04d}{serial:02d}{digit}" for serial in range(100) for digit in "0123456789")
    return next(number for number in candidates if nhs.is_valid(number))


def earlier_contacts(now: datetime) -> list[tuple[dict, str, int, bool]]:
    """Contacts about the repeat children, long before today, each with how it was decided."""
    from training.generate import generate

    rng = random.Random(1989)
    out = []
    for i, (record, (days, sender, level, marac)) in enumerate(zip(generate(len(EARLIER), seed=1989), EARLIER,
                                                                    strict=True)):
        contact = record["contact"]
        received = now - timedelta(days=days, hours=3)
        contact["received_at"] = received.isoformat(timespec="seconds")
        contact.pop("incident_at", None)
        contact["source"] = {"code": SOURCE_CODES[sender], "organisation": sender}
        contact["partner_reference"] = f"DEMO-EARLIER-{i + 1:03d}"
        contact["children"][0]["identifiers"] = {"nhs_number": demo_nhs_number(i)}
        contact["narrative"] = narrative(contact, rng)
        out.append((contact, sender, level, marac))
    return out


def _said(value: object, yes: str, no: str, unknown: str = "") -> str:
    return yes if value is True else no if value is False else unknown


def narrative(contact: dict, rng: random.Random) -> str:
    """A short, plausible account built from the contact's own facts (never real people)."""
    concern = contact["primary_concern"]
    kids = contact["children"]
    ages = ", ".join("unborn" if c.get("unborn") else f"{c['age_years']}" if c.get("age_years") is not None
                     else "age not given" for c in kids)
    if concern == "domestic_abuse":
        da = contact.get("domestic_abuse", {})
        parts = [rng.choice(["Officers attended after a neighbour called 999.",
                             "The mother called police from a relative's phone.",
                             "Police were called to a disturbance at the family home."])]
        parts.append(_said(da.get("strangulation"), "She described being held by the throat.", ""))
        parts.append(_said(da.get("weapon_used"), "A kitchen knife was picked up during the argument.", ""))
        present = [c.get("present_at_incident") for c in kids]
        parts.append("The children were in the house at the time." if any(p is True for p in present)
                     else "The children were not at home." if present and all(p is False for p in present)
                     else "It is not recorded whether the children were present.")
        parts.append(_said(da.get("arrest_made"), "The partner was arrested.", "No arrest was made."))
        incidents = da.get("incidents_12m")
        if incidents:
            parts.append(f"{incidents} previous call(s) to this address in the last year.")
        return " ".join(p for p in parts if p) + f" Children's ages: {ages}."
    stories = {
        "neglect": "Staff are worried the child is often hungry, in the same clothes and missing school.",
        "physical_abuse": "The child arrived with bruising to the arm and gave an unclear account of it.",
        "sexual_abuse": "The child said something to a member of staff that suggests sexual harm.",
        "emotional_abuse": "The child is withdrawn and describes being shouted at and belittled at home.",
        "exploitation": "The young person has been seen with older males and has unexplained money and phones.",
        "missing": "The young person went missing overnight and returned with no account of where they were.",
        "substance_misuse": "A parent was found under the influence while caring for the children.",
        "mental_health": "A parent's mental health has deteriorated and the children are caring for them.",
        "self_harm": "The young person disclosed self-harm to the school nurse.",
        "behaviour": "The child's behaviour at school has escalated with fights and exclusions.",
        "homelessness": "The family have been asked to leave their accommodation and have nowhere to go.",
    }
    story = stories.get(concern, "The referrer is worried about the family and asks for advice.")
    return f"{story} Children's ages: {ages}."


def _sender(contact: dict, people: dict[str, User]) -> User:
    for user in people.values():
        if user.role == "partner" and user.organisation and user.organisation.name == contact["source"]["organisation"]:
            return user
    return people["practitioner@demo.invalid"]  # taken by phone


def seed(recommender: Recommender, count: int = 40, now: datetime | None = None, rhythms: bool = True) -> list[str]:
    """Create the demo; return the lines to print (the demo logins first).

    ``rhythms``: also the board periods, last month's quality audit and this morning's meeting (issue 17).
    """
    now = now or datetime.now(timezone.utc)
    people = ensure_people()
    lines = ["Demo sign-ins (password for all: " + DEMO_PASSWORD + "):"]
    lines += [f"  {role:<13} {email}" + (f"  ({org})" if org else "") for email, role, org in DEMO_PEOPLE]
    lines += [f"  {'agency':<13} {email}  ({org}, {kind})" for email, org, kind in DEMO_AGENCIES]
    existing = db.session.scalar(select(func.count()).select_from(Contact))
    if existing:
        lines.append(f"{existing} contacts already stored; no demo contacts added.")
        return lines
    lines += seed_earlier(people, now, recommender)
    contacts = demo_contacts(count, now)
    stored, late = [], late_notifications(contacts)
    for i, contact in enumerate(contacts):
        sent, accepted = _accepted(copy.deepcopy(contact), late.get(i, 0))
        stored.append(submit(sent, _sender(contact, people), recommender, now=accepted)[0])
    lines.append(f"added {len(contacts)} demo contacts received since {min(c['received_at'] for c in contacts)}")
    from triage.services.demo_outcomes import seed_outcomes

    waiting_from = queue_starts(stored, now)
    lines += seed_outcomes([c for c in stored if c.accepted_at < waiting_from], people, recommender.guidance, now)
    lines += seed_checks([c for c in stored if c.accepted_at >= waiting_from], people, recommender, now)
    if rhythms:
        lines += seed_rhythms(people, now, recommender)
    lines.append(queue_counts())
    return lines


#: At least this share of the demo's contacts waits in the morning queue, whatever the hour.
WAITING_SHARE = 3  # one in three


def queue_starts(stored: list[Contact], now: datetime) -> datetime:
    """When the demo's waiting contacts begin: yesterday's work is decided, today's waits in the queue.

    Today starts at London midnight, but just after midnight (or on a Monday, whose window reaches
    back to Friday) almost nothing arrived "today"; the last third of the contacts then wait too, so
    a demo started at any hour has a queue, with checks, for the morning triage.
    """
    accepted = sorted(c.accepted_at for c in stored)
    last_third = accepted[-max(1, len(accepted) // WAITING_SHARE)] if accepted else now
    return min(london_midnight(london_date(now)), last_third)


def seed_checks(contacts: list[Contact], people: dict[str, User], recommender: Recommender,
                now: datetime) -> list[str]:
    """Today's contacts at each step of checks: answered (back for decision), partly answered, not yet asked.

    Of the contacts the screening sends to checks, every third is asked and answered by the demo
    hub workers, every third asked with only the first agency answered so far, and the rest left
    for a practitioner to ask. Only police, health and education have demo hub workers.
    """
    from triage.services import checks

    workers = {kind: people[email] for email, _, kind in DEMO_AGENCIES}
    asker = people["practitioner@demo.invalid"]
    rng = random.Random(13)
    waiting = [c for c in contacts if c.status == "awaiting_decision"
               and (c.recommendation or {}).get("next_step") == "checks"]
    asked = answered = 0
    for i, contact in enumerate(waiting):
        if i % 3 == 2:
            continue
        agencies = [c["agency"] for c in contact.recommendation["checks"] if c["agency"] in workers] or ["police"]
        rows = checks.request_checks(contact, asker, recommender, agencies=agencies, consent="obtained",
                                     reason="Demo: what do your records hold about this household?", now=now)
        asked += 1
        for row in rows[: len(rows) if i % 3 == 0 else 1]:
            codes = list(recommender.checks_config.agencies[row.agency].findings)
            found = [rng.choice(codes)] if rng.random() < 0.4 else []
            checks.answer_check(row, workers[row.agency], recommender, known=bool(found) or rng.random() < 0.5,
                                findings=found, summary="Demo answer from the hub's own records.", now=now)
            answered += 1
    return [f"checks: {asked} contacts asked, {answered} answers in; {len(waiting) - asked} sent to checks "
            "but not yet asked"]


def queue_counts() -> str:
    """The demo queue (everything not yet decided) by recommended level and next step, for the note."""
    rows = db.session.scalars(select(Contact).where(Contact.status.in_(
        ("awaiting_decision", "info_requested", "checks_requested")))).all()
    levels: dict[int, int] = {}
    steps: dict[str, int] = {}
    for contact in rows:
        levels[contact.recommended_level or 0] = levels.get(contact.recommended_level or 0, 0) + 1
        step = (contact.recommendation or {}).get("next_step") or "none"
        steps[step] = steps.get(step, 0) + 1
    return (f"queue: {len(rows)} undecided; by level {dict(sorted(levels.items()))}; "
            f"by next step {dict(sorted(steps.items()))}")


# -- The front door's rhythms (issue 17): two board periods, an audit month and a meeting -----------
# Kept in their own functions, called once from ``seed`` (``rhythms=True``).

#: Contacts in each of the two six-week board periods before today, and how the older period
#: worked (every Nth decision late, departing from the recommendation, sent late) against the newer.
BOARD_CONTACTS = 30
BOARD_PRACTICE = ({"late_every": 3, "depart_every": 4, "sent_late_every": 6, "review_late_every": 4},
                  {"late_every": 8, "depart_every": 7, "sent_late_every": 12, "review_late_every": 10})
BOARD_RATIONALE = ("Demo decision: the level follows the threshold guidance indicators met and what the "
                   "referrer told us about the family's circumstances.")
BOARD_REVIEW = "Demo review: the rationale weighs the indicators and the family's situation; the level is right."
AUDIT_SEED = 2026
AUDIT_LEFT_OPEN = 2  # findings left for manager@demo.invalid to record on make run
MEETING_ACTIONS = (
    ("safety_planning", "Safety plan with the mother today, by phone first.",
     "Independent domestic violence adviser", "Domestic abuse service"),
    ("dash_follow_up", "Complete the missing DASH answers with the victim.", "Domestic abuse officer", "Police"),
    ("marac_referral", "Refer to MARAC on professional judgement of escalation.", "Team manager", "Front door"),
)


def seed_rhythms(people: dict[str, User], now: datetime, recommender: Recommender) -> list[str]:
    """The board periods, the last month's quality audit and this morning's meeting."""
    lines = seed_board_periods(people, now, recommender)
    lines += seed_audit_month(people, now)
    lines += seed_meeting(people, now)
    return lines


def _working_times(first: datetime, days: int, count: int) -> list[datetime]:
    """``count`` times spread over the working days from ``first`` for ``days`` days, 09:00 to 16:00 London."""
    start = london_date(first)
    working = [start + timedelta(days=d) for d in range(days) if is_working_day(start + timedelta(days=d))]
    return [london_midnight(working[i * len(working) // count]) + timedelta(hours=9 + (i * 3) % 7, minutes=(i * 13) % 60)
            for i in range(count)]


def seed_board_periods(people: dict[str, User], now: datetime, recommender: Recommender) -> list[str]:
    """Two six-week periods of decided and reviewed contacts before today, the newer one better run."""
    from training.generate import generate
    from triage.services import decisions, feedback

    workers = [people["practitioner@demo.invalid"], people["practitioner2@demo.invalid"]]
    reviewer = people["manager2@demo.invalid"]
    today = london_midnight(london_date(now))
    rng = random.Random(4242)
    records = iter(generate(2 * BOARD_CONTACTS, seed=4242))
    added = 0
    for period, practice in enumerate(BOARD_PRACTICE):
        first = today - timedelta(days=84 - 42 * period)
        for i, accepted in enumerate(_working_times(first, 42, BOARD_CONTACTS)):
            contact = next(records)["contact"]
            contact.pop("incident_at", None)
            late = i % practice["sent_late_every"] == 1
            contact["received_at"] = (accepted - timedelta(days=4 if late else 0)).isoformat(timespec="seconds")
            contact["partner_reference"] = f"DEMO-BOARD-{period + 1}-{i + 1:03d}"
            contact["narrative"] = narrative(contact, rng)
            stored = submit(contact, _sender(contact, people), recommender, now=accepted)[0]
            recommended = stored.recommended_level or max(stored.floor_level or 1, 1)
            level = recommended
            if i % practice["depart_every"] == 0:
                level = min(recommended + 1, 4)
            level = max(level, stored.floor_level or 1)
            decided = (add_working_days(accepted, 3) if i % practice["late_every"] == 0
                       else accepted + timedelta(hours=3))
            decided = min(decided, now - timedelta(hours=2))  # never in the future
            reviewed = (add_working_days(decided, 3) if i % practice["review_late_every"] == 0
                        else decided + timedelta(hours=2))
            reviewed = min(reviewed, now - timedelta(hours=1))
            decisions.record_decision(
                stored, workers[i % 2], level=level, rationale=BOARD_RATIONALE, now=decided,
                override_reason=(f"Demo: what the contact shows fits level {level} better than level {recommended}."
                                 if level != recommended else None),
                consent_reason=("Demo: the early help worker will ask the family for consent at the first visit."
                                if level == 2 else None))
            decisions.record_review(stored, reviewer, outcome="confirmed", rationale=BOARD_REVIEW, now=reviewed)
            # weeks ago, so the partner was told long since: released a few minutes after the review
            feedback.release(stored, reviewer, recommender.guidance, now=min(reviewed + timedelta(minutes=10), now))
            added += 1
    return [f"board periods: {added} contacts decided, reviewed and fed back over the 12 weeks before today"]


def seed_audit_month(people: dict[str, User], now: datetime) -> list[str]:
    """Last month's quality audit sample, audited by the manager who took no part, two findings left to record."""
    from triage.services import quality_audit

    first = london_date(now).replace(day=1) - timedelta(days=1)
    month = first.strftime("%Y-%m")
    sample = quality_audit.draw_sample(month, people["manager@demo.invalid"], seed=AUDIT_SEED, per_practitioner=4,
                                       now=now)
    recorded = 0
    for i, assignment in enumerate(sample.assignments[:-AUDIT_LEFT_OPEN]):
        decided = assignment.decision.level
        over = i % 4 == 1 and decided > (assignment.contact.floor_level or 1)
        grade = "requires_improvement" if over else ("outstanding" if i % 5 == 0 else "good")
        learning = ("Demo: the indicators met point to a lower level; the rationale did not say why more was needed."
                    if over else "Demo: the rationale weighs the DASH answers and the family's support clearly.")
        quality_audit.record_finding(assignment, db.session.get(User, assignment.auditor_id),
                                     level=decided - 1 if over else decided, grade=grade, learning=learning, now=now)
        recorded += 1
    return [f"quality audit {month}: {len(sample.assignments)} decisions drawn (seed {AUDIT_SEED}), "
            f"{recorded} audited, {len(sample.assignments) - recorded} left to audit"]


def seed_meeting(people: dict[str, User], now: datetime) -> list[str]:
    """This morning's domestic abuse meeting: one decision, actions agreed, closed with the rest carried over."""
    from triage.services import meetings

    chair = people["practitioner@demo.invalid"]
    attendees = [{"agency": "front_door", "role": "Team manager", "organisation": "Front door"},
                 {"agency": "police", "role": "Domestic abuse officer", "organisation": "Demo Police"},
                 {"agency": "health", "role": "Safeguarding nurse", "organisation": "Demo NHS Trust"},
                 {"agency": "domestic_abuse_service", "role": "Independent domestic violence adviser",
                  "organisation": "Domestic abuse service"}]
    meeting = meetings.start_meeting(chair, attendees, now=now)
    if not meeting.items:
        meetings.close_meeting(meeting, chair, now=now)
        return ["meeting: no police domestic abuse contacts today; an empty meeting recorded"]
    first = meeting.items[0]
    contact = first.contact
    if contact.status == "awaiting_decision":
        level = max(contact.recommended_level or 3, contact.floor_level or 1)
        meetings.decide_item(
            meeting, first, chair, level=level, rationale=BOARD_RATIONALE + " Agreed with police colleagues.",
            override_reason=None if level == contact.recommended_level else "Demo: the meeting's shared view of risk.",
            consent_reason=("Demo: the early help worker will ask the family for consent at the first visit."
                            if level == 2 else None), now=now)
    else:
        meetings.discuss_item(meeting, first, chair, note="Demo: already with checks; police to share bail conditions.",
                              now=now)
    for kind, text, role, org in MEETING_ACTIONS[:2]:
        meetings.add_action(meeting, first, chair, kind=kind, description=text, owner_role=role,
                            owner_organisation=org if org != "Police" else "Demo Police", now=now)
    if len(meeting.items) > 1:
        second = meeting.items[1]
        meetings.discuss_item(meeting, second, chair, note="Demo: known to the domestic abuse service; no new risk.",
                              now=now)
        kind, text, role, org = MEETING_ACTIONS[2]
        meetings.add_action(meeting, second, chair, kind=kind, description=text, owner_role=role, owner_organisation=org,
                            now=now)
    meetings.close_meeting(meeting, chair, now=now)
    left = sum(1 for i in meeting.items if i.outcome == "not_reached")
    return [f"meeting {meeting.id}: {len(meeting.items)} police domestic abuse contacts, {left} carried over to the next"]

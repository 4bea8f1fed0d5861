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
from triage.engine.workdays import last_working_day_start
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


def seed(recommender: Recommender, count: int = 40, now: datetime | None = None) -> list[str]:
    """Create the demo; return the lines to print (the demo logins first)."""
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
    # Yesterday's work is decided (most of it confirmed); today's contacts wait in the queue.
    from triage.engine.workdays import london_date, london_midnight
    from triage.services.demo_outcomes import seed_outcomes

    today = london_midnight(london_date(now))
    lines += seed_outcomes([c for c in stored if c.accepted_at < today], people, recommender.guidance, now)
    lines += seed_checks([c for c in stored if c.accepted_at >= today], people, recommender, now)
    lines.append(queue_counts())
    return lines


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

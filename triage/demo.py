"""Demo data for ``make run``: a person for each role, partner organisations and a day of contacts.

Safe to run again: people who exist are kept, and contacts are only added to an empty store.
The passwords are for a local demonstration only and are printed by ``make run``.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from .extensions import db
from .intake import submit
from .models import Contact, Organisation, User
from .security import hash_password

DEMO_PASSWORD = "demo-password-2026"
DEMO_PEOPLE = (
    ("practitioner@demo.invalid", "practitioner", None),
    ("practitioner2@demo.invalid", "practitioner", None),
    ("manager@demo.invalid", "manager", None),
    ("manager2@demo.invalid", "manager", None),
    ("police@demo.invalid", "partner", "Demo Police"),
    ("school@demo.invalid", "partner", "Demo Primary School"),
    ("health@demo.invalid", "partner", "Demo Health Visiting Service"),
    ("admin@demo.invalid", "admin", None),
)
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "examples" / "contacts"


def _organisation(name: str | None) -> Organisation | None:
    if name is None:
        return None
    org = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = Organisation(name=name)
        db.session.add(org)
    return org


def ensure_people() -> dict[str, User]:
    people = {}
    for email, role, org_name in DEMO_PEOPLE:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, role=role, organisation=_organisation(org_name),
                        password_hash=hash_password(DEMO_PASSWORD))
            db.session.add(user)
        people[email] = user
    db.session.commit()
    return people


def demo_contacts(count: int, now: datetime) -> list[dict]:
    """A day of contacts, received since the last working day began; synthetic, never real."""
    try:
        from training.generate import demo_day
    except ImportError:  # the generator is not there yet: the shared examples only
        return shared_examples(now)
    return demo_day(count, now=now)


def _sender(contact: dict, people: dict[str, User]) -> User:
    for user in people.values():
        if user.role == "partner" and user.organisation and user.organisation.name == contact["source"]["organisation"]:
            return user
    return people["practitioner@demo.invalid"]  # taken by phone


def seed(count: int = 40, now: datetime | None = None) -> list[str]:
    """Create the demo; return the lines to print (the demo logins first)."""
    now = now or datetime.now(timezone.utc)
    people = ensure_people()
    lines = ["Demo sign-ins (password for all: " + DEMO_PASSWORD + "):"]
    lines += [f"  {role:<13} {email}" + (f"  ({org})" if org else "") for email, role, org in DEMO_PEOPLE]
    existing = db.session.scalar(select(func.count()).select_from(Contact))
    if existing:
        lines.append(f"{existing} contacts already stored; no demo contacts added.")
        return lines
    contacts = demo_contacts(count, now)
    stored = [submit(copy.deepcopy(contact), _sender(contact, people))[0] for contact in contacts]
    lines.append(f"added {len(contacts)} demo contacts received since {min(c['received_at'] for c in contacts)}")
    from .feedback_demo import seed_outcomes

    lines += seed_outcomes(stored, people)
    return lines


def shared_examples(now: datetime) -> list[dict]:
    """The shared valid examples, re-dated to the last few hours (used by tests and the demo)."""
    out = []
    for i, path in enumerate(sorted(EXAMPLES.glob("*.json"))):
        contact = json.loads(path.read_text())
        contact["received_at"] = (now - timedelta(hours=i + 1)).isoformat(timespec="seconds")
        contact.pop("incident_at", None)
        out.append(contact)
    return out

"""Demo outcomes: decide, review and release feedback on some of the demo contacts.

So that with ``make run`` a partner who signs in reads feedback on their own contacts and a
manager sees dashboard and report figures, ``seed_outcomes`` takes the contacts the demo just
stored and records decisions and reviews through ``triage.decisions`` (the same rules, record
and events as a person's) and releases feedback through ``triage.feedback``. It leaves some
contacts awaiting a decision and some awaiting review, so the queues have work in them too.
Deterministic: the same contacts always get the same outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from triage.engine.guidance import Guidance
from triage.record.queries import latest_decision
from triage.record.tables import Contact, Review, User
from triage.record.workflow import Status
from triage.services import decisions, feedback

# Of every ten contacts: the first seven are decided, the first five of those reviewed and
# their feedback released; the rest wait for a decision or a review.
DECIDED_PER_TEN = 7
REVIEWED_PER_TEN = 5
# Every fifth decision departs from the recommendation; every fourth review changes the level.
DEPART_EVERY = 5
CHANGE_EVERY = 4


EARLY_HELP_CONSENT = ("Demo: the early help worker will ask the family for consent at the first visit; "
                      "nothing is shared with other services until they agree.")


def _name(guidance: Guidance, level: int) -> str:
    return guidance.levels[level]["name"]


def decide(contact: Contact, practitioner: User, guidance: Guidance, *, level: int | None = None,
           marac_referral: bool | None = None, at: datetime | None = None) -> int:
    """A practitioner's decision at ``level`` (default: the recommendation); returns the level."""
    terms = decision_terms(contact, guidance, level=level, marac_referral=marac_referral)
    decisions.record_decision(contact, practitioner, **terms, now=at)
    return terms["level"]


def decision_terms(contact: Contact, guidance: Guidance, *, level: int | None = None,
                   marac_referral: bool | None = None) -> dict:
    """What the demo's practitioner records (``record_decision``'s arguments): level, rationale, consent..."""
    recommended = contact.recommended_level or max(contact.floor_level or 1, 1)
    level = level or recommended
    override = None
    if contact.recommended_level is not None and level != contact.recommended_level:
        override = (f"Demo: on what the contact and the agency checks show, level {level} "
                    f"({_name(guidance, level)}) fits this family better than level {recommended}.")
    return {
        "level": level,
        "rationale": f"Demo decision: level {level} ({_name(guidance, level)}), in line with the threshold "
                     "guidance indicators met and the information in the contact.",
        "marac_referral": contact.marac_recommended if marac_referral is None else marac_referral,
        "next_steps": "Demo: inform the referrer of the outcome.", "override_reason": override,
        "consent_reason": (EARLY_HELP_CONSENT if level == 2 and (contact.payload or {}).get("consent") != "obtained"
                           else None),
    }


def review(contact: Contact, manager: User, *, level: int | None = None, at: datetime | None = None) -> Review:
    """A manager's review: confirmed, or changed to ``level`` when it differs from the decision."""
    current = latest_decision(contact.id)
    return decisions.record_review(contact, manager, **review_terms(current.level if current else None, level),
                                   now=at)


def review_terms(decided: int | None, level: int | None) -> dict:
    """What the demo's manager records (``record_review``'s arguments) on a decision at ``decided``."""
    if level is None or decided is None or level == decided:
        return {"outcome": "confirmed",
                "rationale": "Demo review: the decision follows the guidance and the rationale is clear."}
    return {"outcome": "changed", "level": level,
            "rationale": f"Demo review: on the information held, level {level} is the right level for this family."}


def _changed_level(contact: Contact, decided: int) -> int:
    """A different level a manager might choose: one lower if the floor allows, else one higher."""
    lower = decided - 1
    return lower if lower >= max(contact.floor_level or 1, 1) else min(decided + 1, 4)


def working_times(accepted: datetime, i: int, now: datetime) -> tuple[datetime, datetime, datetime]:
    """When the demo decides, reviews and releases one contact: a plausible day, never after ``now``.

    Decided two to five hours after it reached the front door, reviewed one to three hours after
    that, feedback released a quarter of an hour later; all kept before ``now`` (the seed's time).
    """
    decided = accepted + timedelta(hours=2 + i % 4, minutes=7 * (i % 8))
    reviewed = decided + timedelta(hours=1 + i % 3, minutes=5 * (i % 6))
    released = reviewed + timedelta(minutes=15)
    latest = now - timedelta(minutes=5)
    if released > latest:  # squeeze into the time there is, keeping the order
        span = max((latest - accepted).total_seconds(), 60.0)
        decided, reviewed, released = (accepted + timedelta(seconds=span * f) for f in (0.5, 0.75, 0.9))
    return decided, reviewed, released


@dataclass(frozen=True)
class Plan:
    """What the demo does with one contact: who decides at which level, and who reviews and releases, when."""

    level: int
    practitioner: User
    decided_at: datetime | None
    reviewer: User | None = None  # None: left awaiting review
    review_level: int | None = None  # a changed level, or None to confirm
    releaser: User | None = None
    reviewed_at: datetime | None = None
    released_at: datetime | None = None


def plan_for(contact: Contact, i: int, practitioners: Sequence[User], managers: Sequence[User],
             now: datetime | None = None) -> Plan | None:
    """The demo's outcome for the ``i``-th contact it stored (None: left awaiting a decision). Deterministic."""
    if contact.status != Status.AWAITING_DECISION or i % 10 >= DECIDED_PER_TEN:
        return None
    recommended = contact.recommended_level or max(contact.floor_level or 1, 1)
    level = min(recommended + 1, 4) if i % DEPART_EVERY == DEPART_EVERY - 1 else recommended
    decided_at, reviewed_at, released_at = working_times(contact.accepted_at, i, now) if now else (None,) * 3
    practitioner = practitioners[i % len(practitioners)]
    if i % 10 >= REVIEWED_PER_TEN:
        return Plan(level, practitioner, decided_at)
    change = i % CHANGE_EVERY == CHANGE_EVERY - 1
    return Plan(level, practitioner, decided_at, reviewer=managers[i % len(managers)],
                review_level=_changed_level(contact, level) if change else None,
                releaser=managers[(i + 1) % len(managers)], reviewed_at=reviewed_at, released_at=released_at)


def seed_outcomes(contacts: Sequence[Contact], people: Mapping[str, User],
                  guidance: Guidance, now: datetime | None = None, *, first: int = 0) -> list[str]:
    """Record demo outcomes on ``contacts`` (as stored by the demo); returns lines to print.

    ``people`` is the demo's email -> User mapping (``demo.ensure_people()``): decisions are
    made by its practitioners, reviews and releases by its managers, never the same person.
    ``first``: the number of the first of ``contacts`` among all the demo stored (``plan_for``'s ``i``).
    """
    practitioners = [u for u in people.values() if u.role == "practitioner"]
    managers = [u for u in people.values() if u.role == "manager"]
    if not practitioners or not managers:
        return ["no demo outcomes: the demo needs a practitioner and a manager"]
    decided = reviewed = released = 0
    for i, contact in enumerate(contacts, start=first):
        plan = plan_for(contact, i, practitioners, managers, now)
        if plan is None:
            continue
        decide(contact, plan.practitioner, guidance, level=plan.level, at=plan.decided_at)
        decided += 1
        if plan.reviewer is None:
            continue
        review(contact, plan.reviewer, level=plan.review_level, at=plan.reviewed_at)
        reviewed += 1
        feedback.release(contact, plan.releaser, guidance, now=plan.released_at)
        released += 1
    return [f"demo outcomes: {decided} contacts decided, {reviewed} reviewed by a manager, "
            f"feedback released to the partner on {released}"]

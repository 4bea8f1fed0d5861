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
    recommended = contact.recommended_level or max(contact.floor_level or 1, 1)
    level = level or recommended
    override = None
    if contact.recommended_level is not None and level != contact.recommended_level:
        override = (f"Demo: on what the contact and the agency checks show, level {level} "
                    f"({_name(guidance, level)}) fits this family better than level {recommended}.")
    decisions.record_decision(
        contact, practitioner, level=level,
        rationale=f"Demo decision: level {level} ({_name(guidance, level)}), in line with the threshold "
                  "guidance indicators met and the information in the contact.",
        marac_referral=contact.marac_recommended if marac_referral is None else marac_referral,
        next_steps="Demo: inform the referrer of the outcome.", override_reason=override,
        consent_reason=(EARLY_HELP_CONSENT if level == 2 and (contact.payload or {}).get("consent") != "obtained"
                        else None),
        now=at,
    )
    return level


def review(contact: Contact, manager: User, *, level: int | None = None, at: datetime | None = None) -> Review:
    """A manager's review: confirmed, or changed to ``level`` when it differs from the decision."""
    current = latest_decision(contact.id)
    if level is None or current is None or level == current.level:
        return decisions.record_review(
            contact, manager, outcome="confirmed",
            rationale="Demo review: the decision follows the guidance and the rationale is clear.", now=at)
    return decisions.record_review(
        contact, manager, outcome="changed", level=level,
        rationale=f"Demo review: on the information held, level {level} is the right level for this family.",
        now=at)


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


def seed_outcomes(contacts: Sequence[Contact], people: Mapping[str, User],
                  guidance: Guidance, now: datetime | None = None) -> list[str]:
    """Record demo outcomes on ``contacts`` (as stored by the demo); returns lines to print.

    ``people`` is the demo's email -> User mapping (``demo.ensure_people()``): decisions are
    made by its practitioners, reviews and releases by its managers, never the same person.
    """
    practitioners = [u for u in people.values() if u.role == "practitioner"]
    managers = [u for u in people.values() if u.role == "manager"]
    if not practitioners or not managers:
        return ["no demo outcomes: the demo needs a practitioner and a manager"]
    decided = reviewed = released = 0
    for i, contact in enumerate(contacts):
        if contact.status != Status.AWAITING_DECISION or i % 10 >= DECIDED_PER_TEN:
            continue
        recommended = contact.recommended_level or max(contact.floor_level or 1, 1)
        level = min(recommended + 1, 4) if i % DEPART_EVERY == DEPART_EVERY - 1 else recommended
        decided_at, reviewed_at, released_at = working_times(contact.accepted_at, i, now) if now else (None,) * 3
        level = decide(contact, practitioners[i % len(practitioners)], guidance, level=level, at=decided_at)
        decided += 1
        if i % 10 >= REVIEWED_PER_TEN:
            continue
        change = i % CHANGE_EVERY == CHANGE_EVERY - 1
        review(contact, managers[i % len(managers)], level=_changed_level(contact, level) if change else None,
               at=reviewed_at)
        reviewed += 1
        feedback.release(contact, managers[(i + 1) % len(managers)], guidance, now=released_at)
        released += 1
    return [f"demo outcomes: {decided} contacts decided, {reviewed} reviewed by a manager, "
            f"feedback released to the partner on {released}"]

"""The retention rule: contacts that led to no further action lose their personal content in time.

A contact "led to no further action" when its outcome was confirmed by a manager at level 1
(Universal: no further action by children's social care). ``RETENTION_NFA_MONTHS`` after that
confirmation (``TRIAGE_RETENTION_NFA_MONTHS``, the council's retention schedule; six years by
default), ``apply`` removes what identifies or describes the family and keeps what the record and
the figures rest on:

- removed: the narrative, the referrer (name, role, email, phone), the team, the incident time,
  the DASH answers and other domestic-abuse detail, each child's reference, sex, ethnicity and
  disability, and the recommendation's drafted wording;
- kept: the contact's id, partner reference, source, organisation, primary concern and factors,
  consent position, the times (received, accepted, due), each child's pseudonymous ``child_id``,
  age and status, the recommendation's level, floor, urgency and probabilities, and every
  decision, review and event.

Each contact changed gets one ``retention_applied`` event, made in the same transaction, naming
the rule, what was removed and sealing the content that is left (``content_digest``), so
``audit-verify`` checks the pseudonymised contact against that seal instead of the original one:
the chain still verifies, and an edit made after retention is still named. Contacts already
pseudonymised are left alone, so running it again changes nothing.

Not removed: the free text of decisions, reviews and requests, which the record's events copy and
the chain commits to (removing it would need the chain to commit to digests of that text).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from triage.extensions import db
from triage.record import audit
from triage.record.tables import Contact, Event, Review, utcnow  # noqa: F401 (utcnow: the CLI's clock)
from triage.record.workflow import Status

NO_FURTHER_ACTION = 1
#: What a removed child reference reads as (the contract needs one; it identifies nobody).
REMOVED_MARK = "removed"
#: The parts of the partner's document that are kept; everything else in it is removed.
KEPT_FIELDS = ("partner_reference", "received_at", "primary_concern", "factors", "consent", "referrer_request")
KEPT_SOURCE = ("code", "organisation")
KEPT_CHILD = ("age_years", "unborn", "current_status")
#: The recommendation's wording drafted from the contact (it may quote it); its figures are kept.
DRAFTED = ("rationale_draft", "rationale_drafts", "what_would_change", "information_gaps", "checks_found")
REMOVED = ("narrative", "referrer", "team", "incident_at", "domestic_abuse", "children: reference, sex, ethnicity, "
           "disability", "the recommendation's drafted wording")


@dataclass(frozen=True)
class Outcome:
    cutoff: datetime
    due: int
    applied: int
    oldest: datetime | None

    def summary(self, dry_run: bool) -> str:
        if not self.due:
            return (f"no contact that led to no further action was confirmed before {self.cutoff:%Y-%m-%d}: "
                    "nothing to remove")
        done = "would be pseudonymised" if dry_run else "pseudonymised"
        return (f"{self.due} contact(s) that led to no further action were confirmed before "
                f"{self.cutoff:%Y-%m-%d} (the oldest on {self.oldest:%Y-%m-%d}): {self.applied if not dry_run else self.due} "
                f"{done}; their decisions, reviews and events are kept")


def months_before(when: datetime, months: int) -> datetime:
    index = when.year * 12 + when.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1]))


def due(now: datetime, months: int) -> list[tuple[Contact, datetime]]:
    """Contacts confirmed at level 1 before the cut-off and not yet pseudonymised, with when."""
    cutoff = months_before(now, months)
    latest = (select(Review.contact_id, func.max(Review.id).label("id")).group_by(Review.contact_id).subquery())
    done = exists().where(Event.contact_id == Contact.id, Event.kind == "retention_applied")
    rows = db.session.execute(
        select(Contact, Review.reviewed_at)
        .join(latest, latest.c.contact_id == Contact.id)
        .join(Review, Review.id == latest.c.id)
        .where(Contact.status == Status.DECIDED.value, Review.level == NO_FURTHER_ACTION,
               Review.reviewed_at < cutoff, ~done)
        .options(selectinload(Contact.children))
        .order_by(Review.reviewed_at)
    ).all()
    return [(contact, reviewed_at) for contact, reviewed_at in rows]


def _pseudonymised(payload: dict) -> dict:
    kept = {key: payload[key] for key in KEPT_FIELDS if key in payload}
    source = payload.get("source") or {}
    kept["source"] = {key: source[key] for key in KEPT_SOURCE if key in source}
    kept["children"] = [{"child_reference": REMOVED_MARK, **{key: child[key] for key in KEPT_CHILD if key in child}}
                        for child in payload.get("children") or []]
    return kept


def _pseudonymise(contact: Contact) -> None:
    contact.payload = _pseudonymised(dict(contact.payload or {}))
    for column in ("recommendation", "screening_recommendation"):
        value = getattr(contact, column)
        if isinstance(value, dict):
            setattr(contact, column, {key: item for key, item in value.items() if key not in DRAFTED})
    for child in contact.children:
        child.child_reference = REMOVED_MARK
        child.sex = child.ethnicity = child.disabled = None


def apply(now: datetime, months: int, *, dry_run: bool = False) -> Outcome:
    """Pseudonymise every contact past retention (or, with ``dry_run``, only count them)."""
    found = due(now, months)
    cutoff = months_before(now, months)
    oldest = found[0][1] if found else None
    if dry_run:
        return Outcome(cutoff, len(found), 0, oldest)
    for contact, confirmed_at in found:
        _pseudonymise(contact)
        db.session.flush()
        audit.record("retention_applied", contact_id=contact.id, data={
            "rule": f"no further action, kept {months} months after the outcome was confirmed",
            "confirmed_at": confirmed_at, "removed": list(REMOVED),
            "content_digest": audit.content_digest(contact),
        })
    db.session.commit()
    return Outcome(cutoff, len(found), len(found), oldest)

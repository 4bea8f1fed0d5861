"""A child across contacts: the service's child records, their links, and what the store knows.

The first screening step at a front door is "have we had this child before?". Each child on a
stored contact points at one ``ChildRecord`` (found by identifier hash at intake, else new), and
a practitioner or manager may say two records are one child (``ChildLink``), or undo that
(``ChildUnlink``). A child's *group* is every record reachable through links still in force;
nothing on a contact is ever rewritten, so undoing a link restores exactly what was there.

``known_history`` is what the recommendation reads (``engine.history.KnownHistory``);
``child_history`` is what a worker reads (the API and the "Known to us" panel). Both count from
the front door's clock (``accepted_at``) and the decisions in the record, never from what a
partner typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import case, or_, select
from sqlalchemy.orm import selectinload

from triage.engine.errors import Conflict, Invalid, NotFound
from triage.engine.history import KnownHistory
from triage.extensions import db
from triage.record import audit
from triage.record.tables import (
    Child,
    ChildLink,
    ChildRecord,
    ChildUnlink,
    Contact,
    Decision,
    Review,
    User,
    utcnow,
)

TWELVE_MONTHS = timedelta(days=365)
# A decided level at or above this is a referral to children's social care (spec section 3).
REFERRAL_LEVEL = 3
MIN_REASON = 10
RECENT_CONTACTS = 20


def _active_links(child_ids: Iterable[str]) -> list[ChildLink]:
    """Links touching these records that nobody has undone."""
    ids = list(child_ids)
    undone = select(ChildUnlink.link_id)
    return list(db.session.scalars(
        select(ChildLink).where(or_(ChildLink.child_id.in_(ids), ChildLink.linked_child_id.in_(ids)),
                                ChildLink.id.not_in(undone))
    ))


def group(child_ids: Iterable[str]) -> set[str]:
    """Every record that is the same child as one of these, following links still in force."""
    found = set(child_ids)
    frontier = set(found)
    while frontier:
        reached = {end for link in _active_links(frontier) for end in (link.child_id, link.linked_child_id)}
        frontier = reached - found
        found |= frontier
    return found


@dataclass(frozen=True)
class Earlier:
    """One contact about the child, as the history shows it."""

    contact: Contact
    decided_level: int | None
    marac_referral: bool
    decided: bool

    @property
    def accepted_at(self) -> datetime:
        return self.contact.accepted_at


class Counted(Protocol):
    """What the history counts of an earlier contact (an ``Earlier``, or the batch loader's own note of one)."""

    accepted_at: datetime
    decided_level: int | None
    marac_referral: bool


@dataclass
class Seen:
    """What the history counts of one earlier contact, as three values (no contact loaded).

    The batch loader keeps one per stored contact instead of reading it back, and updates it as
    its decisions are made.
    """

    accepted_at: datetime
    decided_level: int | None = None
    marac_referral: bool = False


def _with_outcome(*columns):
    """``columns`` with each contact's decided level (the manager's, once reviewed) and MARAC decision.

    The latest decision and review are kept on the contact (``latest_decision_id``,
    ``latest_review_id``), so one join finds them: a review counts only if it is of that decision.
    """
    level = case((Review.decision_id == Decision.id, Review.level), else_=Decision.level)
    return (select(*columns, level, Decision.marac_referral).select_from(Contact)
            .outerjoin(Decision, Decision.id == Contact.latest_decision_id)
            .outerjoin(Review, Review.id == Contact.latest_review_id))


def _about(child_ids: Iterable[str], before: datetime | None, exclude: str | None, query):
    """``query`` limited to contacts about any child in these records' groups, newest first; None if none."""
    records = group(child_ids)
    if not records:
        return None
    query = (query.where(Contact.id.in_(select(Child.contact_id).where(Child.child_id.in_(records))))
             .order_by(Contact.accepted_at.desc(), Contact.id))
    if before is not None:
        query = query.where(Contact.accepted_at < before)
    if exclude is not None:
        query = query.where(Contact.id != exclude)
    return query


def contacts_about(child_ids: Iterable[str], *, before: datetime | None = None,
                   exclude: str | None = None) -> list[Earlier]:
    """Contacts about any child in these records' groups, newest first (by the front door's clock).

    One statement for the contacts and their outcomes, one each for their organisations and
    children (a child's history grows; the cost per contact must not be a query of its own).
    """
    query = _about(child_ids, before, exclude, _with_outcome(Contact)
                   .options(selectinload(Contact.organisation), selectinload(Contact.children)))
    if query is None:
        return []
    return [Earlier(contact, level, bool(marac), level is not None)
            for contact, level, marac in db.session.execute(query)]


def _counted_about(child_ids: Iterable[str], before: datetime, exclude: str | None) -> list[Seen]:
    """What the history counts of each earlier contact, read as three columns (no contact loaded)."""
    query = _about(child_ids, before, exclude, _with_outcome(Contact.accepted_at))
    if query is None:
        return []
    return [Seen(accepted_at, level, bool(marac)) for accepted_at, level, marac in db.session.execute(query)]


def _counts(rows: Sequence[Counted], as_of: datetime) -> dict:
    recent = [r for r in rows if as_of - TWELVE_MONTHS <= r.accepted_at < as_of]
    return {
        "contacts_12m": len(recent),
        "referrals_12m": sum(1 for r in recent if (r.decided_level or 0) >= REFERRAL_LEVEL),
        "marac_12m": any(r.marac_referral for r in recent),
    }


def known_history(child_ids: Iterable[str], *, before: datetime, exclude: str | None = None) -> KnownHistory:
    """What the recommendation reads: the store's history of these children before ``before``.

    No records, no history: most intakes name no child already known, and building the query
    only to find that cost 4% of an intake's CPU (it is asked twice per intake)."""
    child_ids = list(child_ids)
    return history_from(_counted_about(child_ids, before, exclude) if child_ids else [], before)


def history_from(rows: Sequence[Counted], before: datetime) -> KnownHistory:
    """``known_history`` from the earlier contacts already found (one rule for intake and the batch loader)."""
    levels = [r.decided_level for r in rows if r.decided_level is not None]
    return KnownHistory(earlier_contacts=len(rows), highest_level=max(levels, default=None),
                        **_counts(rows, before))


def _item(row: Earlier, names: dict[int, str]) -> dict:
    c = row.contact
    return {
        "contact_id": c.id,
        "accepted_at": c.accepted_at,
        "received_at": c.received_at,
        "source": {"code": c.source_code, "organisation": c.organisation.name},
        "primary_concern": c.primary_concern,
        "decided_level": row.decided_level,
        "decided_level_name": names.get(row.decided_level) if row.decided_level else None,
        "status": c.status,
        "marac": {"recommended": bool(c.marac_recommended), "referral_decided": row.marac_referral},
        "children": [{"child_id": ch.child_id, "age_years": ch.age_years, "unborn": bool(ch.unborn)}
                     for ch in c.children],
    }


def _link_json(link: ChildLink, unlink: ChildUnlink | None) -> dict:
    return {
        "id": link.id, "child_id": link.child_id, "linked_child_id": link.linked_child_id,
        "contact_id": link.contact_id, "reason": link.reason, "linked_by": link.linked_by.label,
        "linked_at": link.linked_at,
        "undone": None if unlink is None else {
            "reason": unlink.reason, "by": unlink.unlinked_by.label, "at": unlink.unlinked_at},
    }


def links_of(child_ids: Iterable[str]) -> list[dict]:
    """Every link (in force or undone) touching these records, oldest first."""
    ids = list(child_ids)
    rows = db.session.execute(
        select(ChildLink, ChildUnlink).outerjoin(ChildUnlink, ChildUnlink.link_id == ChildLink.id)
        .where(or_(ChildLink.child_id.in_(ids), ChildLink.linked_child_id.in_(ids))).order_by(ChildLink.id)
    ).all()
    return [_link_json(link, unlink) for link, unlink in rows]


def child_history(child_ids: list[str], names: dict[int, str], *, as_of: datetime | None = None,
                  exclude: str | None = None) -> dict:
    """What a worker reads about a child (or a contact's children): contacts, counts and links.

    ``as_of`` (a contact's own ``accepted_at``) limits it to what came before; the counts are
    over the twelve months before ``as_of`` (default: now).
    """
    when = as_of or utcnow()
    rows = contacts_about(child_ids, before=as_of, exclude=exclude)
    records = group(child_ids)
    return {
        "child_ids": sorted(records),
        "contacts": [_item(r, names) for r in rows],
        **_counts(rows, when),
        "as_of": when,
        "links": links_of(records),
    }


def get_record(child_id: str) -> ChildRecord:
    record = db.session.get(ChildRecord, child_id)
    if record is None:
        raise NotFound("No child record with that id.")
    return record


def _reason(reason: object) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) < MIN_REASON:
        raise Invalid("Say why.", errors={"reason": [f"Give the reason, at least {MIN_REASON} characters."]})
    return text


def _contact_of(contact_id: object, child_ids: set[str]) -> str | None:
    """The contact a link was made from, which must be about one of the two children."""
    if contact_id is None:
        return None
    on_contact = db.session.scalar(select(Child.id).where(Child.contact_id == str(contact_id),
                                                          Child.child_id.in_(child_ids)).limit(1))
    if on_contact is None:
        raise Invalid("That contact is not about either child.",
                      errors={"contact_id": ["Give a contact about one of the two children, or leave it out."]})
    return str(contact_id)


def link(child_id: str, other_id: object, reason: object, user: User, contact_id: object = None) -> ChildLink:
    """Record that ``child_id`` and ``other_id`` are one child; a recorded event, nothing rewritten."""
    get_record(child_id)
    if not isinstance(other_id, str) or db.session.get(ChildRecord, other_id) is None:
        raise Invalid("No child record to link to.", errors={"linked_child_id": ["Give an existing child_id."]})
    if other_id in group([child_id]):
        raise Conflict("These records are already one child.")
    row = ChildLink(child_id=child_id, linked_child_id=other_id, reason=_reason(reason),
                    contact_id=_contact_of(contact_id, {child_id, other_id}), linked_by_id=user.id)
    db.session.add(row)
    db.session.flush()
    audit.record("child_linked", contact_id=row.contact_id, user=user, data={
        "link_id": row.id, "child_id": row.child_id, "linked_child_id": row.linked_child_id,
        "reason": row.reason})
    db.session.commit()
    return row


def unlink(child_id: str, link_id: int, reason: object, user: User, contact_id: object = None) -> ChildUnlink:
    """Undo a link (a new row pointing at it); the link stays in the record, marked undone."""
    row = db.session.get(ChildLink, link_id)
    if row is None or child_id not in (row.child_id, row.linked_child_id):
        raise NotFound("No link with that id on this child record.")
    if db.session.scalar(select(ChildUnlink.id).where(ChildUnlink.link_id == link_id)) is not None:
        raise Conflict("That link has already been undone.")
    undo = ChildUnlink(link_id=link_id, reason=_reason(reason), unlinked_by_id=user.id,
                       contact_id=_contact_of(contact_id, {row.child_id, row.linked_child_id}))
    db.session.add(undo)
    db.session.flush()
    audit.record("child_unlinked", contact_id=undo.contact_id, user=user, data={
        "unlink_id": undo.id, "link_id": link_id, "reason": undo.reason})
    db.session.commit()
    return undo


def find(text: str) -> list[dict]:
    """Child records for the linking page, by the service's own ids only (never an identifier).

    A ``child_id``, a contact id or a partner reference finds the records on it; with nothing
    typed, the children of the most recent contacts are offered.
    """
    text = (text or "").strip()
    query = select(Contact).order_by(Contact.accepted_at.desc(), Contact.id)
    if text:
        on_child = select(Child.contact_id).where(Child.child_id == text)
        query = query.where(or_(Contact.id == text, Contact.partner_reference == text, Contact.id.in_(on_child)))
    rows, seen = [], set()
    for contact in db.session.scalars(query.limit(RECENT_CONTACTS)):
        for ch in contact.children:
            if ch.child_id in seen or (text and text not in (contact.id, contact.partner_reference, ch.child_id)):
                continue
            seen.add(ch.child_id)
            rows.append({"child_id": ch.child_id, "child_reference": ch.child_reference,
                         "age_years": ch.age_years, "unborn": bool(ch.unborn), "contact_id": contact.id,
                         "partner_reference": contact.partner_reference,
                         "organisation": contact.organisation.name, "accepted_at": contact.accepted_at,
                         "primary_concern": contact.primary_concern})
    return rows


def same_child_ids() -> dict[str, str]:
    """For every linked record, the record that stands for its whole group (the oldest id in it).

    One query over the links in force, joined in memory, for reports and exports that read many
    contacts at once; a record in no link stands for itself and is left out.
    """
    undone = select(ChildUnlink.link_id)
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    for a, b in db.session.execute(select(ChildLink.child_id, ChildLink.linked_child_id)
                                   .where(ChildLink.id.not_in(undone))):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
        parent.setdefault(min(ra, rb), min(ra, rb))
    return {node: root(node) for node in parent}

"""The queries more than one use case or edge needs, written once.

The latest decision and review on a contact (a correction is a new row, so "latest" is the
highest id; ``contacts.latest_decision_id`` and ``latest_review_id`` name them), which contacts and organisations a person may see (a partner only its own; another
organisation's is answered as not found, so its existence is not disclosed), the
organisation with a given name, and a window of contacts read a batch at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from triage.engine.errors import NotFound
from triage.extensions import db
from triage.record.paging import Ordering
from triage.record.tables import Contact, Decision, Organisation, Review, User

NO_CONTACT = "No contact with that id is visible to you."
NO_ORGANISATION = "No organisation with that id is visible to you."

#: Contacts as a list or a queue row shows them: their children and the sender's organisation loaded with
#: them (two more statements for a page, not two for each row). The second pass of a page (``rows_in_order``).
LISTED_CONTACTS = select(Contact).options(selectinload(Contact.children), joinedload(Contact.organisation))

#: The order a window of contacts is read in a batch at a time (the Annex A lists, the training file, the
#: what-if replay): oldest first by the front door's clock.
ACCEPTED_ORDER = Ordering("accepted", ((Contact.accepted_at, False), (Contact.id, False)))


def accepted_window(start: datetime, end: datetime, after: tuple[datetime, str] | None = None) -> list:
    """Conditions for the contacts accepted in ``[start, end)``, after ``after`` in ``ACCEPTED_ORDER`` if given.

    The batch after a position starts its index range at the position's time, not the window's
    start (``after`` is in the window, so the start says nothing more): with both, each batch read
    the window from its start and filtered. A year's List 1 at 200,000 contacts on PostgreSQL read
    and dropped 35,001 rows for its 36th batch (15.5 ms, against 0.8 ms from the position).
    """
    if after is None:
        return [Contact.accepted_at >= start, Contact.accepted_at < end]
    return [Contact.accepted_at < end, ACCEPTED_ORDER.after(after)]


def among(column, values: list[str]):
    """``column IN values`` for a batch of string ids; on PostgreSQL as one array parameter.

    A batch's 1,000 ids as 1,000 bound parameters cost SQLAlchemy a statement rendered and bound
    anew each time and PostgreSQL 1,000 parameters to parse: at 200,000 contacts a probe of an
    export's list took 11 ms that way and 6.8 ms as one array (a year's List 1 reads 40 batches).
    """
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam("among", value=values, type_=ARRAY(String), unique=True))
    return column.in_(values)


def latest(model, contact_id: str):
    """The newest row of ``model`` (Decision, Review, FeedbackRelease...) for one contact, or None."""
    return db.session.scalar(
        select(model).where(model.contact_id == contact_id).order_by(model.id.desc()).limit(1)
    )


def latest_decision(contact_id: str) -> Decision | None:
    return latest(Decision, contact_id)


def latest_review(contact_id: str) -> Review | None:
    return latest(Review, contact_id)


def latest_decisions() -> Select:
    """Every contact's latest decision, as a query to join against.

    Found through ``contacts.latest_decision_id`` (kept by ``services/decisions.py``), not by
    ``max(id)`` over every decision ever made.
    """
    return select(Decision).join(Contact, Contact.latest_decision_id == Decision.id)


def visible_contacts(user: User) -> Select:
    """The contacts ``user`` may see: a partner only its own organisation's."""
    query = select(Contact)
    if user.role == "partner":
        query = query.where(Contact.organisation_id == user.organisation_id)
    return query


def get_visible_contact(contact_id: str, user: User) -> Contact:
    """The contact, or NotFound (also for another organisation's: its existence is not disclosed)."""
    contact = db.session.scalar(visible_contacts(user).where(Contact.id == contact_id))
    if contact is None:
        raise NotFound(NO_CONTACT)
    return contact


def get_visible_organisation(organisation_id: int, user: User) -> Organisation:
    """The organisation, or NotFound; a partner sees only its own."""
    org = db.session.get(Organisation, organisation_id)
    if org is None or (user.role == "partner" and user.organisation_id != org.id):
        raise NotFound(NO_ORGANISATION)
    return org


def existing_organisation(name: str) -> Organisation | None:
    """This exact name, else the same name in another case (oldest first): one organisation per name."""
    org = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = db.session.scalar(select(Organisation).where(func.lower(Organisation.name) == name.lower())
                                .order_by(Organisation.id).limit(1))
    return org


def organisation_named(name: str) -> Organisation:
    """The organisation with this name (in any case), created if new.

    Creation is in a savepoint: racing requests may both try, and the loser reads the winner's row.
    Shared by intake (phone contacts name their sender) and ``accounts`` (a partner's organisation).
    """
    org = existing_organisation(name)
    if org is None:
        try:
            with db.session.begin_nested():
                org = Organisation(name=name)
                db.session.add(org)
        except IntegrityError:
            org = db.session.scalar(select(Organisation).where(Organisation.name == name))
            if org is None:
                raise
    return org

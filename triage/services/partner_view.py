"""What a partner sees of its own contact: where it is, when it is due, and the outcome once released.

Why this exists: the inspection found that partners misread the thresholds, and the service's
recommendation (level, urgency, floor, MARAC and DASH reading) is advice to the front door, not an
outcome. Shown to the sender before any person had decided, it read as the answer and was acted on.
So a partner sees its contact's status and the decision deadline, and the outcome only as the
feedback a manager released (``services.feedback``: a confirmed outcome, never a recommendation
or an unreviewed decision). Staff roles keep seeing the recommendation.

This is the one place that rule lives: the API (``triage/api/contacts.py``) and the partner's
pages (``triage/web/feedback.py``) both ask ``sees_recommendation`` and ``partner_view``.
"""

from __future__ import annotations

from sqlalchemy.orm import selectinload

from triage.engine.contract import rfc3339
from triage.extensions import db
from triage.record.paging import Ordering, Page, keyset, split
from triage.record.queries import visible_contacts
from triage.record.tables import Contact, User
from triage.record.workflow import Status
from triage.services import feedback

#: The roles that see the front door's internal recommendation on a contact.
RECOMMENDATION_READERS = frozenset({"practitioner", "manager"})

#: Where a contact is, as the partner who sent it reads it. The internal steps (checks with other
#: agencies, a manager's review) are said plainly; none of them names a level.
PARTNER_STATUS_WORDS = {
    Status.AWAITING_DECISION: "Waiting for the front door's decision",
    Status.CHECKS_REQUESTED: "The front door is checking with other agencies before deciding",
    Status.INFO_REQUESTED: "The front door has asked you for more information",
    Status.AWAITING_REVIEW: "Decided; waiting for a team manager to confirm the decision",
    Status.DECIDED: "Decision confirmed by a team manager",
}


def sees_recommendation(user: User) -> bool:
    """Whether ``user`` may see the recommendation, urgency and the front door's decision on a contact."""
    return user.role in RECOMMENDATION_READERS


def partner_view(contact: Contact) -> dict:
    """Status, the decision deadline, and the released feedback (None until a manager releases it).

    The outcome is read from the newest release, so a decision confirmed but not yet released, or
    changed on a later review and not released again, shows what the partner was last told.
    """
    release = feedback.latest_release(contact.id)
    return {
        "status": contact.status,
        "status_text": PARTNER_STATUS_WORDS[Status(contact.status)],
        "decision_due_at": rfc3339(contact.decision_due_at),
        "feedback": feedback.release_json(release) if release is not None else None,
    }


#: A partner's list of its own contacts: newest received first (the contact list's index serves it).
OUR_CONTACTS_ORDER = Ordering("our-contacts", ((Contact.received_at, True), (Contact.id, True)))


def our_contacts(user: User, cursor: str | None, per_page: int) -> Page:
    """One page of the contacts ``user``'s organisation sent, each as (contact, ``partner_view``)."""
    query = keyset(visible_contacts(user).options(selectinload(Contact.children)),
                   OUR_CONTACTS_ORDER, cursor, per_page)
    rows, next_cursor = split(db.session.execute(query).all(), OUR_CONTACTS_ORDER, per_page)
    return Page([(contact, partner_view(contact)) for (contact,) in rows], next_cursor)

"""Sealing the content of contacts stored before the record committed to it (an upgrade step).

Since issue 18, intake's ``scored`` event holds a digest of the contact's stored content (its
payload, children and recommendation), so ``audit-verify`` names any later edit. Contacts stored
by an earlier version have events without that digest: verification counts them but can say
nothing about their content, and an edit to them goes unnoticed.

``seal`` closes that gap going forward. It first verifies the whole record (sealing content that
was already tampered with would launder the change, so a broken record is refused), then gives
each unsealed contact one ``content_sealed`` event holding the digest of what is stored now. The
event says plainly what it proves: the content from this moment on, not before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from triage.extensions import db
from triage.record import audit
from triage.record.tables import Contact, Event

BATCH = 500
#: What the event says it proves, in words an auditor reads in the contact's history.
PROVES = ("the contact's content as stored when this event was made; it was stored before the record "
          "committed to content, so edits made before this moment cannot be detected")


@dataclass(frozen=True)
class Sealing:
    ok: bool
    sealed: int
    message: str


def unsealed() -> Iterator[str]:
    """Ids of contacts no sealing event commits to, oldest first."""
    sealed = exists().where(Event.contact_id == Contact.id, Event.kind.in_(audit.SEALING_KINDS),
                            Event.data["content_digest"].as_string().is_not(None))
    return iter(db.session.scalars(select(Contact.id).where(~sealed).order_by(Contact.accepted_at, Contact.id)).all())


def seal() -> Sealing:
    """Verify the record, then seal every unsealed contact's current content (a batch per commit).

    The transaction begins first, so the verification reads inside it (on SQLite it holds the write
    lock from the check to the first seal: nothing can change what was just verified in between).
    """
    db.session.connection()
    verified = audit.verify()
    if not verified.ok:
        return Sealing(False, 0, f"nothing sealed: {verified.summary()}")
    ids = list(unsealed())
    for start in range(0, len(ids), BATCH):
        batch = db.session.scalars(select(Contact).options(selectinload(Contact.children))
                                   .where(Contact.id.in_(ids[start:start + BATCH]))).all()
        for contact in batch:
            audit.record("content_sealed", contact_id=contact.id,
                         data={"content_digest": audit.content_digest(contact), "proves": PROVES})
        db.session.commit()
    if not ids:
        return Sealing(True, 0, "every contact's content was already sealed; nothing changed")
    return Sealing(True, len(ids), f"sealed the content of {len(ids)} contacts stored before content sealing; "
                                   "audit-verify now names any later edit to them")

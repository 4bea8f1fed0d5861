"""New rows written as plain INSERT statements, with what the ORM's flush would have given them.

Why: every intake stores one contact and its children. Through the ORM's unit of work (sorting the
pending objects, cascading, collecting each row's values, reading the children's keys back one
mapper at a time) that cost about 0.4 ms of a worker's CPU per intake of some 6.5 ms (in one process,
blocks of ten intakes alternating the two ways, 20,000-contact stores on both databases), and on
this 2-core machine intake at 8 clients is bound by CPU. The rows are the same: the column defaults
are applied as a flush applies them (``row_values``, which the batch loader uses too), and the
contact's recommendation facts set as the ORM's listener sets them (``recommendation_facts``).
Once inserted, the session holds the contact and its children as rows it has loaded
(``make_transient_to_detached``), so whoever stored it may go on to change it as before.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import make_transient_to_detached

from triage.extensions import db
from triage.record.tables import Child, Contact, recommendation_facts, time_ordered_id


class _Parameters:
    """What a context-sensitive column default reads (``context.get_current_parameters()``) at a flush."""

    def __init__(self, values: dict):
        self.values = values

    def get_current_parameters(self) -> dict:
        return self.values


def row_values(row) -> dict:
    """A new row's columns as an INSERT takes them, Python-side defaults applied as a flush would
    (after the row's own values, so a default computed from them, such as ``accepted_day``, sees them)."""
    out = {column.key: row.__dict__.get(column.key) for column in row.__table__.columns}
    for column in row.__table__.columns:
        if column.key not in row.__dict__ and column.default is not None and not column.primary_key:
            arg = column.default.arg
            out[column.key] = arg(_Parameters(out)) if column.default.is_callable else arg
    return out


# Built once: intake runs them on every request (a statement built per call costs its cache key).
_INSERT_CONTACT = insert(Contact.__table__)
#: The children's keys come back in the order their rows were given (one statement for them all).
_INSERT_CHILDREN = insert(Child.__table__).returning(Child.__table__.c.id, sort_by_parameter_order=True)


def insert_contact(row: Contact) -> None:
    """Store a new contact and its children (``row.children``) in the caller's transaction.

    Anything the session holds pending that they may refer to (a new organisation) is written first. A
    contact that is already stored (the organisation's reference taken) raises ``IntegrityError``
    from the INSERT, as a flush would, and nothing is added to the session.
    """
    db.session.flush()
    prepare_contact(row)
    db.session.execute(_INSERT_CONTACT, _filled(row))
    children = list(row.children)
    for child in children:
        child.contact_id = row.id
    if children:
        keys = db.session.execute(_INSERT_CHILDREN, [_filled(child, but="id") for child in children]).scalars().all()
        for child, key in zip(children, keys, strict=True):
            child.id = key
    for stored in (row, *children):
        make_transient_to_detached(stored)
    db.session.add(row)  # its children with it (the relationship's cascade)


def prepare_contact(row: Contact) -> None:
    """A new contact's id, and the facts read off its recommendation, set as the ORM's listener sets them
    (``tables._keep_recommendation_facts``): for a contact inserted without the ORM, here or by the batch loader."""
    row.id = row.id or time_ordered_id()
    for column, value in recommendation_facts(row.recommendation).items():
        setattr(row, column, value)


def _filled(row, but: str | None = None) -> dict:
    """``row_values`` (less the column ``but``), each value also set on the object, so it reads as the stored row."""
    values = row_values(row)
    values.pop(but, None)
    for key, value in values.items():
        if key not in row.__dict__:
            setattr(row, key, value)
    return values

"""``insert_contact`` stores the row the ORM's flush stored, and leaves the session holding it (issue 19)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.factories import child, contact_payload
from triage.engine.contract import validate_contact
from triage.extensions import db
from triage.record.inserts import insert_contact
from triage.record.tables import Child, ChildRecord, Contact, User, new_id
from triage.services.intake import _new_contact, sender_organisation

AT = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)
#: What differs between two stored contacts whatever stored them: their ids, references and when they were written.
THEIR_OWN = {"id", "created_at", "contact_id", "partner_reference", "child_id"}


def _contact(app, people, reference: str) -> Contact:
    """A new, unsaved contact with two children, as intake builds it (scored by the app's recommender)."""
    payload, errors = validate_contact(contact_payload(partner_reference=reference,
                                                       children=[child(child_reference="C-A", age_years=4),
                                                                 child(child_reference="C-B", age_years=9)]))
    assert not errors, errors
    user = db.session.get(User, people["partner"].id)
    records = [new_id(), new_id()]
    db.session.add_all(ChildRecord(id=record) for record in records)
    recommendation = app.extensions["recommender"].recommend(payload, received_at=AT)
    return _new_contact(payload, user, sender_organisation(payload, user), (AT, AT), recommendation, records)


def _stored(contact_id: str) -> tuple[dict, list[dict]]:
    """The contact's and its children's columns as the store holds them, read afresh."""
    db.session.expire_all()
    row = db.session.get(Contact, contact_id)
    columns = {c.key: getattr(row, c.key) for c in Contact.__table__.columns if c.key not in THEIR_OWN}
    columns["payload"] = {key: value for key, value in columns["payload"].items() if key != "partner_reference"}
    children = [{c.key: getattr(kid, c.key) for c in Child.__table__.columns if c.key not in THEIR_OWN}
                for kid in sorted(row.children, key=lambda kid: kid.position)]
    return columns, children


def test_the_stored_contact_and_children_are_those_the_orm_flush_stores(app, people):
    with app.app_context():
        by_orm = _contact(app, people, "ORM-1")
        db.session.add(by_orm)
        db.session.commit()
        by_insert = _contact(app, people, "INSERT-1")
        insert_contact(by_insert)
        db.session.commit()
        (contact, children), (expected, expected_children) = _stored(by_insert.id), _stored(by_orm.id)
        assert {key: value for key, value in contact.items() if expected[key] != value} == {}
        assert children == expected_children and len(children) == 2
        facts = _stored(by_insert.id)[0]
        assert facts["version"] == 1 and facts["accepted_day"] is not None and facts["gap_count"] is not None


def test_the_session_holds_it_as_stored_so_a_change_to_it_is_an_update(app, people):
    with app.app_context():
        row = _contact(app, people, "INSERT-2")
        insert_contact(row)
        assert row in db.session and row not in db.session.new and row.children[0].id is not None
        db.session.commit()
        row.status = "closed"
        db.session.commit()
        db.session.expire_all()
        stored = db.session.get(Contact, row.id)
        assert (stored.status, stored.version) == ("closed", 2)
        assert db.session.scalar(select(Contact.id).where(Contact.partner_reference == "INSERT-2")) == row.id


def test_a_reference_already_stored_is_refused_and_nothing_is_added(app, people):
    with app.app_context():
        insert_contact(_contact(app, people, "INSERT-3"))
        db.session.commit()
        again = _contact(app, people, "INSERT-3")
        with pytest.raises(IntegrityError):
            insert_contact(again)
        db.session.rollback()
        assert again not in db.session
        assert len(db.session.scalars(select(Contact.id).where(Contact.partner_reference == "INSERT-3")).all()) == 1

"""Issue 18: contacts stored before the record committed to their content get sealed on upgrade.

A contact whose ``scored`` event carries no content digest (as stored by an earlier version) can
be edited without ``audit-verify`` noticing; ``flask triage audit-seal`` verifies the record, then
seals what is stored now, after which an edit is named. A broken record is refused, not sealed.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select, update

from tests.record.test_audit import full_path, verify
from tests.record.test_audit_keyed import as_attacker, rehash_from
from triage.extensions import db
from triage.record.tables import Contact, Decision, Event


def as_stored_before_sealing(app, contact_id: str) -> None:
    """Remove the digest from the contact's ``scored`` event and re-hash with the key, as an
    earlier version's record (re-keyed by ``audit-rekey``) would be."""
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.contact_id == contact_id, Event.kind == "scored"))
        seq, data = event.seq, {k: v for k, v in event.data.items() if k != "content_digest"}
        key = app.config["AUDIT_KEY"].encode()
    as_attacker(app, "events", update(Event).where(Event.seq == seq).values(data=data))
    rehash_from(app, seq, lambda prev, body: hmac.new(key, prev.encode() + body, hashlib.sha256).hexdigest())


def edit_narrative(app, contact_id: str, text: str) -> None:
    with app.app_context():
        payload = {**db.session.get(Contact, contact_id).payload, "narrative": text}
        db.session.execute(update(Contact).where(Contact.id == contact_id).values(payload=payload))
        db.session.commit()


def seal(runner):
    return runner.invoke(args=["triage", "audit-seal"])


def test_an_unsealed_contact_can_be_edited_unnoticed_until_it_is_sealed(app, client, runner, people):
    contact_id = full_path(app, client, people)
    as_stored_before_sealing(app, contact_id)
    edit_narrative(app, contact_id, "Changed before the upgrade.")
    assert verify(runner).exit_code == 0  # the hole: nothing commits to this contact's content

    result = seal(runner)
    assert result.exit_code == 0 and "sealed the content of 1 contacts" in result.output, result.output
    assert verify(runner).exit_code == 0
    edit_narrative(app, contact_id, "Changed after the upgrade.")
    result = verify(runner)
    assert result.exit_code == 1 and f"contact {contact_id}" in result.output, result.output


def test_the_seal_says_what_it_proves_and_sealing_again_changes_nothing(app, client, runner, people):
    contact_id = full_path(app, client, people)
    as_stored_before_sealing(app, contact_id)
    assert seal(runner).exit_code == 0
    with app.app_context():
        (event,) = db.session.scalars(select(Event).where(Event.kind == "content_sealed")).all()
        assert event.contact_id == contact_id and "cannot be detected" in event.data["proves"]
        before = db.session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1))
    result = seal(runner)
    assert result.exit_code == 0 and "nothing changed" in result.output
    with app.app_context():
        assert db.session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) == before


def test_contacts_sealed_at_intake_are_left_alone(app, client, runner, people):
    full_path(app, client, people)
    result = seal(runner)
    assert result.exit_code == 0 and "already sealed" in result.output


def test_a_broken_record_is_refused_not_sealed(app, client, runner, people):
    contact_id = full_path(app, client, people)
    as_stored_before_sealing(app, contact_id)
    as_attacker(app, "decisions", update(Decision).where(Decision.contact_id == contact_id).values(level=4))
    result = seal(runner)
    assert result.exit_code == 1 and "nothing sealed" in result.output and "BROKEN" in result.output
    with app.app_context():
        assert db.session.scalar(select(Event).where(Event.kind == "content_sealed")) is None

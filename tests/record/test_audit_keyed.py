"""Tamper evidence over the whole record, keyed, and checkable against checkpoints kept elsewhere.

Issue 18 finding 11: editing a contact's stored content left ``audit-verify`` "intact", and anyone
who could write the database could rewrite a decision, re-hash the chain with SHA-256 and update
its head. Now each event is an HMAC under ``TRIAGE_AUDIT_KEY`` (never in the database), the
``scored`` event commits to the contact's content, and ``audit-checkpoint`` exports the head.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy import delete, select, text, update

from tests.record.test_audit import TRIGGERS, full_path, verify
from triage.extensions import db
from triage.record import audit
from triage.record.tables import AuditCheckpoint, AuditStream, Child, Contact, Decision, Event


def rehash_from(app, seq: int, digest) -> None:
    """What an attacker with the database does after editing event ``seq``: re-hash every later
    event of every stream with ``digest(prev_hash, canonical)`` and move the stream heads to match."""
    with app.app_context():
        events = db.session.scalars(select(Event).where(Event.seq >= seq).order_by(Event.seq)).all()
        heads = {}
        fixes = []
        for event in events:
            if event.stream not in heads:
                heads[event.stream] = db.session.scalar(select(Event.hash).where(Event.seq == event.prev_seq)) \
                    if event.prev_seq else audit.GENESIS
            prev = heads[event.stream]
            new = digest(prev, audit._canonical(event))
            fixes.append((event.seq, prev, new))
            heads[event.stream] = new
    as_attacker(app, "events", *(update(Event).where(Event.seq == number).values(prev_hash=link, hash=new)
                                 for number, link, new in fixes))
    with app.app_context():
        for stream, last in heads.items():
            db.session.execute(update(AuditStream).where(AuditStream.stream == stream).values(last_hash=last))
        db.session.commit()


def forge_checkpoints(app) -> None:
    """A key holder also replaces the stored checkpoints with ones made over the rewritten record."""
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            db.session.execute(text("DROP TRIGGER IF EXISTS audit_checkpoints_no_delete"))
            db.session.execute(delete(AuditCheckpoint))
        else:
            db.session.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only"))
            db.session.execute(delete(AuditCheckpoint))
            db.session.execute(text("ALTER TABLE audit_checkpoints ENABLE TRIGGER audit_checkpoints_append_only"))
        db.session.commit()
        audit.make_checkpoint()


def plain_sha(prev: str, body: bytes) -> str:
    return hashlib.sha256(prev.encode() + body).hexdigest()


def as_attacker(app, table: str, *statements) -> None:
    """Updates to an append-only table with its trigger off, in one transaction, as an attacker could."""
    with app.app_context():
        dialect = db.engine.dialect.name
        trigger = TRIGGERS[dialect].format(table=table, action="update")
        if dialect == "sqlite":
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            for statement in statements:
                db.session.execute(statement)
        else:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
            for statement in statements:
                db.session.execute(statement)
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        db.session.commit()


def change_decisions(app, statement) -> None:
    as_attacker(app, "decisions", statement)


def rewrite_decision(app, contact_id: str, digest) -> None:
    """Change the decision's level in its row and its event, then re-hash the chain."""
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.contact_id == contact_id, Event.kind == "decided"))
        seq, data = event.seq, {**event.data, "level": 4}
    change_decisions(app, update(Decision).where(Decision.contact_id == contact_id).values(level=4))
    as_attacker(app, "events", update(Event).where(Event.seq == seq).values(data=data))
    rehash_from(app, seq, digest)


def test_a_decision_rewritten_and_rehashed_with_sha256_is_named(app, client, runner, people):
    contact_id = full_path(app, client, people)
    rewrite_decision(app, contact_id, plain_sha)
    result = verify(runner)
    assert result.exit_code == 1 and "BROKEN" in result.output, result.output


def test_rehashing_with_a_guessed_key_is_named_too(app, client, runner, people):
    contact_id = full_path(app, client, people)
    rewrite_decision(app, contact_id, lambda prev, body: hmac.new(b"guess", prev.encode() + body,
                                                                  hashlib.sha256).hexdigest())
    assert verify(runner).exit_code == 1


def test_the_key_comes_from_the_environment_and_is_not_in_the_database(app, client, people):
    full_path(app, client, people)
    key = app.config["AUDIT_KEY"]
    with app.app_context():
        for table in ("events", "audit_head", "audit_streams", "audit_checkpoints"):
            dump = json.dumps([list(r) for r in db.session.execute(text(f"SELECT * FROM {table}"))], default=str)
            assert key not in dump


def edit_contact(app, contact_id: str, statement) -> None:
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def test_editing_a_contacts_narrative_is_named(app, client, runner, people):
    contact_id = full_path(app, client, people)
    with app.app_context():
        payload = dict(db.session.get(Contact, contact_id).payload)
    payload["narrative"] = "Something else entirely."
    edit_contact(app, contact_id, update(Contact).where(Contact.id == contact_id).values(payload=payload))
    result = verify(runner)
    assert result.exit_code == 1 and f"contact {contact_id}" in result.output, result.output


def test_editing_the_recommended_level_or_urgency_is_named(app, client, runner, people):
    contact_id = full_path(app, client, people)
    edit_contact(app, contact_id, update(Contact).where(Contact.id == contact_id).values(urgency="green"))
    assert f"contact {contact_id}" in verify(runner).output
    edit_contact(app, contact_id, update(Contact).where(Contact.id == contact_id).values(urgency="red",
                                                                                       recommended_level=1))
    assert verify(runner).exit_code == 1


def test_editing_a_childs_age_is_named(app, client, runner, people):
    contact_id = full_path(app, client, people)
    edit_contact(app, contact_id, update(Child).where(Child.contact_id == contact_id).values(age_years=17))
    result = verify(runner)
    assert result.exit_code == 1 and f"contact {contact_id}" in result.output


def test_a_checkpoint_proves_nothing_before_it_was_rewritten_even_by_a_key_holder(app, client, runner, people,
                                                                                    tmp_path):
    contact_id = full_path(app, client, people)
    checkpoint = tmp_path / "head.json"
    made = runner.invoke(args=["triage", "audit-checkpoint", "--output", str(checkpoint)])
    assert made.exit_code == 0, made.output
    assert json.loads(checkpoint.read_text())["seq"] == 5
    assert runner.invoke(args=["triage", "audit-verify", "--checkpoint", str(checkpoint)]).exit_code == 0
    key = app.config["AUDIT_KEY"].encode()
    rewrite_decision(app, contact_id, lambda prev, body: hmac.new(key, prev.encode() + body,
                                                                  hashlib.sha256).hexdigest())
    assert verify(runner).exit_code == 1  # the stored checkpoint's digest no longer matches
    forge_checkpoints(app)
    assert verify(runner).exit_code == 0  # with the key, the database alone cannot tell
    result = runner.invoke(args=["triage", "audit-verify", "--checkpoint", str(checkpoint)])
    assert result.exit_code == 1 and "checkpoint" in result.output, result.output


def test_the_checkpoint_goes_to_stdout_by_default(app, client, runner, people):
    full_path(app, client, people)
    result = runner.invoke(args=["triage", "audit-checkpoint"])
    assert result.exit_code == 0
    assert json.loads(result.output)["seq"] == 5


def test_a_chain_made_before_keying_verifies_after_audit_rekey(app, client, runner, people):
    """The migration path: an existing plain SHA-256 chain is checked as such, then re-hashed with the key."""
    full_path(app, client, people)
    with app.app_context():
        first = db.session.scalar(select(Event.seq).order_by(Event.seq).limit(1))
    rehash_from(app, first, plain_sha)  # as the chain was stored before this change
    assert verify(runner).exit_code == 1
    result = runner.invoke(args=["triage", "audit-rekey"])
    assert result.exit_code == 0, result.output
    assert verify(runner).exit_code == 0


def test_audit_rekey_refuses_a_legacy_chain_that_is_already_broken(app, client, runner, people):
    contact_id = full_path(app, client, people)
    with app.app_context():
        first = db.session.scalar(select(Event.seq).order_by(Event.seq).limit(1))
    rehash_from(app, first, plain_sha)
    change_decisions(app, update(Decision).where(Decision.contact_id == contact_id).values(level=4))
    result = runner.invoke(args=["triage", "audit-rekey"])
    assert result.exit_code == 1 and "BROKEN" in result.output

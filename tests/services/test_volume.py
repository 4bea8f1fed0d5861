"""seed-volume, the batch loader, stores exactly what intake, decisions and feedback store (issue 19 item 5).

The same contacts go in twice, into fresh stores: one by one through ``intake.submit`` and the
demo's ``seed_outcomes`` (each contact's outcome recorded before the next arrives), and in
batches by ``seed_volume``. Every row of every table the load touches, and every event, must be
the same, once the service's random ids (contacts, child records) are named by what they stand
for and the wall-clock columns (created_at) and hashes (which cover those ids) are set aside; and
both chains must verify.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text

from tests.conftest import _fresh_database
from triage.app import create_app
from triage.engine.contract import validate_contact
from triage.extensions import db
from triage.record import audit
from triage.record.tables import (
    AuditStream,
    Child,
    ChildIdentifier,
    Contact,
    Decision,
    Event,
    FeedbackRelease,
    GuidanceAdoption,
    GuidanceVersion,
    Review,
)
from triage.services import volume
from triage.services.demo import _sender, ensure_people
from triage.services.demo_outcomes import seed_outcomes
from triage.services.intake import submit

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)
COUNT = 150
WALL_CLOCK = {"created_at", "first_served_at"}  # stamped when the row is written, not by the contact
HASHES = {"hash", "prev_hash", "last_hash"}  # cover the random ids, so they differ; verify() checks them
TABLES = ((Contact, "partner_reference"), (Child, "id"), (ChildIdentifier, "id"), (Decision, "id"),
          (Review, "id"), (FeedbackRelease, "id"), (Event, "seq"), (AuditStream, "seq"),
          (GuidanceVersion, "id"), (GuidanceAdoption, "id"))


def _by_intake(recommender) -> None:
    people = ensure_people()
    for i, contact, received in volume.contacts(COUNT, now=NOW):
        valid, errors = validate_contact(contact)
        assert not errors, errors
        row, created = submit(valid, _sender(valid, people), recommender, now=received)
        assert created
        seed_outcomes([row], people, recommender.guidance, now=NOW, first=i)


def _by_loader(recommender) -> None:
    lines = list(volume.seed_volume(recommender, COUNT, now=NOW, parallel=False))
    assert lines[-1].startswith("audit chain intact"), lines


def _store() -> dict[str, list[str]]:
    """Every row of the load's tables as JSON, ids named by what they stand for, in a stable order."""
    names = {}
    for contact in db.session.scalars(select(Contact).order_by(Contact.partner_reference)):
        names[contact.id] = f"<contact {contact.partner_reference}>"
        for child in sorted(contact.children, key=lambda c: c.position):
            names.setdefault(child.child_id, f"<child record {len(names)}>")
    out = {}
    for model, order in TABLES:
        rows = []
        for row in db.session.scalars(select(model).order_by(getattr(model, order))):
            values = {c.key: getattr(row, c.key) for c in model.__table__.columns
                      if c.key not in WALL_CLOCK | HASHES}
            if model is Event and row.contact_id is None:
                values.pop("at")  # the demo accounts being made, when the run began
            if model is Event and "content_digest" in row.data:  # covers the child ids; verify() checks it
                values["data"] = {k: v for k, v in row.data.items() if k != "content_digest"}
            text = json.dumps(values, sort_keys=True, default=str)
            for random_id, name in names.items():
                text = text.replace(random_id, name)
            rows.append(text)
        out[model.__tablename__] = rows
    return out


class _Clock(datetime):
    """The recommender's wall clock (checks fall due hours after it), held still so two runs can agree."""

    @classmethod
    def now(cls, tz=None):
        return NOW.astimezone(tz) if tz else NOW.replace(tzinfo=None)


def test_the_batch_loader_stores_what_intake_and_the_demo_outcomes_store(migrated, tmp_path, monkeypatch):
    monkeypatch.setattr("triage.engine.recommend.datetime", _Clock)
    stores = {}
    for name, load in (("intake", _by_intake), ("loader", _by_loader)):
        (tmp_path / name).mkdir()
        app = create_app({"SQLALCHEMY_DATABASE_URI": _fresh_database(migrated, tmp_path / name), "TESTING": True})
        with app.app_context():
            load(app.extensions["recommender"])
            assert audit.verify().ok
            stores[name] = _store()
            met_again = db.session.scalar(select(func.count()).select_from(
                select(Child.child_id).group_by(Child.child_id).having(func.count() > 1).subquery()))
            db.session.remove()
            db.engine.dispose()
    intake, loader = stores["intake"], stores["loader"]
    assert len(intake["contacts"]) == COUNT
    assert len(intake["decisions"]) > COUNT // 2 and intake["feedback_releases"] and intake["child_identifiers"]
    assert met_again  # some children were met before: the history path is exercised
    for table in intake:
        assert len(loader[table]) == len(intake[table]), table
        for mine, theirs in zip(loader[table], intake[table], strict=True):
            assert mine == theirs, table


def _without_clock(batches: list) -> list:
    """Each contact as checked, with its score's wall-clock times (checks fall due after ``now``) set aside."""
    out = []
    for batch in batches:
        for i, valid, received, scored in batch:
            rec, failure = scored or (None, None)
            kept = None if rec is None else {k: v for k, v in rec.items() if k not in {"checks", "next_step"}}
            out.append((i, valid, received, kept, failure, rec is not None and len(rec.get("checks") or [])))
    return out


def test_the_worker_pool_checks_and_scores_as_the_loader_would_alone(app):
    """The pool (another process per core) returns the same contacts, in the same order, as checking in-line."""
    recommender = app.extensions["recommender"]
    alone = list(volume._batches(40, NOW, 19, recommender, 0))
    pooled = list(volume._batches(40, NOW, 19, recommender, 2))
    assert [len(b) for b in pooled] == [len(b) for b in alone] == [40]
    assert sum(1 for b in alone for item in b if item[3] is not None) > 10  # the first-met ones were scored
    assert _without_clock(pooled) == _without_clock(alone)


def test_a_postgresql_load_ends_vacuumed_and_analysed(app):
    """After seed-volume the store is as autovacuum would leave a live one: statistics and visibility map."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's planner statistics (SQLite plans without them, as a live SQLite store does)")
        lines = list(volume.seed_volume(app.extensions["recommender"], 30, now=NOW, parallel=False, verify=False))
        assert any(line.startswith("vacuumed, and statistics gathered") for line in lines), lines
        done = db.session.scalar(text("SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'contacts' "
                                      "AND last_analyze IS NOT NULL AND last_vacuum IS NOT NULL"))
        assert done == 1

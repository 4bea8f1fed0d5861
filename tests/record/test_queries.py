"""Queries written once: ``among``, a batch of ids as one condition on either database."""

from __future__ import annotations

from sqlalchemy import or_, select

from triage.extensions import db
from triage.record.queries import among
from triage.record.tables import Organisation


def test_among_finds_exactly_the_rows_whose_value_is_in_the_batch(app):
    with app.app_context():
        db.session.add_all(Organisation(name=name) for name in ("North Police", "South Police", "West School"))
        db.session.commit()
        found = db.session.scalars(select(Organisation.name)
                                   .where(among(Organisation.name, ["South Police", "West School", "Nobody"]))).all()
        assert sorted(found) == ["South Police", "West School"]


def test_two_batches_in_one_statement_keep_their_own_values(app):
    with app.app_context():
        db.session.add_all(Organisation(name=name) for name in ("North Police", "South Police", "West School"))
        db.session.commit()
        either = or_(among(Organisation.name, ["North Police"]), among(Organisation.name, ["West School"]))
        assert sorted(db.session.scalars(select(Organisation.name).where(either))) == ["North Police", "West School"]


def test_on_postgresql_the_batch_is_one_array_parameter_not_one_per_id(app):
    with app.app_context():
        query = select(Organisation.id).where(among(Organisation.name, [f"org {i}" for i in range(1000)]))
        compiled = query.compile(db.engine)
        if db.engine.dialect.name == "postgresql":
            assert "ANY" in str(compiled) and len(compiled.params) == 1
        else:
            assert " IN " in str(compiled)

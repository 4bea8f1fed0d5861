"""On SQLite too, the store refuses a child with no child record and a contact with no front-door time.

Migration 0003 added ``children.child_id`` and ``contacts.accepted_at`` and, on PostgreSQL, made
them NOT NULL and gave ``child_id`` its foreign key to ``child_records``. SQLite cannot add either
to a table in place, so there only the models held the rule: a bug or a hand-written statement
could store a child tied to no record, or a contact whose decision clock never started.

Here SQLite rebuilds ``children`` (nothing refers to it) with both rules. ``contacts`` cannot be
rebuilt while rows refer to it, so a trigger refuses a NULL ``accepted_at`` instead. The test
``tests/record/test_migrations_match_models.py`` compares every table with the models; this
trigger is the one difference it allows, on SQLite only. PostgreSQL has had both since 0003:
nothing changes there.

Revision ID: 0025_sqlite_children_rules
Revises: 0024_export_lists_by_export
Create Date: 2026-12-06
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0025_sqlite_children_rules"
down_revision = "0024_export_lists_by_export"
branch_labels = None
depends_on = None

TRIGGERS = {
    "contacts_accepted_at_on_insert": "BEFORE INSERT ON contacts",
    "contacts_accepted_at_on_update": "BEFORE UPDATE OF accepted_at ON contacts",
}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _records_for_unrecorded_children() -> None:
    """A child stored with no record (the models never let one be) gets a record of its own, as 0003 did."""
    conn = op.get_bind()
    records = sa.table("child_records", sa.column("id", sa.String), sa.column("created_at"))
    children = sa.table("children", sa.column("id", sa.Integer), sa.column("child_id", sa.String))
    for (row_id,) in conn.execute(sa.select(children.c.id).where(children.c.child_id.is_(None))).all():
        child_id = str(uuid.uuid4())
        conn.execute(sa.insert(records).values(id=child_id, created_at=sa.text("CURRENT_TIMESTAMP")))
        conn.execute(sa.update(children).where(children.c.id == row_id).values(child_id=child_id))


def upgrade():
    if not _sqlite():
        return
    _records_for_unrecorded_children()
    with op.batch_alter_table("children", recreate="always") as batch:
        batch.alter_column("child_id", existing_type=sa.String(length=36), nullable=False)
        batch.create_foreign_key("fk_children_child_id", "child_records", ["child_id"], ["id"])
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} WHEN NEW.accepted_at IS NULL "
                   "BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: contacts.accepted_at'); END")


def downgrade():
    if not _sqlite():
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("children", recreate="always") as batch:
        batch.drop_constraint("fk_children_child_id", type_="foreignkey")
        batch.alter_column("child_id", existing_type=sa.String(length=36), nullable=True)

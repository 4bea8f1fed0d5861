"""The front door's own clock (``accepted_at``) and the service's records of children across contacts.

Existing rows are carried over: a contact a partner's system sent was accepted when it was
stored (``created_at``); one a front-door worker recorded keeps the call time it was given
(``received_at``), as intake now does (spec section 8). Every child already stored gets a
record of its own: no identifiers were kept before, so nothing says two of them are one child.
Deadlines already set are left as they were: people have worked to them.

Revision ID: 0003_children_and_clock
Revises: 0002
Create Date: 2026-12-02
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0003_children_and_clock"
down_revision = "0002"
branch_labels = None
depends_on = None

# Rows that say what a person decided about a child's records are append-only, like decisions.
APPEND_ONLY = ("child_links", "child_unlinks", "child_identifiers")
STAFF = ("practitioner", "manager")


def upgrade():
    _children_tables()
    op.add_column("contacts", sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE contacts SET accepted_at = CASE WHEN created_by_id IN "
        f"(SELECT id FROM users WHERE role IN {STAFF!r}) THEN received_at ELSE created_at END"
    )
    op.create_index("ix_contacts_accepted_at", "contacts", ["accepted_at"], unique=False)
    op.add_column("children", sa.Column("child_id", sa.String(length=36), nullable=True))
    _records_for_existing_children()
    op.create_index("ix_children_child_id", "children", ["child_id"], unique=False)
    if op.get_bind().dialect.name != "sqlite":
        # SQLite cannot add NOT NULL or a foreign key to a table with rows without rebuilding it, and
        # rebuilding contacts is refused by the rows that point at it; there the models hold the rule.
        op.alter_column("contacts", "accepted_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        op.alter_column("children", "child_id", existing_type=sa.String(length=36), nullable=False)
        op.create_foreign_key("fk_children_child_id", "children", "child_records", ["child_id"], ["id"])
    _append_only_triggers()


def _children_tables():
    op.create_table(
        "child_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "child_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["child_records.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_child_identifiers_child_id", "child_identifiers", ["child_id"])
    op.create_table(
        "child_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("linked_child_id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["child_records.id"]),
        sa.ForeignKeyConstraint(["linked_child_id"], ["child_records.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["linked_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_child_links_child_id", "child_links", ["child_id"])
    op.create_index("ix_child_links_linked_child_id", "child_links", ["linked_child_id"])
    op.create_table(
        "child_unlinks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("unlinked_by_id", sa.Integer(), nullable=False),
        sa.Column("unlinked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["child_links.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["unlinked_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_id"),
    )


def _records_for_existing_children():
    """One new record per stored child (no identifiers were ever kept to say otherwise)."""
    conn = op.get_bind()
    now = sa.func.now() if conn.dialect.name == "postgresql" else sa.text("CURRENT_TIMESTAMP")
    records = sa.table("child_records", sa.column("id", sa.String), sa.column("created_at"))
    children = sa.table("children", sa.column("id", sa.Integer), sa.column("child_id", sa.String))
    for (row_id,) in conn.execute(sa.select(children.c.id)).all():
        child_id = str(uuid.uuid4())
        conn.execute(sa.insert(records).values(id=child_id, created_at=now))
        conn.execute(sa.update(children).where(children.c.id == row_id).values(child_id=child_id))


def _append_only_triggers():
    """As 0001: the database itself refuses UPDATE and DELETE on these tables."""
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION triage_append_only()")
        elif dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    if dialect != "sqlite":
        op.drop_constraint("fk_children_child_id", "children", type_="foreignkey")
    op.drop_index("ix_children_child_id", table_name="children")
    op.drop_index("ix_contacts_accepted_at", table_name="contacts")
    op.drop_column("children", "child_id")  # SQLite 3.35+ drops a column in place
    op.drop_column("contacts", "accepted_at")
    for table in ("child_unlinks", "child_links", "child_identifiers", "child_records"):
        op.drop_table(table)

"""A record that scales (issue 19 item 1): per-stream hash chains, stored checkpoints, one event per export.

Events gain ``stream`` (whose chain they belong to: a contact's, a person's, an export's, or the
service's) and ``prev_seq`` (the event before them in that stream), so appends lock one stream's
head row instead of a single row every request shares. Events stored before this revision keep
``stream`` NULL: they are the old single chain, still verified as one, ending at ``audit_head``.
``audit_checkpoints`` tie every stream together by global sequence; ``export_contacts`` is the
stored list an export event names by digest.

Revision ID: 0009_scale_record
Revises: 0008_rhythms
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_scale_record"
down_revision = "0008_rhythms"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_checkpoints", "export_contacts")


def upgrade():
    # Plain ADD COLUMN (no table copy), so the events table's append-only triggers stay as they are.
    op.add_column("events", sa.Column("stream", sa.String(length=60), nullable=True))
    op.add_column("events", sa.Column("prev_seq", sa.Integer(), nullable=True))
    op.create_index("ix_events_stream", "events", ["stream"], unique=False)
    op.create_table(
        "audit_streams",
        sa.Column("stream", sa.String(length=60), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("upto_seq", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prev_hash", name="uq_audit_checkpoints_prev_hash"),
    )
    op.create_table(
        "export_contacts",
        sa.Column("export_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("export_id", "position"),
    )
    op.create_index("ix_export_contacts_contact_id", "export_contacts", ["contact_id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Global order without a shared row: a sequence (gaps on rollback are fine; each stream is linked).
        start = bind.execute(sa.text("SELECT coalesce(max(seq), 0) + 1 FROM events")).scalar_one()
        op.execute(f"CREATE SEQUENCE events_seq_counter START WITH {int(start)} OWNED BY events.seq")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION triage_append_only()")
    else:
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade():
    bind = op.get_bind()
    for table in APPEND_ONLY:
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    if bind.dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS events_seq_counter")
    op.drop_index("ix_export_contacts_contact_id", table_name="export_contacts")
    op.drop_table("export_contacts")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_streams")
    op.drop_index("ix_events_stream", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("prev_seq")
        batch.drop_column("stream")

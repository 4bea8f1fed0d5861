"""Guidance versions and what-if runs (issue 16).

``guidance_versions`` keeps every version of the threshold guidance the service has served (label,
SHA-256, whole text) and ``guidance_adoptions`` when each came into force; ``guidance_drafts`` keeps
drafts uploaded for a what-if run, and ``what_if_runs`` a run's window, progress and report. The
versions, adoptions and drafts are append-only, like the rest of the record.

Revision ID: 0007_guidance_versions
Revises: 0006_checks
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_guidance_versions"
down_revision = "0006_checks"
branch_labels = None
depends_on = None

APPEND_ONLY = ("guidance_versions", "guidance_adoptions", "guidance_drafts")


def upgrade():
    op.create_table(
        "guidance_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_served_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256", name="uq_guidance_versions_sha256"),
    )
    op.create_table(
        "guidance_adoptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["guidance_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_guidance_adoptions_version_id"), "guidance_adoptions", ["version_id"], unique=False)
    op.create_table(
        "guidance_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_guidance_drafts_sha256"), "guidance_drafts", ["sha256"], unique=False)
    op.create_table(
        "what_if_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=True),
        sa.Column("window_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["draft_id"], ["guidance_drafts.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_what_if_runs_draft_id"), "what_if_runs", ["draft_id"], unique=False)
    _append_only_triggers()


def _append_only_triggers():
    """Versions, adoptions and drafts are part of the record: the database refuses UPDATE and DELETE."""
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
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.drop_table("what_if_runs")
    op.drop_table("guidance_drafts")
    op.drop_table("guidance_adoptions")
    op.drop_table("guidance_versions")

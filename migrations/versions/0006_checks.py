"""Multi-agency checks (spec section 10): agency types, check requests and answers, consent on decisions.

Check requests and responses are append-only like the rest of the record (each row vouched for
by its audit event); the contact keeps its screening recommendation beside the after-checks one.

Revision ID: 0006_checks
Revises: 0005_api_rate_limits
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_checks"
down_revision = "0005_api_rate_limits"
branch_labels = None
depends_on = None

APPEND_ONLY = ("check_requests", "check_responses")


def upgrade():
    # Plain ADD COLUMN (no table copy), so the append-only triggers on decisions stay as they are.
    op.add_column("organisations", sa.Column("agency_type", sa.String(length=20), nullable=True))
    op.add_column("contacts", sa.Column("screening_recommendation", sa.JSON(), nullable=True))
    op.add_column("decisions", sa.Column("recommendation_stage", sa.String(length=20), nullable=True))
    op.add_column("decisions", sa.Column("consent", sa.String(length=20), nullable=True))
    op.add_column("decisions", sa.Column("consent_reason", sa.Text(), nullable=True))
    op.create_table(
        "check_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=20), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("consent", sa.String(length=20), nullable=False),
        sa.Column("without_consent_reason", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_check_requests_contact_id"), "check_requests", ["contact_id"], unique=False)
    op.create_index(op.f("ix_check_requests_agency"), "check_requests", ["agency"], unique=False)
    op.create_index(op.f("ix_check_requests_due_at"), "check_requests", ["due_at"], unique=False)
    op.create_table(
        "check_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["check_id"], ["check_requests.id"]),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("check_id", name="uq_check_responses_check_id"),
    )
    _append_only_triggers()


def _append_only_triggers():
    """Checks and answers are part of the record: the database refuses UPDATE and DELETE on them."""
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
    op.drop_table("check_responses")
    op.drop_table("check_requests")
    for column in ("consent_reason", "consent", "recommendation_stage"):
        op.drop_column("decisions", column)
    op.drop_column("contacts", "screening_recommendation")
    op.drop_column("organisations", "agency_type")

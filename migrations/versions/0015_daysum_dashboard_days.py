"""Per-day summaries of the dashboard's counts (issue 15 finding 5): ``dashboard_days``.

One row per closed London day: the dashboard's grouped counts for that day (one entry per source
and model, ``reporting/dashboard.py``'s ``GROUPED``) and its MARAC criteria combinations, kept with
the day's fingerprint (how many contacts, the sum of their versions and of their latest decision
and review ids) so that a day whose contacts changed is counted again. ``reporting/daysum.py``
fills and reads it; the dashboard's answer is the same with or without it. The index on contacts
lets the database read the fingerprints of a year from the index alone.

Nothing in it is new information: it is a cache of counts of the contacts, sealed nowhere, and may
be emptied at any time (``flask triage dashboard-summaries --clear``). A later migration that
changes what the dashboard counts on contacts must empty it.

Revision ID: 0015_daysum_dashboard_days
Revises: 0014_queue_order
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_daysum_dashboard_days"
down_revision = "0014_queue_order"
branch_labels = None
depends_on = None

FINGERPRINT_INDEX = ("accepted_day", "version", "latest_decision_id", "latest_review_id", "decision_due_at",
                     "first_review_due_at")


def upgrade():
    op.create_table(
        "dashboard_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("layout", sa.String(40), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("version_sum", sa.BigInteger(), nullable=False),
        sa.Column("decisions_sum", sa.BigInteger(), nullable=False),
        sa.Column("reviews_sum", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_contacts_daysum", "contacts", list(FINGERPRINT_INDEX))


def downgrade():
    op.drop_index("ix_contacts_daysum", table_name="contacts")
    op.drop_table("dashboard_days")

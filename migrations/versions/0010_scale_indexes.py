"""Queues and lists that cost the size of the page (issue 19): indexes, and each contact's latest decision and review.

``contacts.latest_decision_id`` and ``latest_review_id`` name the newest decision and review
(a correction is a new row, so the newest is the highest id); ``services/decisions.py`` keeps
them from now on, and this migration fills them in for the contacts already stored. Indexes for
every filter and order the queues, the contact list and the reports use.

Revision ID: 0010_scale_indexes
Revises: 0009_scale_record
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_scale_indexes"
down_revision = "0009_scale_record"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_contacts_received_id", "contacts", ["received_at", "id"]),
    ("ix_contacts_org_received_id", "contacts", ["organisation_id", "received_at", "id"]),
    ("ix_contacts_status_due", "contacts", ["status", "decision_due_at"]),
    ("ix_decisions_decided_at", "decisions", ["decided_at"]),
    ("ix_reviews_reviewed_at", "reviews", ["reviewed_at"]),
)


def upgrade():
    # Plain ADD COLUMN (no table copy); contacts has no append-only trigger, so the backfill may update it.
    op.add_column("contacts", sa.Column("latest_decision_id", sa.Integer(), nullable=True))
    op.add_column("contacts", sa.Column("latest_review_id", sa.Integer(), nullable=True))
    op.execute("UPDATE contacts SET latest_decision_id = "
               "(SELECT max(d.id) FROM decisions d WHERE d.contact_id = contacts.id)")
    op.execute("UPDATE contacts SET latest_review_id = "
               "(SELECT max(r.id) FROM reviews r WHERE r.contact_id = contacts.id)")
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_column("contacts", "latest_review_id")
    op.drop_column("contacts", "latest_decision_id")

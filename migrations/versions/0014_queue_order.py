"""Queues that cost the size of the page however long the backlog (issue 19 item 3): covering indexes.

A queue's order (urgency, then deadline) is an expression no index returns in order, so the
database sorts every waiting contact to find the first page. ``services/queues.py`` now sorts the
ids and sort keys first and loads the page's contacts after; these indexes hold every column that
first pass reads, so it reads an index, not every waiting contact's row (JSON included); the
queue order's index starts with ``(status, decision_due_at)``, so it replaces ``ix_contacts_status_due``
(the overdue queue's range). The decided-today queue starts from today's decisions and finds each one's contact by
``latest_decision_id``. A partner's monthly report reads its month by ``(organisation_id,
accepted_at)``: on the organisation's index alone the police's month read every police contact.
The Annex A lists read decided contacts in a window by ``(status, accepted_at)``: on ``status``
alone SQLite read every decided contact (1.1 s for a month's List 3 at 200,000 contacts; 0.03 s).

Revision ID: 0014_queue_order
Revises: 0013_marac_criteria
Create Date: 2026-12-03
"""

from alembic import op

revision = "0014_queue_order"
down_revision = "0013_marac_criteria"
branch_labels = None
depends_on = None

INDEXES = (  # frozen copy of record/tables.py's
    ("ix_contacts_queue_order", ["status", "decision_due_at", "urgency", "accepted_at", "id"]),
    ("ix_contacts_review_order", ["status", "latest_decision_id", "urgency", "id"]),
    ("ix_contacts_latest_decision", ["latest_decision_id"]),
    ("ix_contacts_org_accepted", ["organisation_id", "accepted_at"]),
    ("ix_contacts_status_accepted", ["status", "accepted_at"]),
)
#: Replaced by an index that starts with the same column(s).
REPLACED = (("ix_contacts_status_due", ["status", "decision_due_at"]), ("ix_contacts_status", ["status"]))


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, "contacts", columns)
    for name, _ in REPLACED:
        op.drop_index(name, table_name="contacts")


def downgrade():
    for name, columns in REPLACED:
        op.create_index(name, "contacts", columns)
    for name, _ in INDEXES:
        op.drop_index(name, table_name="contacts")

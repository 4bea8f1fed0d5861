"""The review queues ordered from an index of contacts: the latest decision's facts kept beside it (issue 19).

"Awaiting my review" is ordered by the more urgent of the contact's rating and its decided level's,
then the oldest decision; "reviews overdue" by the oldest decision. Both read the level, time and
maker from ``decisions``, one row per waiting contact, and sorted the whole backlog: at 200,000
contacts, with 40,000 awaiting review, 0.11 and 0.15 s a page on SQLite (3.5 and 5.4 times their
20,000 figure). ``contacts.latest_decision_level``, ``latest_decided_at`` and ``latest_decided_by_id``
copy the latest decision's (kept by ``services/decisions.py`` with ``latest_decision_id``, which a
correction moves), so the backlog is read a page at a time from ``ix_contacts_review_order``, one
range per urgency and decided level (``services/queues.py``), and the overdue reviews in order from
``ix_contacts_reviews_due``.

Filled in here for every decided contact; ``contacts`` has no append-only trigger (these columns
are never part of its sealed content).

Revision ID: 0018_review_queue_facts
Revises: 0017_waiting_by_status
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_review_queue_facts"
down_revision = "0017_waiting_by_status"
branch_labels = None
depends_on = None

FACTS = {"latest_decision_level": "level", "latest_decided_at": "decided_at", "latest_decided_by_id": "decided_by_id"}
REVIEW_ORDER = ["status", "urgency", "latest_decision_level", "latest_decided_at", "id", "latest_decided_by_id"]


def _fill() -> str:
    copied = ", ".join(f"{column} = (SELECT decisions.{source} FROM decisions "
                       f"WHERE decisions.id = contacts.latest_decision_id)" for column, source in FACTS.items())
    return f"UPDATE contacts SET {copied} WHERE latest_decision_id IS NOT NULL"


def upgrade():
    op.add_column("contacts", sa.Column("latest_decision_level", sa.Integer(), nullable=True))
    op.add_column("contacts", sa.Column("latest_decided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("contacts", sa.Column("latest_decided_by_id", sa.Integer(), nullable=True))
    op.execute(_fill())
    op.drop_index("ix_contacts_review_order", table_name="contacts")
    op.create_index("ix_contacts_review_order", "contacts", REVIEW_ORDER)
    op.create_index("ix_contacts_reviews_due", "contacts", ["status", "latest_decided_at", "id"])


def downgrade():
    op.drop_index("ix_contacts_reviews_due", table_name="contacts")
    op.drop_index("ix_contacts_review_order", table_name="contacts")
    op.create_index("ix_contacts_review_order", "contacts", ["status", "latest_decision_id", "urgency", "id"])
    for column in reversed(FACTS):
        op.drop_column("contacts", column)  # SQLite 3.35+ drops a plain column in place

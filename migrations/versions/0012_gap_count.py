"""The partner report counted where the data is (issue 19 item 2): each contact's number of information gaps.

``contacts.gap_count`` is how many information gaps the recommendation in force lists (None when
it lists none at all: an unscored contact). The partner report's "no information missing" share
counts it instead of reading every contact's recommendation document (kilobytes each);
``record/tables.py`` keeps it whenever a recommendation is stored or replaced, and this migration
fills it in for the contacts already stored.

Revision ID: 0012_gap_count
Revises: 0011_dashboard_facts
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_gap_count"
down_revision = "0011_dashboard_facts"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("contacts", sa.Column("gap_count", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE contacts SET gap_count = json_array_length(recommendation -> 'information_gaps') "
                   "WHERE json_typeof(recommendation -> 'information_gaps') = 'array'")
    else:
        op.execute("UPDATE contacts SET gap_count = json_array_length(recommendation, '$.information_gaps') "
                   "WHERE json_type(recommendation, '$.information_gaps') = 'array'")


def downgrade():
    op.drop_column("contacts", "gap_count")  # SQLite 3.35+ drops a plain column in place (no table rebuild)

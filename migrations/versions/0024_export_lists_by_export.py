"""``export_contacts`` indexed by export, then contact, not by contact: a list costs the same to store every time (issue 19).

Every export stores its list before the file's first byte. Indexed by contact, each export put one
entry beside each listed contact's entries from earlier exports, at places all over the index: the
same year's List 1 (40,000 contacts, 200,000 stored) exported twelve times on SQLite held the write
lock 81 ms the first time and 143 ms the twelfth, growing with every export
(``benchmarks/bench_export_repeats.py``). By export, then contact, an export's entries go in
together. A contact's history finds its exports by looking in each export (``audit.history``).

Revision ID: 0024_export_lists_by_export
Revises: 0023_reviews_due_who
Create Date: 2026-12-05
"""

from alembic import op

revision = "0024_export_lists_by_export"
down_revision = "0023_reviews_due_who"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_export_contacts_contact_id", table_name="export_contacts")
    op.create_index("ix_export_contacts_export_contact", "export_contacts", ["export_id", "contact_id"])


def downgrade():
    op.drop_index("ix_export_contacts_export_contact", table_name="export_contacts")
    op.create_index("ix_export_contacts_contact_id", "export_contacts", ["contact_id"])

"""The dashboard's MARAC criteria counted from a column (issues 15, 18 and 19): ``contacts.marac_criteria``.

The MARAC criteria the recommendation in force lists, sorted and comma-joined (NULL when it lists
none), with an index on ``(accepted_day, marac_criteria)``. The dashboard counts each criterion from
that index instead of unnesting every contact's recommendation document (kilobytes each; on
PostgreSQL three quarters of a year's dashboard). ``record/tables.py`` keeps it, and
``marac_recommended``, whenever a recommendation is stored or replaced; this migration fills it in
for the contacts already stored, and sets ``marac_recommended`` from the recommendation in force
(rescoring after checks used to leave the screening recommendation's value). Neither is sealed
content (``audit.CONTENT_COLUMNS``), so the record's digests are unchanged.

Revision ID: 0013_marac_criteria
Revises: 0012_gap_count
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0013_marac_criteria"
down_revision = "0012_gap_count"
branch_labels = None
depends_on = None

BATCH = 1000
SEPARATOR = ","  # frozen copy of record/tables.py's MARAC_SEPARATOR


def _facts(recommendation) -> tuple[str | None, bool]:
    """Frozen copy of ``tables.marac_criteria`` and the ``marac_recommended`` rule (2 December 2026)."""
    if isinstance(recommendation, str):
        recommendation = json.loads(recommendation)
    marac = (recommendation or {}).get("marac") or {}
    listed = marac.get("criteria")
    names = sorted(name for name in listed if isinstance(name, str)) if isinstance(listed, list) else []
    return SEPARATOR.join(names) or None, bool(marac.get("recommended"))


def upgrade():
    op.add_column("contacts", sa.Column("marac_criteria", sa.String(200), nullable=True))
    bind = op.get_bind()
    contacts = sa.table("contacts", sa.column("id", sa.String), sa.column("recommendation", sa.JSON),
                        sa.column("marac_criteria", sa.String), sa.column("marac_recommended", sa.Boolean))
    update = (sa.update(contacts).where(contacts.c.id == sa.bindparam("key"))
              .values(marac_criteria=sa.bindparam("criteria"), marac_recommended=sa.bindparam("recommended")))
    after = ""
    while True:  # keyset batches: constant memory whatever the number of contacts
        rows = bind.execute(sa.select(contacts.c.id, contacts.c.recommendation).where(contacts.c.id > after)
                            .where(contacts.c.recommendation.is_not(None))
                            .order_by(contacts.c.id).limit(BATCH)).all()
        if not rows:
            break
        changes = []
        for key, recommendation in rows:
            criteria, recommended = _facts(recommendation)
            changes.append({"key": key, "criteria": criteria, "recommended": recommended})
        bind.execute(update, changes)
        after = rows[-1][0]
    op.create_index("ix_contacts_marac", "contacts", ["accepted_day", "marac_criteria"])


def downgrade():
    op.drop_index("ix_contacts_marac", table_name="contacts")
    op.drop_column("contacts", "marac_criteria")  # SQLite 3.35+ drops a plain column in place

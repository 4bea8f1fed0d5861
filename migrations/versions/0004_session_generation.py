"""A session generation per person: sessions issued before it moved on open nothing.

Revision ID: 0004_session_generation
Revises: 0003_children_and_clock
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_session_generation"
down_revision = "0003_children_and_clock"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")

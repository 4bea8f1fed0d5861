"""Requests per API token per time window, counted in the database so every worker shares them.

Revision ID: 0005_api_rate_limits
Revises: 0004_session_generation
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_api_rate_limits"
down_revision = "0004_session_generation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_request_counts",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "window_start"),
    )


def downgrade():
    op.drop_table("api_request_counts")

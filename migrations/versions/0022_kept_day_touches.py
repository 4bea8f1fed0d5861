"""A kept dashboard day is marked by the store itself when one of its contacts changes (issue 15 finding 5).

A day's kept counts were used while the day's fingerprint (read from its contacts) was the one
they were counted at; judging a year that way read the year's contacts on every dashboard, a
third of a year's cost. Now a trigger on ``contacts`` adds one to the day's
``dashboard_days.touched`` whenever a contact of that day is inserted or updated, by any path,
and a kept day is used only while ``touched`` is 0 (``reporting/daysum.py``). On PostgreSQL the
trigger is a constraint trigger deferred to commit, so a change in flight when a day is kept
touches the row once it commits; a day's own row is only ever there for closed days, so intake
(today's contacts) finds no row to update and locks nothing.

The rows kept before this revision were judged by fingerprints only, through changes no
trigger saw, so they are removed and counted again.

Revision ID: 0022_kept_day_touches
Revises: 0021_release_supersedes
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_kept_day_touches"
down_revision = "0021_release_supersedes"
branch_labels = None
depends_on = None

TOUCH = "UPDATE dashboard_days SET touched = touched + 1 WHERE day = {row}.accepted_day"

POSTGRESQL = (
    f"""CREATE FUNCTION touch_kept_dashboard_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {TOUCH.format(row="NEW")};
    IF TG_OP = 'UPDATE' AND OLD.accepted_day IS DISTINCT FROM NEW.accepted_day THEN
        {TOUCH.format(row="OLD")};
    END IF;
    RETURN NULL;
END $$""",
    "CREATE CONSTRAINT TRIGGER contacts_touch_kept_day AFTER INSERT OR UPDATE ON contacts "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION touch_kept_dashboard_day()",
)
SQLITE = (
    f"CREATE TRIGGER contacts_touch_kept_day_insert AFTER INSERT ON contacts BEGIN {TOUCH.format(row='NEW')}; END",
    "CREATE TRIGGER contacts_touch_kept_day_update AFTER UPDATE ON contacts BEGIN "
    f"{TOUCH.format(row='NEW')}; {TOUCH.format(row='OLD')} AND OLD.accepted_day IS NOT NEW.accepted_day; END",
)


def upgrade():
    op.execute("DELETE FROM dashboard_days")
    op.add_column("dashboard_days", sa.Column("touched", sa.Integer(), nullable=False, server_default="0"))
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER contacts_touch_kept_day ON contacts")
        op.execute("DROP FUNCTION touch_kept_dashboard_day()")
    else:
        op.execute("DROP TRIGGER contacts_touch_kept_day_insert")
        op.execute("DROP TRIGGER contacts_touch_kept_day_update")
    op.execute("DELETE FROM dashboard_days")  # kept under the trigger; fingerprints alone would judge them now
    op.drop_column("dashboard_days", "touched")

"""``flask --app wsgi triage ...``: set-up, people, tokens, demo data and the audit check.

People and tokens go through ``triage.accounts``, as the administrator's pages do, so each change
is checked by the same rules and recorded the same way (with no actor: the command line).
"""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from triage.extensions import db
from triage.record import audit, schema
from triage.record.schema import MIGRATIONS
from triage.record.tables import AGENCY_TYPES, ROLES, User
from triage.services import accounts, checks

triage_cli = AppGroup("triage", help="Front door triage administration.")


@triage_cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema to the latest migration (safe to run again)."""
    with db.engine.connect() as connection:
        before = schema.store_revisions(connection)
    upgrade(directory=MIGRATIONS)
    if before != schema.code_revisions() and db.engine.dialect.name == "postgresql":
        click.echo("upgraded: refreshing PostgreSQL's statistics and visibility map (VACUUM ANALYZE) ...")
        schema.refresh_statistics(db.engine)
    click.echo(f"database schema is up to date ({db.engine.url.render_as_string(hide_password=True)})")


OPTIONS = {"email": "EMAIL", "role": "--role", "organisation": "--organisation", "password": "--password"}


def _refused(exc: accounts.AccountError) -> click.ClickException:
    """An account refusal as the command line says it: each message after the argument it is about."""
    return click.ClickException("; ".join(
        f"{OPTIONS.get(field, field)}: {message}" if field else message
        for field, messages in exc.errors.items() for message in messages))


def _user(email: str) -> User:
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


@triage_cli.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--organisation", help="The user's organisation (required for partners; created if new).")
@click.option("--password", help=f"Lets the person sign in to the pages ({accounts.MIN_PASSWORD}+ characters); "
                                 "without it, API token only.")
@click.option("--agency-type", type=click.Choice(AGENCY_TYPES),
              help="For --role agency: the kind of agency the organisation is (its hub worker answers its checks).")
def create_user(email: str, role: str, organisation: str | None, password: str | None,
                agency_type: str | None) -> None:
    """Create a person, partner system or agency hub worker account."""
    try:
        user = accounts.create_user(email, role, organisation, password, agency_type=agency_type)
    except accounts.AccountError as exc:
        raise _refused(exc) from None
    org = f" of {user.organisation.name}" if user.organisation else ""
    click.echo(f"created {user.role} {user.email}{org}")


@triage_cli.command("create-token")
@click.argument("email")
def create_token(email: str) -> None:
    """Issue an API token; it is shown once, as the last line, and stored only as a hash."""
    user = _user(email)
    try:
        _, token = accounts.issue_token(user)
    except accounts.AccountError as exc:
        raise _refused(exc) from None
    click.echo(f"API token for {user.email} ({user.role}); it is shown only once:")
    click.echo(token)


@triage_cli.command("revoke-token")
@click.argument("prefix")
def revoke_token(prefix: str) -> None:
    """Withdraw an API token by the first characters printed with it (e.g. tri_AbCd)."""
    rows = accounts.live_tokens_with_prefix(prefix)
    if len(rows) != 1:
        raise click.ClickException(f"{len(rows)} live tokens start with {prefix[:8]!r}; give the 8-character prefix")
    accounts.revoke_token(rows[0])
    click.echo(f"revoked token {rows[0].prefix}… of {rows[0].user.email}")


@triage_cli.command("deactivate-user")
@click.argument("email")
def deactivate_user(email: str) -> None:
    """Remove a leaver's access at once: no sign-in, open sessions end, API tokens stop working."""
    user = _user(email)
    if accounts.deactivate(user):
        click.echo(f"deactivated {user.role} {user.email}: they can no longer sign in or use their API tokens")
    else:
        click.echo(f"{user.email} was already deactivated; nothing changed")


@triage_cli.command("set-password")
@click.argument("email")
@click.password_option("--password", help=f"The new password ({accounts.MIN_PASSWORD}+ characters); asked for if left out.")
def set_password(email: str, password: str) -> None:
    """Give a person a new password (forgotten, or locked out by failed sign-ins)."""
    user = _user(email)
    try:
        accounts.set_password(user, password)
    except accounts.AccountError as exc:
        raise _refused(exc) from None
    click.echo(f"new password set for {user.email}; failed sign-ins cleared")


@triage_cli.command("audit-verify")
@click.option("--checkpoint", "checkpoint_file", type=click.File("r"),
              help="A file written by audit-checkpoint: also prove nothing up to it was rewritten.")
@click.option("--incremental", is_flag=True,
              help="Only what came after the latest stored checkpoint (or the one in --checkpoint); "
                   "the rest was verified when that checkpoint was.")
def audit_verify(checkpoint_file, incremental: bool) -> None:
    """Check the tamper-evident record over all events (or since a checkpoint); exit 1 naming the first bad event."""
    mark = None
    if checkpoint_file is not None:
        try:
            mark = json.load(checkpoint_file)
            int(mark["seq"]), str(mark["hash"])
        except (ValueError, KeyError, TypeError):
            raise click.ClickException("the checkpoint file is not one audit-checkpoint wrote") from None
    result = audit.verify(checkpoint=mark, incremental=incremental)
    click.echo(result.summary() + (f" (and matches the checkpoint at event {mark['seq']})"
                                   if mark is not None and result.ok else ""))
    sys.exit(0 if result.ok else 1)


@triage_cli.command("audit-checkpoint")
@click.option("--output", type=click.File("w"), default="-", show_default=True,
              help="Where to write the checkpoint (JSON); keep it outside the database's reach.")
def audit_checkpoint(output) -> None:
    """Store a checkpoint binding every event so far, and write it for a later audit-verify --checkpoint.

    Run it from a scheduler (every few minutes to every hour): incremental verification starts
    from the latest one, and a copy kept outside the database proves nothing before it was rewritten.
    """
    click.echo(json.dumps(audit.checkpoint()), file=output)


@triage_cli.command("audit-rekey")
def audit_rekey() -> None:
    """Once, on upgrade: verify a chain stored before keying, then re-hash it under TRIAGE_AUDIT_KEY."""
    result = audit.rekey()
    click.echo(result.summary())
    sys.exit(0 if result.ok else 1)


@triage_cli.command("audit-seal")
def audit_seal() -> None:
    """Once, on upgrade: verify the record, then seal the content of contacts stored before content sealing."""
    from triage.services import sealing

    outcome = sealing.seal()
    click.echo(outcome.message)
    sys.exit(0 if outcome.ok else 1)


@triage_cli.command("seed-demo")
@click.option("--contacts", default=40, show_default=True, help="How many demo contacts to create.")
def seed_demo(contacts: int) -> None:
    """Demo users for each role, a demo police force and a realistic day of contacts.

    Refused in production: the demo accounts' passwords are printed in the README, so seeding
    them there would hand anyone an administrator's sign-in.
    """
    from triage.services.demo import seed

    if current_app.config["TRIAGE_ENV"] == "production":
        raise click.ClickException("seed-demo is refused under TRIAGE_ENV=production: "
                                   "demo accounts have published passwords.")

    for line in seed(current_app.extensions["recommender"], contacts):
        click.echo(line)


@triage_cli.command("seed-volume")
@click.option("--contacts", type=click.IntRange(1, 2_000_000), required=True,
              help="How many contacts to load (about 40,000 a year, spread over the years before now).")
@click.option("--no-verify", is_flag=True, help="Skip the full audit-verify at the end.")
def seed_volume(contacts: int, no_verify: bool) -> None:
    """Load a store of a given size through intake, decisions and reviews, then checkpoint and verify it.

    For measuring the service at volume (make bench-scale); refused in production and on a store
    that already holds contacts.
    """
    from triage.services.volume import seed_volume as load

    if current_app.config["TRIAGE_ENV"] == "production":
        raise click.ClickException("seed-volume is refused under TRIAGE_ENV=production: it makes demo accounts.")
    try:
        for line in load(current_app.extensions["recommender"], contacts, verify=not no_verify):
            click.echo(line)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@triage_cli.command("dashboard-summaries")
@click.option("--days", type=click.IntRange(1, 366), default=366, show_default=True,
              help="How many closed London days before today to count and keep.")
@click.option("--clear", is_flag=True, help="Empty the summaries first (every day is counted again).")
def dashboard_summaries(days: int, clear: bool) -> None:
    """Count and keep the dashboard's per-day summaries of the closed days before today (for a scheduler).

    The dashboard keeps them itself as it is read, so this is never needed for a right answer: it
    makes the first dashboard over a year after a load, a restore or ``--clear`` as quick as the next.
    """
    from datetime import datetime, timedelta, timezone

    from triage.engine.workdays import london_date
    from triage.reporting import daysum
    from triage.reporting.dashboard import keep_summaries

    if clear:
        click.echo(f"{daysum.clear()} day summaries removed")
    now = datetime.now(timezone.utc)
    yesterday = london_date(now) - timedelta(days=1)
    unchanged, kept = keep_summaries(yesterday - timedelta(days=days - 1), yesterday, now)
    click.echo(f"{kept} day(s) counted and kept, {unchanged} already kept and unchanged "
               "(days with no contacts, or with a deadline still to come, are not kept)")


@triage_cli.command("settle-checks")
def settle_checks() -> None:
    """Return to the decision queue every contact whose checks are all answered or past due (for a scheduler).

    The queues and contact reads do the same lazily; this makes it happen without anyone reading.
    """
    moved = checks.settle_due(current_app.extensions["recommender"])
    click.echo(f"{moved} contact(s) scored again after checks and returned to the decision queue")


@triage_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def backup_command(file: str) -> None:
    """Write the whole database to FILE: pg_dump's custom format on PostgreSQL, SQLite's online backup."""
    from triage.services import backup

    try:
        size = backup.backup(current_app.config["SQLALCHEMY_DATABASE_URI"], file)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up to {file} ({size:,} bytes); keep it where the database's administrators cannot "
               "write, with an audit checkpoint")


@triage_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that already holds contacts, events or people.")
def restore_command(file: str, force: bool) -> None:
    """Put the backup in FILE back as the whole database, then check its record (audit-verify)."""
    from triage.services import backup

    db.session.remove()
    db.engine.dispose()  # no connection of ours holds a lock the restore needs
    try:
        backup.restore(current_app.config["SQLALCHEMY_DATABASE_URI"], file, force=force)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    db.engine.dispose()
    result = audit.verify()
    click.echo(f"restored from {file}; {result.summary()}")
    sys.exit(0 if result.ok else 1)


@triage_cli.command("apply-retention")
@click.option("--dry-run", is_flag=True, help="Only say how many contacts are past retention; change nothing.")
def apply_retention(dry_run: bool) -> None:
    """Remove the personal content of contacts that led to no further action, past the retention period.

    The period is TRIAGE_RETENTION_NFA_MONTHS after the outcome was confirmed; decisions, reviews and
    the record are kept, and each contact changed is recorded (audit-verify still passes).
    """
    from triage.services import retention

    outcome = retention.apply(retention.utcnow(), current_app.config["RETENTION_NFA_MONTHS"], dry_run=dry_run)
    click.echo(outcome.summary(dry_run))


def _day(value: str, option: str):
    from datetime import date

    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"give a date as YYYY-MM-DD, not {value!r}", param_hint=option) from None
    if not 2000 <= day.year <= 2099:
        raise click.BadParameter(f"give a day from 2000 to 2099, not {value!r}", param_hint=option)
    return day


@triage_cli.command("what-if")
@click.option("--guidance", "draft_path", required=True, type=click.Path(dir_okay=False),
              help="The draft threshold guidance (a thresholds.yaml) to replay the window through.")
@click.option("--model", "model_version", help="Another model version (a folder in models/); default: the one in use.")
@click.option("--from", "first", required=True, help="First day of the window (YYYY-MM-DD, London).")
@click.option("--to", "last", required=True, help="Last day of the window, included (YYYY-MM-DD, London).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, writable=True),
              help="Write the moved contacts to this CSV file.")
@click.option("--as", "email", help="The manager running it, for the record (default: this computer account).")
def what_if(draft_path: str, model_version: str | None, first: str, last: str, csv_file: str | None,
            email: str | None) -> None:
    """Replay the contacts accepted in a window through a draft guidance; report what would change.

    Nothing is written to the record except the run itself (who, which file and its SHA-256,
    which window). A draft that fails the checks is refused with the same one-line error as at
    start-up.
    """
    import getpass
    from pathlib import Path

    from triage.engine.errors import Invalid
    from triage.engine.guidance import GuidanceConfigError, load_guidance
    from triage.engine.whatif import ModelLoadError, load_model_version
    from triage.engine.whatif import model_version as version_of
    from triage.engine.workdays import london_days
    from triage.reporting.whatif import report_csv, report_lines
    from triage.services import whatif
    from triage.web.present import SOURCE_NAMES

    try:
        draft = load_guidance(draft_path)
    except GuidanceConfigError as exc:
        raise click.ClickException(str(exc)) from None
    recommender = current_app.extensions["recommender"]
    model = recommender.model
    if model_version:
        try:
            model = load_model_version(current_app.config["MODELS_DIR"], model_version)
        except ModelLoadError as exc:
            raise click.ClickException(f"--model: {exc}") from None
    user = _user(email) if email else None
    start, end = london_days(_day(first, "--from"), _day(last, "--to"))
    try:
        report = whatif.replay(draft, model, start=start, end=end, in_force=recommender.guidance,
                               served_model=version_of(recommender.model))
    except Invalid as exc:
        raise click.ClickException(exc.detail) from None
    db.session.rollback()  # the replay reads only; nothing of it is kept
    whatif.record_run(report, user=user, run_by=user.label if user else f"command line ({getpass.getuser()})",
                      filename=Path(draft_path).name, via="command line")
    db.session.commit()
    names = {n: v["name"] for n, v in recommender.guidance.levels.items()}
    for line in report_lines(report, lambda n: names.get(n, f"Level {n}"),
                             lambda code: f"{code} {SOURCE_NAMES.get(code, '')}".strip()):
        click.echo(line)
    if csv_file:
        Path(csv_file).write_text(report_csv(report), encoding="utf-8")
        click.echo(f"{len(report['moved'])} moved contact(s) written to {csv_file}")

"""``flask --app wsgi triage ...``: set-up, people, tokens, demo data and the audit check."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select

from . import audit
from .extensions import db
from .models import ROLES, ApiToken, Organisation, User
from .security import hash_password, new_token, token_digest

triage_cli = AppGroup("triage", help="Front door triage administration.")


@triage_cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema to the latest migration (safe to run again)."""
    from . import MIGRATIONS

    upgrade(directory=MIGRATIONS)
    click.echo(f"database schema is up to date ({db.engine.url.render_as_string(hide_password=True)})")


def ensure_user(email: str, role: str, organisation: str | None, password: str | None) -> User:
    """Create a user (and its organisation if new), or raise ClickException with the reason."""
    email = email.strip().lower()
    if role not in ROLES:
        raise click.ClickException(f"role must be one of {', '.join(ROLES)}")
    if role == "partner" and not organisation:
        raise click.ClickException("--organisation is required for a partner")
    if db.session.scalar(select(User).where(User.email == email)):
        raise click.ClickException(f"a user with email {email} already exists")
    org = None
    if organisation:
        org = db.session.scalar(select(Organisation).where(Organisation.name == organisation))
        if org is None:
            org = Organisation(name=organisation)
            db.session.add(org)
    user = User(email=email, role=role, organisation=org,
                password_hash=hash_password(password) if password else None)
    db.session.add(user)
    db.session.commit()
    return user


@triage_cli.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--organisation", help="The user's organisation (required for partners; created if new).")
@click.option("--password", help="Lets the person sign in to the pages; without it, API token only.")
def create_user(email: str, role: str, organisation: str | None, password: str | None) -> None:
    """Create a person or partner system account."""
    user = ensure_user(email, role, organisation, password)
    org = f" of {user.organisation.name}" if user.organisation else ""
    click.echo(f"created {user.role} {user.email}{org}")


def issue_token(user: User) -> str:
    token = new_token()
    db.session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), prefix=token[:8]))
    db.session.commit()
    return token


@triage_cli.command("create-token")
@click.argument("email")
def create_token(email: str) -> None:
    """Issue an API token; it is shown once, as the last line, and stored only as a hash."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    token = issue_token(user)
    click.echo(f"API token for {user.email} ({user.role}); it is shown only once:")
    click.echo(token)


@triage_cli.command("revoke-token")
@click.argument("prefix")
def revoke_token(prefix: str) -> None:
    """Withdraw an API token by the first characters printed with it (e.g. tri_AbCd)."""
    from .models import utcnow

    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.prefix == prefix[:8], ApiToken.revoked_at.is_(None))
    ).all()
    if len(rows) != 1:
        raise click.ClickException(f"{len(rows)} live tokens start with {prefix[:8]!r}; give the 8-character prefix")
    rows[0].revoked_at = utcnow()
    db.session.commit()
    click.echo(f"revoked token {rows[0].prefix}… of {rows[0].user.email}")


@triage_cli.command("audit-verify")
def audit_verify() -> None:
    """Check the tamper-evident chain over all events; exit 1 naming the first bad event."""
    result = audit.verify()
    click.echo(result.summary())
    sys.exit(0 if result.ok else 1)


@triage_cli.command("seed-demo")
@click.option("--contacts", default=40, show_default=True, help="How many demo contacts to create.")
def seed_demo(contacts: int) -> None:
    """Demo users for each role, a demo police force and a realistic day of contacts."""
    from .demo import seed

    for line in seed(contacts):
        click.echo(line)

"""People and access: create accounts, set passwords, deactivate and reactivate, issue and revoke API tokens.

One implementation for the administrator's pages (``triage.web.admin``) and the command line
(``triage.cli``). Each function checks its rules, makes the change and records it in the
tamper-evident record as an ``access_changed`` event, in one transaction. The event names
the account by id and role, never by email or name, and the log line carries ids only.
The acting administrator is the event's actor; ``None`` is the command line.

A deactivated account keeps its rows (the record names it) but can do nothing: the access
layer checks ``is_active`` on every request, so it cannot sign in, its open sessions end at
their next request and its API tokens stop working.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from triage.extensions import db
from triage.record import audit
from triage.record.queries import existing_organisation, organisation_named
from triage.record.tables import AGENCY_TYPES, ROLES, ApiToken, User, utcnow
from triage.services import signin
from triage.services.security import check_password, hash_password, new_token, token_digest

log = logging.getLogger(__name__)

MIN_PASSWORD = 12
MAX_EMAIL = 254
MAX_ORGANISATION = 120
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

EMAIL_TAKEN = "An account with this email address already exists"
SELF_DEACTIVATION = ("You cannot deactivate your own account, so nothing was changed. "
                     "Ask another administrator if you are leaving.")
TRY_AGAIN = "Someone else changed the accounts at the same moment, so nothing was stored. Please try again."
#: Council staff belong to the council: an organisation is for partners and agency hub workers.
COUNCIL_ROLES = ("practitioner", "manager", "admin")
STAFF_NO_ORGANISATION = ("Leave the organisation empty for council staff (practitioners, team managers and "
                         "administrators): an organisation is only for a partner or an agency hub worker")
SELF_TOKEN = ("You cannot issue an API token to your own account, so none was issued. Ask another "
              "administrator: every token is issued by someone other than the person who will use it.")
INACTIVE_NO_TOKEN = ("This account is deactivated, so no token was issued. "
                     "Reactivate it first if the person still needs access.")


class AccountError(ValueError):
    """A refused account change, nothing stored: ``errors`` maps a field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(" ".join(message for messages in errors.values() for message in messages))


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    """The account with this email address, whatever its case."""
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def _cleaned(email: str | None, organisation: str | None, password: str | None):
    return normalise_email(email), (organisation or "").strip() or None, password or None


def _agency_errors(role: str | None, organisation: str | None, agency_type: str | None) -> dict:
    """An agency hub worker belongs to one organisation of one agency type (spec section 10)."""
    if role != "agency":
        return {"agency_type": ["Only agency accounts have an agency type"]} if agency_type else {}
    errors: dict[str, list[str]] = {}
    if not organisation:
        errors["organisation"] = ["Enter the agency's organisation: a hub worker answers for one organisation"]
    if agency_type not in AGENCY_TYPES:
        errors["agency_type"] = ["Select an agency type: " + ", ".join(AGENCY_TYPES)]
    elif organisation:
        org = existing_organisation(organisation)
        if org is not None and org.agency_type not in (None, agency_type):
            errors["agency_type"] = [f"{org.name} is a {org.agency_type} organisation"]
    return errors


def new_user_errors(email: str | None, role: str | None, organisation: str | None, password: str | None,
                    agency_type: str | None = None) -> dict:
    """Why these details cannot make an account (field -> messages); empty when they can."""
    email, organisation, password = _cleaned(email, organisation, password)
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = ["Enter an email address"]
    elif len(email) > MAX_EMAIL or not _EMAIL.match(email):
        errors["email"] = ["Enter an email address in the correct format, like name@example.com"]
    elif find_user(email) is not None:
        errors["email"] = [EMAIL_TAKEN]
    if role not in ROLES:
        errors["role"] = ["Select a role: " + ", ".join(ROLES)]
    if role == "partner" and not organisation:
        errors["organisation"] = ["Enter the partner's organisation: a partner sees only its own contacts"]
    elif role in COUNCIL_ROLES and organisation:
        errors["organisation"] = [STAFF_NO_ORGANISATION]
    elif organisation and len(organisation) > MAX_ORGANISATION:
        errors["organisation"] = [f"Organisation must be {MAX_ORGANISATION} characters or fewer"]
    if password is not None:
        errors.update(password_errors(password))
    for field, problems in _agency_errors(role, organisation, agency_type).items():
        errors.setdefault(field, problems)
    return errors


def _changed(action: str, user: User, actor: User | None, **data) -> None:
    """Record an account change (ids and role only) and log it without personal data."""
    audit.record("access_changed", user=actor,
                 data={"action": action, "user_id": user.id, "role": user.role, **data})
    log.info("access changed: %s user_id=%s actor_id=%s %s", action, user.id, actor.id if actor else None,
             " ".join(f"{key}={value}" for key, value in data.items()))


def create_user(email: str, role: str, organisation: str | None = None, password: str | None = None, *,
                actor: User | None = None, agency_type: str | None = None) -> User:
    """Create an account (and its organisation if new); AccountError with every reason if not.

    Without a password the account cannot sign in to the pages: API tokens only. An ``agency``
    account gives its organisation its agency type (police, health, ...) if it had none.
    """
    errors = new_user_errors(email, role, organisation, password, agency_type)
    email, organisation, password = _cleaned(email, organisation, password)
    if errors:
        raise AccountError(errors)
    user = User(email=email, role=role, organisation=organisation_named(organisation) if organisation else None,
                password_hash=hash_password(password) if password else None, is_active=True)
    if role == "agency" and user.organisation.agency_type is None:
        user.organisation.agency_type = agency_type
    db.session.add(user)
    try:
        db.session.flush()
        _changed("user_created", user, actor, organisation_id=user.organisation_id,
                 **({"agency_type": agency_type} if role == "agency" else {}))
        db.session.commit()
    except IntegrityError:  # the same email (or new organisation) stored at the same moment by someone else
        db.session.rollback()
        raise AccountError(new_user_errors(email, role, organisation, password) or {"": [TRY_AGAIN]}) from None
    return user


def _set_active(user: User, active: bool) -> bool:
    """Flip ``is_active`` only if it is not already so (one UPDATE, so two admins cannot both)."""
    result = db.session.execute(
        update(User).where(User.id == user.id, User.is_active.is_(not active)).values(is_active=active)
    )
    db.session.refresh(user)
    return result.rowcount == 1


def end_sessions(user: User) -> None:
    """Move the person's session generation on, so every session they hold opens nothing.

    One UPDATE adding 1 in the database, so two changes at once both count. The caller commits
    with the change that made it necessary (a password, deactivation), or ``sign_out_everywhere``.
    """
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1))
    db.session.refresh(user)


def sign_out_everywhere(user: User) -> None:
    """Signing out ends the person's sessions on every device, not only this browser's cookie."""
    end_sessions(user)
    db.session.commit()


def deactivate(user: User, *, actor: User | None = None) -> bool:
    """Remove a person's access at once; False if it was already removed. Never one's own."""
    if actor is not None and actor.id == user.id:
        raise AccountError({"": [SELF_DEACTIVATION]})
    return _switch(user, False, "user_deactivated", actor)


def reactivate(user: User, *, actor: User | None = None) -> bool:
    """Restore a deactivated account (its password and live tokens work again); False if it was active."""
    return _switch(user, True, "user_reactivated", actor)


def _switch(user: User, active: bool, kind: str, actor: User | None) -> bool:
    """Set ``is_active`` and record ``kind``, in one transaction; False (nothing recorded) if it already was."""
    if not _set_active(user, active):
        db.session.rollback()
        return False
    end_sessions(user)  # a deactivated person's sessions never return with reactivation
    _changed(kind, user, actor)
    db.session.commit()
    return True


def password_errors(password: str | None) -> dict[str, list[str]]:
    """Why this cannot be a password (field -> messages); empty when it can."""
    if not password:
        return {"password": ["Enter a new password"]}
    if len(password) < MIN_PASSWORD:
        return {"password": [f"Password must be {MIN_PASSWORD} characters or more"]}
    return {}


def set_password(user: User, password: str, *, actor: User | None = None) -> None:
    """A new password chosen by an administrator (a forgotten one, or a locked account).

    The account's failed sign-ins are cleared too, so the person can sign in at once.
    """
    errors = password_errors(password)
    if errors:
        raise AccountError(errors)
    _replace_password(user, password, "password_set", actor)


def change_own_password(user: User, current: str | None, new: str | None) -> None:
    """A signed-in person replaces their password (the one an administrator gave them, say).

    The current password must be right, so a session left open cannot be used to take the account.
    """
    errors: dict[str, list[str]] = {}
    if not check_password(user.password_hash, current or ""):
        errors["current_password"] = ["Enter your current password correctly"]
    new_errors = password_errors(new)
    if new_errors:
        errors["new_password"] = new_errors["password"]
    elif new == current:
        errors["new_password"] = ["Enter a new password that is different from your current one"]
    if errors:
        raise AccountError(errors)
    _replace_password(user, new, "password_changed", user)


def _replace_password(user: User, password: str, kind: str, actor: User | None) -> None:
    """Store the new password's hash and record ``kind`` in one transaction; lift any sign-in lock."""
    user.password_hash = hash_password(password)
    db.session.flush()
    end_sessions(user)  # every session of the person ends; change_password re-issues the caller's
    _changed(kind, user, actor)
    db.session.commit()
    signin.clear(user.email)


def issue_token(user: User, *, actor: User | None = None) -> tuple[ApiToken, str]:
    """A new API token for an active account: (its row, the token). Only the SHA-256 is stored,
    so the caller must show the token now: it can never be shown again. Nobody issues one to
    themselves (``SELF_TOKEN``): a token always carries a second person's authority."""
    if actor is not None and actor.id == user.id:
        raise AccountError({"": [SELF_TOKEN]})
    if not user.is_active:
        raise AccountError({"": [INACTIVE_NO_TOKEN]})
    token = new_token()
    row = ApiToken(user_id=user.id, token_hash=token_digest(token), prefix=token[:8])
    db.session.add(row)
    db.session.flush()
    _changed("token_issued", user, actor, token_id=row.id)
    db.session.commit()
    return row, token


def live_tokens_with_prefix(prefix: str) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.prefix == prefix[:8], ApiToken.revoked_at.is_(None))
    ))


def revoke_token(token: ApiToken, *, actor: User | None = None) -> bool:
    """Withdraw an API token for good; False if it was already revoked."""
    result = db.session.execute(
        update(ApiToken).where(ApiToken.id == token.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    db.session.refresh(token)
    _changed("token_revoked", token.user, actor, token_id=token.id)
    db.session.commit()
    return True


def live_token_counts() -> dict[int, int]:
    """user id -> how many of their API tokens are not revoked."""
    return dict(db.session.execute(
        select(ApiToken.user_id, func.count()).where(ApiToken.revoked_at.is_(None)).group_by(ApiToken.user_id)
    ).all())

"""Throttling password guessing: failed sign-ins are counted in the database, not in a worker's memory.

Two limits, checked before a password is tried:

* per account from one address: a guesser at one machine is stopped after a few tries, while a
  colleague behind the same office address, signing in to their own account, is not;
* per account from anywhere: a guesser who changes address is still stopped.

The counts live in ``sign_in_failures`` so every gunicorn worker, and every server behind a load
balancer, sees the same ones. Rows hold SHA-256 hashes of the normalised email and of the address,
never either itself, and are deleted after a day. A successful sign-in clears that account's
failures, so a person who mistyped and then got in starts afresh.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from triage.extensions import db
from triage.record.tables import SignInFailure


@dataclass(frozen=True)
class Limit:
    failures: int
    window: timedelta
    per_address: bool


LIMITS = (
    Limit(failures=5, window=timedelta(minutes=15), per_address=True),
    Limit(failures=20, window=timedelta(hours=1), per_address=False),
)
KEEP = timedelta(days=1)


def key(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()


def wait_seconds(email: str, address: str, now: datetime) -> int:
    """Seconds until this account may be tried again from this address; 0 if it may be now."""
    account, place = key(email), key(address)
    wait = 0
    for limit in LIMITS:
        query = select(func.count(), func.min(SignInFailure.at)).where(
            SignInFailure.account_key == account, SignInFailure.at > now - limit.window)
        if limit.per_address:
            query = query.where(SignInFailure.address_key == place)
        count, oldest = db.session.execute(query).one()
        if count >= limit.failures:
            wait = max(wait, math.ceil((oldest + limit.window - now).total_seconds()))
    return wait


def wait_text(seconds: int) -> str:
    """'Wait 15 minutes' for a refusal message: whole minutes, rounded up, never 0."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"Wait {minutes} minute{'' if minutes == 1 else 's'}"


def record_failure(email: str, address: str, now: datetime) -> None:
    """Count a failed attempt (and forget those older than a day), committed at once."""
    db.session.execute(delete(SignInFailure).where(SignInFailure.at < now - KEEP))
    db.session.add(SignInFailure(account_key=key(email), address_key=key(address), at=now))
    db.session.commit()


def clear(email: str) -> None:
    """A successful sign-in: the account's earlier failures no longer count against it."""
    db.session.execute(delete(SignInFailure).where(SignInFailure.account_key == key(email)))
    db.session.commit()

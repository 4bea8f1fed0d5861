"""Throttling password guessing: failed sign-ins are counted in the database, not in a worker's memory.

Two limits, checked before a password is tried, both counted per address:

* per account from one address: a guesser at one machine is stopped after a few tries at one
  account, while a colleague behind the same office address, signing in to their own, is not;
* per address across accounts: "spraying" one common password at many accounts from one place
  is stopped too.

There is deliberately no limit per account from anywhere: it would let anyone lock a named
person out of their correct password by failing from a few other addresses. Instead, when one
account collects ``ALERT_FAILURES`` failures within ``ALERT_WINDOW`` from any addresses, a
``sign_in_alert`` event goes in the record (ids only) for administrators to act on (the people
page lists recent ones).

The counts live in ``sign_in_failures`` so every gunicorn worker, and every server behind a load
balancer, sees the same ones. Rows hold SHA-256 hashes of the normalised email and of the address,
never either itself, and are deleted after a day. A successful sign-in clears that account's
failures, so a person who mistyped and then got in starts afresh.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from triage.extensions import db
from triage.record import audit
from triage.record.tables import Event, SignInFailure, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    failures: int
    window: timedelta
    same_account: bool  # count only this account's failures from the address, or every account's


ACCOUNT_AT_ADDRESS_LIMIT = Limit(failures=5, window=timedelta(minutes=15), same_account=True)
#: An office behind one address sees a few mistyped passwords an hour, not twenty.
ADDRESS_LIMIT = Limit(failures=20, window=timedelta(hours=1), same_account=False)
LIMITS = (ACCOUNT_AT_ADDRESS_LIMIT, ADDRESS_LIMIT)
ALERT_FAILURES = 20
ALERT_WINDOW = timedelta(hours=1)
KEEP = timedelta(days=1)


def key(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()


def wait_seconds(email: str, address: str, now: datetime) -> int:
    """Seconds until this account may be tried again from this address; 0 if it may be now."""
    account, place = key(email), key(address)
    wait = 0
    for limit in LIMITS:
        query = select(func.count(), func.min(SignInFailure.at)).where(
            SignInFailure.address_key == place, SignInFailure.at > now - limit.window)
        if limit.same_account:
            query = query.where(SignInFailure.account_key == account)
        count, oldest = db.session.execute(query).one()
        if count >= limit.failures:
            wait = max(wait, math.ceil((oldest + limit.window - now).total_seconds()))
    return wait


def wait_text(seconds: int) -> str:
    """'Wait 15 minutes' for a refusal message: whole minutes, rounded up, never 0."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"Wait {minutes} minute{'' if minutes == 1 else 's'}"


def record_failure(email: str, address: str, now: datetime, user: User | None = None) -> None:
    """Count a failed attempt (and forget those older than a day), committed at once.

    ``user``, when the account exists, is named (by id) in an alert the moment its failures from
    anywhere reach ``ALERT_FAILURES`` in ``ALERT_WINDOW``: once per burst, not per failure.
    """
    db.session.execute(delete(SignInFailure).where(SignInFailure.at < now - KEEP))
    db.session.add(SignInFailure(account_key=key(email), address_key=key(address), at=now))
    db.session.flush()
    if user is not None:
        _alert_if_many(user, now)
    db.session.commit()


def _alert_if_many(user: User, now: datetime) -> None:
    failures = db.session.scalar(select(func.count()).where(
        SignInFailure.account_key == key(user.email), SignInFailure.at > now - ALERT_WINDOW))
    if failures == ALERT_FAILURES:
        audit.record("sign_in_alert", user=None, at=now,
                     data={"user_id": user.id, "role": user.role, "failures": failures,
                           "window_minutes": int(ALERT_WINDOW.total_seconds() // 60)})
        log.warning("sign-in alert: user_id=%s had %s failed sign-ins within %s", user.id, failures, ALERT_WINDOW)


def recent_alerts(now: datetime, since: timedelta = KEEP) -> list[dict]:
    """The alerts of the last day, newest first, for the administrators' people page.

    Read from the service's chain (an alert names no contact and no person: ``audit.stream_for``)
    through the stream index: by kind alone SQLite read every event in the record (0.19 s at 200,000 contacts).
    """
    events = db.session.scalars(select(Event).where(Event.stream == audit.SERVICE_STREAM, Event.kind == "sign_in_alert",
                                                    Event.at > now - since).order_by(Event.seq.desc())).all()
    return [{**event.data, "at": event.at} for event in events]


def clear(email: str) -> None:
    """A successful sign-in: the account's earlier failures no longer count against it."""
    db.session.execute(delete(SignInFailure).where(SignInFailure.account_key == key(email)))
    db.session.commit()

"""A limit on requests per API token, counted in the database so every worker shares it.

Fixed windows (``API_RATE_WINDOW_SECONDS``, aligned to the epoch): each request adds one to its
token's row for the current window with a single UPDATE (or the INSERT that starts the window),
committed at once, so concurrent workers never lose a count. Over ``API_RATE_LIMIT`` the caller
is told how many seconds remain in the window. Rows older than a day are deleted when a token
starts a new window. The database, not Redis, because it is already what every worker shares.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from triage.extensions import db
from triage.record.tables import ApiRequestCount

KEEP = timedelta(days=1)


def _window_start(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=timezone.utc)


def _increment(token_id: int, start: datetime) -> int:
    """Add one to the token's count for the window; the new count."""
    row = db.session.execute(
        update(ApiRequestCount)
        .where(ApiRequestCount.token_id == token_id, ApiRequestCount.window_start == start)
        .values(count=ApiRequestCount.count + 1)
        .returning(ApiRequestCount.count)
    ).first()
    if row is not None:
        return row[0]
    db.session.execute(delete(ApiRequestCount).where(ApiRequestCount.token_id == token_id,
                                                     ApiRequestCount.window_start < start - KEEP))
    db.session.add(ApiRequestCount(token_id=token_id, window_start=start, count=1))
    db.session.flush()
    return 1


def count_request(token_id: int, now: datetime, limit: int, seconds: int) -> int:
    """Count one request; 0 if it is within the limit, else the seconds until the window ends."""
    start = _window_start(now, seconds)
    try:
        count = _increment(token_id, start)
        db.session.commit()
    except IntegrityError:  # another worker started the same window at the same moment
        db.session.rollback()
        count = _increment(token_id, start)
        db.session.commit()
    if count <= limit:
        return 0
    return max(1, math.ceil((start + timedelta(seconds=seconds) - now).total_seconds()))

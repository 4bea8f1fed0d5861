"""A limit on requests per API token, counted in the database so every worker shares it.

Fixed windows (``API_RATE_WINDOW_SECONDS``, aligned to the epoch). Every worker adds its
requests to the token's one row for the current window with a single UPDATE (or the INSERT that
starts the window), committed at once, so concurrent workers never lose a count; the UPDATE
returns the shared total, and over ``API_RATE_LIMIT`` the caller is told how many seconds remain
in the window. Rows older than a day are deleted when a token starts a new window. The database,
not Redis, because it is already what every worker shares (and the only thing every install has).

Reads are counted in batches. A write to the database per GET made every read a writer: on
SQLite every write takes the one write lock, so reads queued behind intake. So a worker keeps a
token's GET/HEAD requests in memory and adds them to the shared row in one UPDATE once it holds
``API_RATE_BATCH`` of them, or as soon as its own view of the total (the shared total it last
saw plus what it holds) would pass the limit, or with the next write. Every other request (a
POST, PUT, ...) is added at once. What this costs, and no more: between its adds a worker does
not see the reads the others hold, so a token can pass its limit by at most ``batch - 1`` reads
per worker process before it is refused (with the defaults, 4 workers and a batch of 10: 36 over
a limit of 1,000), and the reads a worker held when it stopped are never counted. Set
``TRIAGE_API_RATE_BATCH=1`` for an exact count and a write per request. Once a worker has seen a
token over its limit, it refuses the token's requests for the rest of the window without writing.

On SQLite a write (an intake) is added inside the request's own transaction, which holds the one
write lock from its start anyway, and commits with the change: a second transaction per POST was
a second turn at that lock and a second sync to disk. If that transaction never commits (a 422, a
429, an error), the count is added again at the end of the request in a transaction of its own,
so every request is still counted. On PostgreSQL the count keeps its own short transaction: inside
the request's, the token's row would stay locked for the whole intake, and a partner's parallel
requests would queue on it.

An intake reads and scores before it writes (``txn.reads_first``; on SQLite it takes the write
lock only for its write phase). Its count is held in the request (``g``) and added by
``add_held`` as the last write before the intake commits, in that transaction: on SQLite a write in
the read snapshot would have to upgrade it, and on PostgreSQL the token's row is then locked only
for the commit, as it was in a transaction of its own, while the intake needs one commit, not two.
A request refused or failed before then has its held count added by ``settle``; one that rolls
back after it is added again as above: every request is counted once. So that a token already
over its limit is still refused before the work, the read phase reads the shared total (one read,
no lock) and refuses at once, counted on its own, when this request passes it; unless this worker
last saw that total at no more than half the limit in this window (``far_below``), which saves every
intake of a partner well inside its limit that read (on PostgreSQL 0.2 ms of CPU and 0.4 ms of an
intake's 7 ms; nothing measurable on SQLite). A token that passes its limit meanwhile through the
other workers is then refused at the commit instead (``add_held``; nothing is stored), once per worker
and window: the total that add returns tells this worker, which then refuses before the work.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import Flask, g, has_request_context
from sqlalchemy import bindparam, delete, event, select, update
from sqlalchemy.exc import IntegrityError

from triage.extensions import db
from triage.record import txn
from triage.record.tables import ApiRequestCount

KEEP = timedelta(days=1)


def _window_start(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=timezone.utc)


@dataclass
class _Held:
    """One token's reads this worker has let through but not yet added to the shared row."""

    window: datetime
    held: int = 0
    seen_total: int = 0  # the shared total the last add returned
    over: bool = False  # the shared total passed the limit: refuse until the window ends


class ReadCounts:
    """A worker's held reads, per token (one per app: each test's app, each gunicorn worker's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[int, _Held] = {}

    def take(self, token_id: int, start: datetime, *, read: bool, limit: int, batch: int) -> tuple[int, bool]:
        """Account for one request: ``(n, over)``, n the requests to add to the row now (0: held)."""
        with self._lock:
            held = self._tokens.get(token_id)
            if held is None or held.window != start:  # a new window: what was held counted only in the old one
                held = self._tokens[token_id] = _Held(start)
            if held.over:
                return 0, True
            held.held += 1
            if read and held.held < batch and held.seen_total + held.held <= limit:
                return 0, False
            add, held.held = held.held, 0
            return add, False

    def far_below(self, token_id: int, start: datetime, adding: int, limit: int) -> bool:
        """The token's shared total for the window as this worker last saw it, with ``adding`` more, is at
        no more than half the limit (never so for a limit of 0 or 1: every request is then read first)."""
        with self._lock:
            held = self._tokens.get(token_id)
            return held is not None and held.window == start and held.seen_total + adding <= limit // 2

    def added(self, token_id: int, start: datetime, total: int, limit: int) -> None:
        with self._lock:
            held = self._tokens.get(token_id)
            if held is not None and held.window == start:
                held.seen_total = max(held.seen_total, total)
                held.over = held.over or total > limit


#: The window's row of a token, as every API request reads or adds to it: built once (prebuilt,
#: SQLAlchemy keeps their cache keys instead of making them again on every request). On the table,
#: not the mapped class: nothing loaded needs the new count written back.
_COUNTS = ApiRequestCount.__table__
_THIS_WINDOW = (_COUNTS.c.token_id == bindparam("token"), _COUNTS.c.window_start == bindparam("start"))
_ADD = (update(_COUNTS).where(*_THIS_WINDOW).values(count=_COUNTS.c.count + bindparam("add"))
        .returning(_COUNTS.c.count))
_READ = select(_COUNTS.c.count).where(*_THIS_WINDOW)


def _add(token_id: int, start: datetime, count: int) -> int:
    """Add ``count`` to the token's row for the window; the new shared total."""
    row = db.session.execute(_ADD, {"token": token_id, "start": start, "add": count}).first()
    if row is not None:
        return row[0]
    db.session.execute(delete(ApiRequestCount).where(ApiRequestCount.token_id == token_id,
                                                     ApiRequestCount.window_start < start - KEEP))
    try:
        with db.session.begin_nested():  # in an intake's transaction the row may be started by another at once
            db.session.add(ApiRequestCount(token_id=token_id, window_start=start, count=count))
    except IntegrityError:  # it was: the UPDATE finds it now, and only this savepoint is undone
        return _add(token_id, start, count)
    return count


def _add_committed(token_id: int, start: datetime, count: int) -> int:
    with txn.writing():  # a read-only request on SQLite takes the write lock for this alone
        try:
            total = _add(token_id, start, count)
            txn.commit_keeping_loaded()  # the caller's token and person, read a moment ago, are not read again
        except IntegrityError:  # another worker started the same window at the same moment
            db.session.rollback()
            total = _add(token_id, start, count)
            txn.commit_keeping_loaded()
    return total


#: ``g`` keys: a count added in the request's transaction and not yet committed, one rolled back, and
#: one held by a request that reads first, for its write phase.
_UNCOMMITTED, _LOST, _HELD = "_rate_count_uncommitted", "_rate_count_lost", "_rate_count_held"


def _add_in_request(token_id: int, start: datetime, count: int) -> int:
    """Add in the request's transaction (it commits with the change); ``settle`` adds it alone if that never does."""
    total = _add(token_id, start, count)
    setattr(g, _UNCOMMITTED, (token_id, start, count))
    return total


def _committed(_conn) -> None:
    if has_request_context():
        g.pop(_UNCOMMITTED, None)


def _rolled_back(_conn) -> None:
    if has_request_context() and _UNCOMMITTED in g:
        setattr(g, _LOST, g.pop(_UNCOMMITTED))


def settle(_exc: BaseException | None = None) -> None:
    """teardown_request: a count added in a transaction that did not commit is added now, on its own."""
    if _UNCOMMITTED in g:
        db.session.rollback()  # whatever the request left open is not to be kept; the count moves to lost
    lost = g.pop(_LOST, None) or g.pop(_HELD, None)  # at most one is set: a held count, once added, is gone
    if lost is not None:
        _add_committed(*lost)


def init_app(app: Flask) -> None:
    """Watch the real commits and rollbacks (not savepoints) of the app's engine, and settle each request."""
    with app.app_context():
        event.listen(db.engine, "commit", _committed)
        event.listen(db.engine, "rollback", _rolled_back)
    app.teardown_request(settle)


def count_request(counts: ReadCounts, token_id: int, now: datetime, *, read: bool, limit: int, seconds: int,
                  batch: int = 1) -> int:
    """Count one request; 0 if it is within the limit, else the seconds until the window ends."""
    start = _window_start(now, seconds)
    add, over = counts.take(token_id, start, read=read, limit=limit, batch=max(1, batch))
    if add:
        in_request = not read and db.engine.dialect.name == "sqlite"  # see the module's docstring
        if not read and txn.reads_first():  # intake: held until it commits
            if counts.far_below(token_id, start, add, limit) or _shared_total(token_id, start) + add <= limit:
                setattr(g, _HELD, (token_id, start, add))
                return 0
            in_request = False  # over already: refused now, before the work, counted on its own
        total = (_add_in_request if in_request else _add_committed)(token_id, start, add)
        counts.added(token_id, start, total, limit)
        over = total > limit
    return _wait(over, start, now, seconds)


def add_held(counts: ReadCounts, now: datetime, *, limit: int, seconds: int) -> int:
    """Last before a read-first request commits: add its held count; 0, or the seconds to wait."""
    held = g.pop(_HELD, None)
    if held is None:
        return 0
    token_id, start, add = held
    total = _add_in_request(token_id, start, add)
    counts.added(token_id, start, total, limit)
    return _wait(total > limit, start, now, seconds)


def _shared_total(token_id: int, start: datetime) -> int:
    """The token's shared count for the window as last committed (a read: no lock taken)."""
    return db.session.scalar(_READ, {"token": token_id, "start": start}) or 0


def _wait(over: bool, start: datetime, now: datetime, seconds: int) -> int:
    if not over:
        return 0
    return max(1, math.ceil((start + timedelta(seconds=seconds) - now).total_seconds()))

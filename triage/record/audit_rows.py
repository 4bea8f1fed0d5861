"""The rows ``audit-verify`` reads, as plain tuples straight from the database driver.

A full verification reads every event and every contact. Through SQLAlchemy's result objects each
row cost more Python than checking it (a ``Row``, a datetime built and converted for every event,
1,000 bind parameters parsed for every page of children on psycopg); here the driver's own cursor
gives tuples, streamed (a server-side cursor on PostgreSQL), and each event's time comes as the
very text its hash was taken over. Only columns whose stored form differs from what the ORM gives
back (SQLite's 0/1 booleans) go through the column type's own result processor, so every value
checked is exactly the value the ORM would have given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from triage.extensions import db
from triage.record.tables import Child, Contact, Event

#: Rows fetched from the driver at a time.
FETCH = 5000
#: Contacts per page of the contents check (their children read in one statement per page).
PAGE = 1000

#: The hashed text of an event's time on PostgreSQL: ``at.isoformat(timespec="microseconds")`` in UTC.
_PG_AT = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
#: The same on SQLite, from the text SQLAlchemy stores (``YYYY-MM-DD HH:MM:SS.ffffff``); NULL when the
#: stored text has another shape, and then ``at_text`` reads it as the ORM would.
_SQLITE_AT = ("CASE WHEN typeof(at) = 'text' AND length(at) = 26 AND substr(at, 11, 1) = ' ' "
              "THEN substr(at, 1, 10) || 'T' || substr(at, 12) || '+00:00' END")


#: The driver connection a forked helper reads through (``audit_worker``); None: the session's.
_own_connection = None


def use(connection) -> None:
    """Read through ``connection`` (a driver connection in a helper process) instead of the session's."""
    global _own_connection
    _own_connection = connection


def _dbapi():
    if _own_connection is not None:
        return _own_connection
    return db.session.connection().connection.dbapi_connection


def postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def event_sql(where: str = "seq > :after") -> str:
    """The walk's columns in ``_Walk.event``'s order, the time as hashed text and the stored time last.

    ``seq, contact_id, kind, actor_id, actor, at (text), stream, prev_seq, prev_hash, hash, data
    (stored text), data is one whole JSON value, at (as stored: SQLite only, else NULL)``.
    """
    if postgres():
        at, valid, raw = _PG_AT, "true", "NULL"
    else:
        at, valid, raw = _SQLITE_AT, "coalesce(json_valid(data), 1)", "at"
    return (f"SELECT seq, contact_id, kind, actor_id, actor, {at}, stream, prev_seq, prev_hash, hash, "
            f"CAST(data AS TEXT), {valid}, {raw} FROM events WHERE {where} ORDER BY seq")


def at_text(stored) -> str | None:
    """An event's time as its hash has it, from a stored value of another shape (read as the ORM reads it)."""
    column = Event.__table__.c.at.type
    dialect = db.engine.dialect
    parse = column.impl.dialect_impl(dialect).result_processor(dialect, None)
    try:
        value = column.process_result_value(parse(stored) if parse else stored, dialect)
    except (TypeError, ValueError):
        return None
    return value.isoformat(timespec="microseconds") if value is not None else None


@contextmanager
def _cursor(name: str):
    """A driver cursor in the session's transaction: server-side on PostgreSQL (rows streamed, not held)."""
    raw = _dbapi()
    cursor = raw.cursor(name=name) if postgres() else raw.cursor()
    if postgres():
        cursor.itersize = FETCH
    try:
        yield cursor
    finally:
        cursor.close()


def _params(sql: str, params: dict) -> tuple[str, object]:
    """``:name`` placeholders in the driver's own style (psycopg ``%(name)s``, sqlite3 ``:name``)."""
    if postgres():
        for name in params:
            sql = sql.replace(f":{name}", f"%({name})s")
    return sql, params


def stream(sql: str, params: dict, name: str = "audit_rows") -> Iterator[tuple]:
    """Every row of ``sql``, fetched ``FETCH`` at a time."""
    with _cursor(name) as cursor:
        cursor.execute(*_params(sql, params))
        while rows := cursor.fetchmany(FETCH):
            yield from rows


def query(sql: str, params: dict) -> list[tuple]:
    """All rows of a small query (a page), through a plain driver cursor."""
    cursor = _dbapi().cursor()
    try:
        cursor.execute(*_params(sql, params))
        return cursor.fetchall()
    finally:
        cursor.close()


def events(after: int = 0) -> Iterator[tuple]:
    """Every event after sequence number ``after``, in global order (see ``event_sql``)."""
    return stream(event_sql(), {"after": after}, "audit_events")


def _processors(columns) -> list[Callable | None]:
    """Each column's result processor on this database (what the ORM applies to its raw value), or None."""
    dialect = db.engine.dialect
    return [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]


def _processed(row: tuple, processors: list) -> tuple:
    if not any(processors):
        return row
    return tuple(value if process is None or value is None else process(value)
                 for value, process in zip(row, processors, strict=True))


def contents(ids: list[str] | None, json_columns: tuple[str, ...],
             content_columns: tuple[str, ...], child_columns: tuple[str, ...]) -> Iterator[tuple]:
    """``(id, stored, children)`` for every contact in id order, or for ``ids``: plain values, a page at a time.

    ``stored`` maps each content column to its value; a JSON column to its stored text, and
    ``<column>_valid`` to whether that text is one whole JSON value. ``children`` are dicts of
    ``child_columns``. Memory is bounded by the page whatever the store's size.
    """
    selected, names = [], []
    for column in content_columns:
        if column in json_columns:
            # SQL NULL is valid (hashed as "null"): SQLite's json_valid(NULL) is 0, which sent every
            # contact with no screening recommendation down the decode-and-re-encode path
            selected += [f"CAST({column} AS TEXT)",
                         "true" if postgres() else f"CASE WHEN {column} IS NULL THEN 1 ELSE json_valid({column}) END"]
            names += [column, f"{column}_valid"]
        else:
            selected.append(column)
            names.append(column)
    processors = [None if name in json_columns or name.endswith("_valid") else _processors([Contact.__table__.c[name]])[0]
                  for name in names]
    child_processors = _processors([Child.__table__.c[name] for name in child_columns])
    columns = ", ".join(["id", *selected])

    def pages() -> Iterator[list[tuple]]:
        if ids is not None:
            for i in range(0, len(ids), PAGE):
                yield _by_ids(f"SELECT {columns} FROM contacts WHERE id IN ({{}})", ids[i:i + PAGE])
            return
        last = None
        while True:
            after = "" if last is None else "WHERE id > :last "
            page = query(f"SELECT {columns} FROM contacts {after}ORDER BY id LIMIT {PAGE}",
                         {} if last is None else {"last": last})
            if not page:
                return
            yield page
            last = page[-1][0]

    child_sql = f"SELECT contact_id, {', '.join(child_columns)} FROM children WHERE contact_id IN ({{}})"
    for page in pages():
        children: dict[str, list[dict]] = {row[0]: [] for row in page}
        for contact_id, *values in _by_ids(child_sql, list(children)):
            children[contact_id].append(dict(zip(child_columns, _processed(tuple(values), child_processors),
                                                 strict=True)))
        for row in page:
            yield row[0], dict(zip(names, _processed(row[1:], processors), strict=True)), children[row[0]]


def _by_ids(sql: str, ids: list[str]) -> list[tuple]:
    """``sql`` (its ``IN ({})`` filled) for ``ids``: one array parameter on PostgreSQL, one ``?`` each on SQLite."""
    if not ids:
        return []
    cursor = _dbapi().cursor()
    try:
        if postgres():
            cursor.execute(sql.replace("IN ({})", "= ANY(%s)"), (ids,))
        else:
            cursor.execute(sql.format(", ".join("?" * len(ids))), ids)
        return cursor.fetchall()
    finally:
        cursor.close()


def seals_and_receipts(sealing_kinds: tuple[str, ...]) -> tuple[dict[str, str | None], set[str]]:
    """Each contact's latest sealed digest and the contacts whose receipt is recorded, from the events as stored.

    What ``audit._Walk`` gathers for the contents check, read on its own by the helper that checks
    the contents beside the walk, in the same snapshot: the same rows, so the same values (the walk
    proves each of those events by its hash; if it does not, its failure is the answer).
    """
    kinds = ", ".join(f"'{kind}'" for kind in (*sealing_kinds, "received"))
    seals: dict[str, str | None] = {}
    received: set[str] = set()
    for contact_id, kind, data_text in stream(f"SELECT contact_id, kind, CAST(data AS TEXT) FROM events "
                                              f"WHERE kind IN ({kinds}) ORDER BY seq", {}, "audit_seals"):
        if kind == "received":
            if contact_id:
                received.add(contact_id)
        else:
            seals[contact_id] = (json.loads(data_text) or {}).get("content_digest")
    return seals, received

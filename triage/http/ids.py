"""Whole-number ids in paths (``<int:check_id>``), bounded by what the database can hold.

Werkzeug's ``int`` converter takes any run of digits, so ``/api/v1/checks/99999999999999999999/response``
reached the database and failed there (SQLite: "Python int too large to convert to SQLite INTEGER";
PostgreSQL: integer out of range), a 500 the fuzzing found. Our ids are 32-bit integer columns on
PostgreSQL, so a larger number cannot name anything: it does not match the route, and the answer is
the 404 any unknown id gets. flask-smorest documents the bound (``maximum``) from the converter.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

#: The largest id an ``Integer`` column holds on PostgreSQL (and so on either database).
MAX_ID = 2**31 - 1


class BoundedId(IntegerConverter):
    """``<int:...>`` as werkzeug reads it, with ``max`` defaulting to ``MAX_ID``."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    """Before any route is added: every ``<int:...>`` in the app is bounded."""
    app.url_map.converters["int"] = BoundedId

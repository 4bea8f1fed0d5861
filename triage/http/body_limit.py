"""The request body limit, enforced before Flask sees the request, however the body arrives.

Flask's ``MAX_CONTENT_LENGTH`` trusts ``Content-Length``; a chunked body has none, and gunicorn
then hands Werkzeug a stream it cut short at the limit (a truncated contact read as bad JSON), or
one it reads whole. And a server that answers 413 without reading the body closes the socket with
bytes unread, which the client sees as "connection reset" instead of the answer.

So this WSGI middleware, wrapped around the app in the factory:

* a chunked body (no ``Content-Length``) is read into memory up to the limit; within it, the app
  gets it as an ordinary body with a ``Content-Length``; over it, the rest is read and discarded;
* a declared ``Content-Length`` over the limit is read and discarded;

in both cases only up to ``DRAIN_BYTES`` (beyond that the connection is simply closed: nobody
sends a contact that large by accident), and the app is handed an empty body whose
``Content-Length`` says how much arrived, so Flask raises its 413 and the app's own error
handlers answer with the usual problem document (or error page) and headers.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

PIECE = 64 * 1024
#: How much of an oversized body is read (and thrown away) so the client can read the 413.
DRAIN_BYTES = 16 * 1024 * 1024


def _read(stream, most: int) -> tuple[bytes, int]:
    """Up to ``most`` bytes kept, and how many bytes were read in all (stopping at most + 1)."""
    kept = bytearray()
    while len(kept) <= most:
        piece = stream.read(min(PIECE, most + 1 - len(kept)))
        if not piece:
            break
        kept += piece
    return bytes(kept), len(kept)


def _discard(stream, most: int) -> int:
    seen = 0
    while seen < most:
        piece = stream.read(min(PIECE, most - seen))
        if not piece:
            break
        seen += len(piece)
    return seen


class BodyLimit:
    """WSGI middleware: see the module docstring. ``limit`` is read per request from the app."""

    def __init__(self, app: Flask, drain: int = DRAIN_BYTES):
        self.app, self.wsgi_app, self.drain = app, app.wsgi_app, drain

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None:
            self._bound(environ, limit)
        return self.wsgi_app(environ, start_response)

    def _bound(self, environ: dict, limit: int) -> None:
        stream = environ["wsgi.input"]
        declared = environ.get("CONTENT_LENGTH", "").strip()
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not declared:
            body, seen = _read(stream, limit)
            if seen > limit:
                seen += _discard(stream, self.drain - seen)
                body = b""
            self._replace(environ, body, seen)
        elif declared.isdigit() and int(declared) > limit:
            if int(declared) <= self.drain:
                _discard(stream, int(declared))
            self._replace(environ, b"", int(declared))

    @staticmethod
    def _replace(environ: dict, body: bytes, length: int) -> None:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(length)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True


def refuse_oversized() -> None:
    """before_request: a body over the limit is a 413 even on a route that never reads it."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"The limit is {limit} bytes.")


def init_app(app: Flask) -> None:
    app.wsgi_app = BodyLimit(app)
    app.before_request(refuse_oversized)

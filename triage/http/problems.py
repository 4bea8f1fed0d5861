"""RFC 9457 problem documents for every error the API returns.

One place turns any error into ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and, for bad input, ``errors`` keyed by JSON path. Unexpected
exceptions become a plain 500 with no stack trace or internal name; the trace goes to the
server log only (which never holds personal data: we log the request id, not the body).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, json, render_template, request
from jinja2 import TemplateNotFound
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import HTTPException

from triage.engine.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound, Refusal

log = logging.getLogger(__name__)

TYPE_BASE = "https://triage.invalid/problems/"

TITLES = {
    400: "Malformed request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "The contact does not match the contract",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class ProblemSchema(Schema):
    """The problem document ``problem_response`` writes, as the OpenAPI document declares it
    (``application/problem+json``) for every error an operation answers.

    Like flask-smorest's own error schema it documents and does not dump: an extra a refusal
    carries reaches the client even if it is missing here, and ``tests/api/test_openapi.py``
    fails on it until it is declared. The last four fields are today's extras; a client may
    ignore them, and others may come (RFC 9457 extension members), so the object is left open.
    """

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"format": "uri", "description": "Names the kind of problem."})
    title = fields.String(required=True, metadata={"description": "A short summary of the kind of problem."})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status, repeated."})
    detail = fields.String(required=True, metadata={"description": "What went wrong this time, in plain English."})
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()),
        metadata={"description": "Bad input: the JSON path of each bad field (children.0.age_years) or query "
                                 "parameter, with messages a developer can act on."},
    )
    expected_version = fields.Integer(metadata={"description": "409: the contact version you sent, now stale."})
    state = fields.String(metadata={"description": "409: the contact's state, which does not allow the action."})
    allowed = fields.List(fields.String(), metadata={"description": "409: the actions its state allows now."})
    retry_after = fields.Integer(metadata={"description": "429: seconds until the token may send again "
                                                          "(as the Retry-After header)."})


class Problem(Refusal):
    """Raise from a view to answer with a problem document: a refusal with its HTTP status."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, **details):
        super().__init__(detail, **details)
        self.headers = headers or {}  # e.g. Retry-After on a 429
        self.status = status


def problem_response(
    status: int,
    detail: str,
    *,
    errors: dict | None = None,
    slug: str | None = None,
    title: str | None = None,
    extra: dict | None = None,
    headers: dict | None = None,
) -> Response:
    body = {
        "type": TYPE_BASE + (slug or str(status)),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def wants_html() -> bool:
    """Pages get an HTML error page; the API and anything asking for JSON get a problem document."""
    if request.path.startswith("/api/"):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best == "text/html"


def _html_error(status: int, detail: str) -> Response | None:
    try:
        html = render_template("error.html", status=status, title=TITLES.get(status, "Error"), detail=detail)
    except TemplateNotFound:
        return None
    return Response(html, status=status, mimetype="text/html")


def _respond(status: int, detail: str, **kwargs) -> Response:
    if wants_html():
        page = _html_error(status, detail)
        if page is not None:
            return page
    return problem_response(status, detail, **kwargs)


DETAILS = {
    400: "The request could not be read.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The request body is larger than this service accepts.",
}


def handle_problem(exc: Problem) -> Response:
    return _respond(
        exc.status, exc.detail, errors=exc.errors, slug=exc.slug, title=exc.title, extra=exc.extra,
        headers={**getattr(exc, "headers", {}), **({"WWW-Authenticate": 'Bearer realm="triage"'} if exc.status == 401 else {})},
    )


#: The one place a domain refusal becomes an HTTP status.
DOMAIN_STATUS: dict[type[DomainError], int] = {Invalid: 422, NotAllowed: 403, NotFound: 404, Conflict: 409}


def problem_from(exc: DomainError) -> Problem:
    """The problem document a domain error is answered with."""
    status = next(code for cls, code in DOMAIN_STATUS.items() if isinstance(exc, cls))
    return Problem(status, exc.detail, errors=exc.errors, slug=exc.slug, title=exc.title, extra=exc.extra)


def handle_domain_error(exc: DomainError) -> Response:
    return handle_problem(problem_from(exc))


def handle_http_exception(exc: HTTPException) -> Response:
    if exc.response is not None:  # the raiser built the answer already (e.g. sign-in throttling)
        return exc.response
    status = exc.code or 500
    if status == 413:
        limit = exc.description if isinstance(exc.description, str) else ""
        return _respond(413, f"The request body is larger than this service accepts. {limit}".strip())
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return _respond(status, DETAILS.get(status, TITLES.get(status, "Error")), headers=headers)


def handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url_rule)
    return _respond(500, "Something went wrong on our side. Nothing was changed; please try again.")


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)

"""The OpenAPI document says what the service really answers: flask-smorest's idiom, our formats.

flask-smorest documents errors with its own ``{code, status, message, errors}`` as
``application/json``; this service answers every error with an RFC 9457 problem document
(``triage.http.problems``). ``Api`` swaps in that schema as ``ERROR_SCHEMA`` and its media type,
declares the bearer token every ``/api/v1`` call carries, and ``Blueprint.problems`` lets each
operation list the error statuses it really answers (``tests/api/test_openapi.py`` provokes each
one and checks the body against the document; ``tests/api/test_fuzz.py`` fuzzes every operation
against it with schemathesis).

Rules a request must meet that marshmallow's field types cannot say are written into the document
too, so a client (or a fuzzer) can know them: ``rules(Schema, ...)`` adds object-level JSON Schema
keywords (``allOf`` with ``if``/``then``: a field required when another has a value) and a
dictionary's key pattern becomes its ``propertyNames``. Helpers here give the shared shapes: text
that must not be blank (``NOT_BLANK``), a day or month the reports take (``DAY``, ``MONTH``).
"""

from __future__ import annotations

import copy
import http
from collections.abc import Callable

import flask_smorest
from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest.utils import prepare_response
from marshmallow import fields

from triage.http.problems import ProblemSchema
from triage.record.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE

PROBLEM_JSON = "application/problem+json"
BEARER = "bearer"
#: For ``headers=`` on a response that answers with where the contact is.
LOCATION = {"Location": {"description": "/api/v1/contacts/<id>", "schema": {"type": "string"}}}

#: What each error status means here, shown beside every operation that answers it.
ERROR_MEANINGS: dict[int, str] = {
    400: "The body is not valid JSON, or holds text no database can keep, such as the NUL character (errors names it).",
    401: "No valid API token: send Authorization: Bearer <token>.",
    403: "Your role (or organisation) may not do this; the detail says why.",
    404: "Nothing with that id is visible to you (another organisation's is answered the same way).",
    409: "The contact's state or version does not allow this now (someone may have acted first).",
    413: "The request body is larger than this service accepts.",
    415: "The body is not JSON: send Content-Type: application/json.",
    422: "The body or query does not match what this operation takes; errors names each bad field.",
    429: "This API token sent more requests than its limit in the current window; wait Retry-After seconds.",
}

#: Every call with an API token is counted against the token's limit (``services/ratelimit.py``):
#: an operation that takes a token (it answers 401 without one) also answers 429.
COUNTED = 401
RETRY_AFTER = {"Retry-After": {"description": "Seconds until the token's window ends and it may send again.",
                               "schema": {"type": "integer", "minimum": 1}}}

#: Text that says something: at least one character Python does not count as white space (the
#: services strip with ``str.split``/``str.strip``, whose white space is not ECMA-262's ``\s``).
_SPACE = "".join(chr(c) for c in range(0x10000) if chr(c).isspace())  # all in the BMP
NOT_BLANK = "[^" + "".join(f"\\u{ord(ch):04x}" for ch in _SPACE) + "]"


def non_blank(min_chars: int = 1) -> str:
    """A pattern for text with at least ``min_chars`` characters from its first to its last non-space."""
    if min_chars <= 1:
        return NOT_BLANK
    return f"{NOT_BLANK}[\\s\\S]{{{min_chars - 2},}}{NOT_BLANK}"


#: A day the reports take (YYYY-MM-DD, 2000 to 2099: ``http/args.py``); empty is the same as absent.
DAY = {"type": "string", "format": "date", "pattern": "^20[0-9]{2}-"}
#: A month (YYYY-MM, 2000-01 to 2099-12).
MONTH = {"type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])$"}


#: A list read a page at a time (queues, a partner's feedback): ``?per_page=`` and the ``next_cursor``
#: of the page before (``http.args.page_args`` reads them).
PAGING = [
    {"in": "query", "name": "cursor", "schema": {"type": "string"},
     "description": "The next_cursor of the page before; absent for the first page."},
    {"in": "query", "name": "per_page",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}},
]


def day_parameter(name: str, description: str) -> dict:
    return {"in": "query", "name": name, "schema": DAY, "allowEmptyValue": True,
            "description": description + " An empty value is the same as leaving it out."}


_RULES: dict[type, dict] = {}


def rules(schema_cls: type, **keywords) -> None:
    """Object-level JSON Schema keywords the document adds to a marshmallow schema's definition."""
    _RULES[schema_cls] = keywords


def _merge(into: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


class RulesPlugin(BasePlugin):
    """Writes ``rules()`` into each schema's definition (after the marshmallow plugin built it)."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        if schema is None:
            return None
        extra = _RULES.get(resolve_schema_cls(schema))
        return _merge(copy.deepcopy(definition), extra) if extra else None


def dict_key_pattern(self, field, **kwargs) -> dict:
    """A ``fields.Dict`` whose keys must match a pattern documents it as ``propertyNames``."""
    if not isinstance(field, fields.Dict) or field.key_field is None:
        return {}
    for validator in field.key_field.validators:
        pattern = getattr(validator, "pattern", None)
        if isinstance(pattern, str):
            return {"propertyNames": {"pattern": pattern}}
    return {}


class Api(flask_smorest.Api):
    """flask-smorest's ``Api`` with the problem document as its error schema and a bearer scheme."""

    ERROR_SCHEMA = ProblemSchema
    ERROR_CONTENT_TYPE = PROBLEM_JSON

    def __init__(self, app=None, *, spec_kwargs: dict | None = None, **kwargs) -> None:
        spec_kwargs = {"security": [{BEARER: []}], **(spec_kwargs or {})}
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def _init_spec(self, **kwargs) -> None:
        kwargs["extra_plugins"] = [*(kwargs.get("extra_plugins") or ()), RulesPlugin()]
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(dict_key_pattern)
        self.spec.components.security_scheme(BEARER, {
            "type": "http", "scheme": "bearer",
            "description": "An API token (flask --app wsgi triage create-token EMAIL).",
        })

    def _register_responses(self) -> None:
        """One lazily registered response per status, as flask-smorest does, in our media type.

        Overrides flask-smorest's, which writes error bodies as ``DEFAULT_RESPONSE_CONTENT_TYPE``
        (``application/json``): success bodies keep that type, problem documents do not.
        """
        for status in http.HTTPStatus:
            if status < 400:
                continue
            self._register_problem(status.name, ERROR_MEANINGS.get(status, status.phrase),
                                   RETRY_AFTER if status == 429 else None)
        self._register_problem(self.DEFAULT_ERROR_RESPONSE_NAME,
                               "Any other error (for example 500), as a problem document.")

    def _register_problem(self, name: str, description: str, headers: dict | None = None) -> None:
        response = {"description": description, "schema": self.ERROR_SCHEMA}
        if headers:
            response["headers"] = headers
        prepare_response(response, self.spec, self.ERROR_CONTENT_TYPE)
        self.spec.components.response(name, response, lazy=True)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's ``Blueprint`` plus ``problems``: the error statuses an operation answers."""

    def problems(self, *statuses: int) -> Callable:
        """Document each status as a reference to the ``Api``'s problem response for it.

        An operation that takes a token (401 without one) is also documented as answering 429:
        every such call counts against the token's rate limit (``http/access.py``).
        """
        statuses = (*statuses, 429) if COUNTED in statuses and 429 not in statuses else statuses

        def decorate(view: Callable) -> Callable:
            for status in sorted(statuses, reverse=True):
                view = self.alt_response(status, response=http.HTTPStatus(status).name)(view)
            return view

        return decorate

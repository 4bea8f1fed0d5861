"""The OpenAPI document says what the service really answers: flask-smorest's idiom, our formats.

flask-smorest documents errors with its own ``{code, status, message, errors}`` as
``application/json``; this service answers every error with an RFC 9457 problem document
(``triage.http.problems``). ``Api`` swaps in that schema as ``ERROR_SCHEMA`` and its media type,
declares the bearer token every ``/api/v1`` call carries, and ``Blueprint.problems`` lets each
operation list the error statuses it really answers (``tests/api/test_openapi.py`` provokes each
one and checks the body against the document).
"""

from __future__ import annotations

import http
from collections.abc import Callable

import flask_smorest
from flask_smorest.utils import prepare_response

from triage.http.problems import ProblemSchema

PROBLEM_JSON = "application/problem+json"
BEARER = "bearer"
#: For ``headers=`` on a response that answers with where the contact is.
LOCATION = {"Location": {"description": "/api/v1/contacts/<id>", "schema": {"type": "string"}}}

#: What each error status means here, shown beside every operation that answers it.
ERROR_MEANINGS: dict[int, str] = {
    400: "The body is not valid JSON, or holds text no database can keep (errors names it).",
    401: "No valid API token: send Authorization: Bearer <token>.",
    403: "Your role (or organisation) may not do this; the detail says why.",
    404: "Nothing with that id is visible to you (another organisation's is answered the same way).",
    409: "The contact's state or version does not allow this now (someone may have acted first).",
    413: "The request body is larger than this service accepts.",
    415: "The body is not JSON: send Content-Type: application/json.",
    422: "The body or query does not match what this operation takes; errors names each bad field.",
}


class Api(flask_smorest.Api):
    """flask-smorest's ``Api`` with the problem document as its error schema and a bearer scheme."""

    ERROR_SCHEMA = ProblemSchema
    ERROR_CONTENT_TYPE = PROBLEM_JSON

    def __init__(self, app=None, *, spec_kwargs: dict | None = None, **kwargs) -> None:
        spec_kwargs = {"security": [{BEARER: []}], **(spec_kwargs or {})}
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def _init_spec(self, **kwargs) -> None:
        super()._init_spec(**kwargs)
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
            self._register_problem(status.name, ERROR_MEANINGS.get(status, status.phrase))
        self._register_problem(self.DEFAULT_ERROR_RESPONSE_NAME,
                               "Any other error (for example 500), as a problem document.")

    def _register_problem(self, name: str, description: str) -> None:
        response = {"description": description, "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, self.ERROR_CONTENT_TYPE)
        self.spec.components.response(name, response, lazy=True)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's ``Blueprint`` plus ``problems``: the error statuses an operation answers."""

    def problems(self, *statuses: int) -> Callable:
        """Document each status as a reference to the ``Api``'s problem response for it."""

        def decorate(view: Callable) -> Callable:
            for status in sorted(statuses, reverse=True):
                view = self.alt_response(status, response=http.HTTPStatus(status).name)(view)
            return view

        return decorate

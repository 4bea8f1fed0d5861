"""Fuzzing the API against its own OpenAPI document (issue 18 item 12), in-process through WSGI.

Schemathesis (pinned in requirements-dev.txt) reads ``/api/openapi.json`` as the service serves it
and, for every documented operation, sends the document's own examples, its coverage cases
(boundaries, missing and malformed parameters, other methods) and a bounded number of generated
requests, valid and invalid, each as a role ``access.POLICY`` admits (partner, practitioner,
manager or agency token, in turn). Every answer goes through every schemathesis check: no 5xx,
status, content type, headers and body as documented, schema-valid input accepted and invalid
input refused, and nothing answered without the token. Half the valid requests aim at records
that exist (a contact, its child, a check, an organisation), so the fuzz reaches past the 404s.

The figures (requests sent, answers by status, failures) are printed at the end of the run.
``TRIAGE_FUZZ_EXAMPLES`` (generated requests per operation, default 5) and ``TRIAGE_FUZZ_SEED``
change the run; the defaults keep the whole fuzz to well under a minute on either database.
"""

from __future__ import annotations

import collections
import fnmatch
import itertools
import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.conftest import _fresh_database
from tests.decision_support import decision_body
from tests.factories import contact_payload
from tests.figures import FIGURES
from triage.app import create_app
from triage.extensions import db
from triage.http.access import POLICY, PUBLIC
from triage.record.queries import organisation_named
from triage.record.tables import ApiToken, User
from triage.services.security import new_token, token_digest

EXAMPLES = int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("TRIAGE_FUZZ_SEED", "2026"))

#: 422s a schema-valid request may still get, and the fields they may name: rules that depend on
#: what is stored, or on judgement the document can only describe (each is in the field's or the
#: parameter's description). Any other 422 to a schema-valid request fails the fuzz.
EXPLAINED_REFUSALS: dict[str, set[str]] = {
    # sent more than 5 minutes in the future, by the clock when it arrives; an NHS number's modulus 11
    # check digit and a UPN's check letter (the document gives their shape)
    "POST /api/v1/contacts": {"received_at", "children.*.identifiers.nhs_number", "children.*.identifiers.upn"},
    # own words, not another level's draft; an override reason against the contact's recommendation;
    # early help without consent (the consent may be the contact's own)
    "POST /api/v1/contacts/{contact_id}/decision": {"rationale", "override_reason", "consent_reason"},
    # not the decision's rationale copied back; a changed level must differ from the decision's
    "POST /api/v1/contacts/{contact_id}/review": {"rationale", "level"},
    # the other child must exist; the contact named must be about one of the two children
    "POST /api/v1/children/{child_id}/links": {"linked_child_id", "contact_id"},
    "POST /api/v1/children/{child_id}/links/{link_id}/undo": {"contact_id"},
    # the finding codes are the check's agency's (config/thresholds.yaml); findings need known: true
    "POST /api/v1/checks/{check_id}/response": {"findings", "findings.*"},
    # from must not be after to, and the range is bounded (a year; ten for the training export)
    "GET /api/v1/reports/dashboard": {"from"},
    "GET /api/v1/exports/annex-a/list-1.csv": {"from"},
    "GET /api/v1/exports/annex-a/list-3.csv": {"from"},
    "GET /api/v1/exports/training.jsonl": {"from"},
    # a page link (cursor) is opaque: only one the list itself handed out is accepted
    "GET /api/v1/contacts": {"cursor", "page"},  # and a page number or a cursor, not both
    "GET /api/v1/feedback": {"cursor"},
    **{f"GET /api/v1/queues/{name}": {"cursor"} for name in (
        "awaiting-decision", "awaiting-checks", "overdue", "awaiting-my-review", "reviews-overdue", "decided-today")},
}


def filled_from_the_token(operation: str, role: str | None, case) -> bool:
    """A partner's contact without source.organisation, which the service fills from the token
    (spec section 1, and the operation's description): valid once filled, so accepted."""
    body = case.body
    if operation != "POST /api/v1/contacts" or role != "partner" or not isinstance(body, dict):
        return False
    source = body.get("source")
    if not isinstance(source, dict) or "organisation" in source:
        return False
    filled = {**body, "source": {**source, "organisation": "Demo Police"}}
    document = schema.raw_schema
    body_schema = document["paths"]["/api/v1/contacts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({"allOf": [body_schema], "components": document["components"]})
    return validator.is_valid(filled)


def explained(operation: str, response) -> bool:
    """A 422 whose every named field is one ``EXPLAINED_REFUSALS`` allows for the operation."""
    if response.status_code != 422 or operation not in EXPLAINED_REFUSALS:
        return False
    named = set((response.json() or {}).get("errors") or {})
    allowed = EXPLAINED_REFUSALS[operation]
    return bool(named) and all(any(fnmatch.fnmatchcase(name, rule) for rule in allowed) for name in named)


def _template(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def roles_for(operation: str) -> list[str]:
    """The roles ``POLICY`` admits to a documented operation (``"GET /api/v1/contacts"``)."""
    for key, roles in POLICY.items():
        method, rule = key.split(" ", 1)
        if f"{method} {_template(rule)}" == operation:
            return [] if roles == PUBLIC else sorted(roles)
    raise AssertionError(f"{operation} is documented but has no access rule")


class Tally:
    """What the fuzz sent and what came back, for the printed figures."""

    def __init__(self) -> None:
        self.requests = 0
        self.statuses: collections.Counter[int] = collections.Counter()
        self.failures: list[str] = []
        self.operations: set[str] = set()

    def summary(self, database: str) -> str:
        by_status = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        server_errors = sum(n for status, n in self.statuses.items() if status >= 500)
        return (f"fuzz ({database}): {self.requests} requests to {len(self.operations)} operations, "
                f"{server_errors} 5xx, {len(self.failures)} failing operations; answers {by_status}")


TALLY = Tally()


@pytest.fixture(scope="module")
def fuzzed(migrated, tmp_path_factory):
    """One store for the whole fuzz, as a server has: people of every role and records to aim at.

    Module-wide (a fresh app per operation would spend most of the run starting apps); the rate
    limit is lifted so the fuzz's volume does not turn answers into 429s (``test_rate_limit.py``
    and the OpenAPI walk prove the 429).
    """
    url = _fresh_database(migrated, tmp_path_factory.mktemp("fuzz"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "API_RATE_LIMIT": 10**6})
    headers = {}
    with app.app_context():
        for role in ("practitioner", "manager", "partner", "agency", "admin"):
            organisation = organisation_named("Demo Police") if role in ("partner", "agency") else None
            if role == "agency":
                organisation.agency_type = "police"  # Demo Police's hub answers police checks
            user = User(email=f"fuzz-{role}@test.invalid", role=role, organisation=organisation,
                        password_hash="!no sign-in", is_active=True)
            db.session.add(user)
            db.session.flush()
            token = new_token()
            db.session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), prefix=token[:8]))
            db.session.commit()
            headers[role] = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    made = client.post("/api/v1/contacts", json=contact_payload(), headers=headers["partner"]).get_json()
    sent = client.post("/api/v1/contacts", json=contact_payload(), headers=headers["partner"]).get_json()
    decided = client.get(f"/api/v1/contacts/{sent['id']}", headers=headers["practitioner"]).get_json()
    client.post(f"/api/v1/contacts/{decided['id']}/decision",
                json=decision_body(level=decided["recommendation"]["level"]), headers=headers["practitioner"])
    seeded = {"contact_id": made["id"], "child_id": made["children"][0]["child_id"], "organisation_id": 1,
              "check_id": 1, "link_id": 1}
    yield app, headers, seeded
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class CurrentApp:
    """The WSGI application schemathesis talks to: the test's own app, whose store is fresh per test.

    The schema is read (and the tests made) when this module is collected, before any test's app
    exists; every request, schemathesis's own probes included, goes through here to the app of
    the test that is running.
    """

    def __init__(self) -> None:
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})  # serves the document

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


CURRENT = CurrentApp()
CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    # NUL is refused in any text (400: PostgreSQL cannot store it, as the 400's meaning says)
    "generation": {"max-examples": EXAMPLES, "database": "none", "allow-x00": False},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
})
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", CURRENT, config=CONFIG)
_turn = itertools.count()


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_operation_answers_as_documented(case, fuzzed):
    app, tokens, seeded = fuzzed
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    roles = roles_for(operation)
    turn = next(_turn)
    headers, role = {}, None
    if roles:
        role = roles[turn % len(roles)]
        headers = dict(tokens[role])
    CURRENT.app = app
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if positive and turn % 2 and case.path_parameters:
        for name in case.path_parameters:
            if name in seeded:
                case.path_parameters[name] = seeded[name]
    response = case.call(headers=headers)
    assert response.status_code < 500, f"{operation} answered {response.status_code}"  # no 5xx ever reaches a client
    TALLY.requests += 1
    TALLY.statuses[response.status_code] += 1
    TALLY.operations.add(operation)
    excluded = [positive_data_acceptance] if explained(operation, response) else []
    if filled_from_the_token(operation, role, case):
        excluded.append(negative_data_rejection)
    try:
        case.validate_response(response, headers=headers, transport_kwargs={"headers": headers},
                               excluded_checks=excluded)
    except BaseException:
        TALLY.failures.append(operation)
        raise
    FIGURES[f"fuzz-{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}"] = TALLY.summary(
        "PostgreSQL" if "postgresql" in app.config["SQLALCHEMY_DATABASE_URI"] else "SQLite")

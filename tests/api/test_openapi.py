"""The OpenAPI 3 document and the interactive docs (built by flask-smorest from our schemas).

A partner's developer reads the request body schema in the document; it must say what the
contract says, so it is compared with ``contact-v1.schema.json`` object by object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from flask import jsonify
from jsonschema import Draft202012Validator

from tests.decision_support import OVERRIDE, decision_body, pin, review_body
from tests.factories import SHARED, contact_payload, example
from triage.api.schemas import Out, QueueSchema
from triage.extensions import db
from triage.http.access import POLICY, PUBLIC, SIGNED_IN
from triage.record.queries import organisation_named

CONTRACT = json.loads((SHARED / "spec" / "contact-v1.schema.json").read_text())


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = document["components"]["schemas"][name]
    return schema


def test_it_is_an_openapi_3_document(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]


def test_it_lists_the_contact_routes(document):
    assert {"post", "get"} <= set(document["paths"]["/api/v1/contacts"])
    assert "get" in document["paths"]["/api/v1/contacts/{contact_id}"]
    responses = document["paths"]["/api/v1/contacts"]["post"]["responses"]
    assert {"200", "201"} <= set(responses)


def test_the_list_documents_its_filters_and_pages(document):
    names = {p["name"] for p in document["paths"]["/api/v1/contacts"]["get"]["parameters"]}
    assert {"status", "source_code", "received_from", "received_to", "page", "per_page"} <= names


def _compare(document: dict, ours: dict, contract: dict, path: str) -> list[str]:
    """Differences between the documented schema and the contract at ``path`` and below."""
    ours = resolve(document, ours)
    problems = []
    for key in ("enum", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "format",
                "pattern", "uniqueItems", "minProperties", "propertyNames", "allOf"):
        if key in contract and ours.get(key) != contract[key]:
            problems.append(f"{path}: {key} is {ours.get(key)!r}, the contract says {contract[key]!r}")
    if contract.get("type") == "object" and "properties" in contract:
        if set(ours.get("properties", {})) != set(contract["properties"]):
            problems.append(f"{path}: properties {sorted(ours.get('properties', {}))} != "
                            f"{sorted(contract['properties'])}")
        if sorted(ours.get("required", [])) != sorted(contract.get("required", [])):
            problems.append(f"{path}: required {ours.get('required')} != {contract.get('required')}")
        if contract.get("additionalProperties") is False and ours.get("additionalProperties") is not False:
            problems.append(f"{path}: unknown fields are not documented as refused")
        for name, sub in contract["properties"].items():
            if name in ours.get("properties", {}):
                problems += _compare(document, ours["properties"][name], sub, f"{path}.{name}")
    if "items" in contract and "items" in ours:
        problems += _compare(document, ours["items"], contract["items"], f"{path}[]")
    return problems


def test_the_request_body_schema_says_what_the_contract_says(document):
    body = document["paths"]["/api/v1/contacts"]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert _compare(document, schema, CONTRACT, "contact") == []


def test_the_interactive_docs_are_served_from_our_own_files(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/api/openapi.json" in page
    assert "swagger-ui" in page
    assert "https://" not in page.split("<body>")[0]  # no stylesheet or script from a CDN


# ---------------------------------------------------------------------------------------------
# Every documented operation, called for real: each answer must be what the document says.
# ---------------------------------------------------------------------------------------------
#
# ``CASES`` holds one walk per operation in the served document. A walk calls its operation
# with the roles ``access.POLICY`` admits and refuses and with good and bad input, until it has
# provoked every status the document lists for it. Every answer (the walk's own and those of
# the calls that set it up) is checked against the document: its Content-Type must be one the
# document declares for that status, and its body must validate against that media type's
# schema (OpenAPI 3.1 schemas are JSON Schema 2020-12, ``$ref``s resolved into ``components``),
# read as closed: a field the document does not declare fails. Declared headers must be sent.
# A status the document does not list, or one it lists that the walk never saw, fails; so does
# a field a view built that its response schema would silently drop (``undeclared``).


def template(rule: str) -> str:
    """Flask's ``/contacts/<contact_id>`` (or ``<int:organisation_id>``) as OpenAPI's ``/contacts/{contact_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def operation_of(app, method: str, url: str) -> str:
    """``"GET /api/v1/contacts/{contact_id}"``: the documented operation a request reaches."""
    rule, _ = app.url_map.bind("localhost").match(url.split("?")[0], method=method, return_rule=True)
    return f"{method} {template(rule.rule)}"


def documented_operations(document: dict) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in document["paths"].items()
            for method in item if method in {"get", "post", "put", "patch", "delete"}}


def documented_statuses(document: dict, operation: str) -> set[int]:
    method, path = operation.split(" ", 1)
    return {int(s) for s in document["paths"][path][method.lower()]["responses"] if s != "default"}


def declared(document: dict, operation: str, status: int) -> dict:
    """The response object the document declares for ``status`` (or its default)."""
    method, path = operation.split(" ", 1)
    responses = document["paths"][path][method.lower()]["responses"]
    response = responses.get(str(status), responses.get("default", {}))
    while "$ref" in response:
        response = document["components"]["responses"][response["$ref"].split("/")[-1]]
    return response


def declared_content(document: dict, operation: str, status: int) -> dict:
    """The media types (and their schemas) the document declares for ``status``."""
    return declared(document, operation, status).get("content", {})


def closed(node):
    """The document's schemas as the service itself must meet them: an object with declared
    properties sends no others (the document leaves answers open so clients tolerate new fields)."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: closed(value) for key, value in node.items()}
    if isinstance(node.get("properties"), dict) and node.get("additionalProperties", True) is True:
        node["additionalProperties"] = False
    return node


def drift(document: dict, operation: str, response) -> list[str]:
    """How a real answer departs from the document (empty when it matches)."""
    missing = [name for name in declared(document, operation, response.status_code).get("headers", {})
               if name not in response.headers]
    if missing:
        return [f"{operation} answered {response.status_code} without the headers {missing}"]
    content = declared_content(document, operation, response.status_code)
    if response.mimetype not in content:
        return [f"{operation} answered {response.status_code} as {response.mimetype}; "
                f"the document declares {sorted(content)}"]
    schema = content[response.mimetype]["schema"]
    body = response.get_json() if response.is_json else response.get_data(as_text=True)
    # The schema's "#/components/..." references resolve against this root.
    validator = Draft202012Validator(closed({"allOf": [schema], "components": document["components"]}))
    return [f"{operation} {response.status_code} at {'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in validator.iter_errors(body)]


@pytest.fixture
def undeclared(monkeypatch) -> list[str]:
    """Fields a view built that its response schema does not declare (dumping would drop them).

    Validating the dumped answer cannot see these, so every dump by an answer schema (nested
    ones included) is watched: the answer a client gets must be all that the service meant.
    """
    found: list[str] = []
    dump = Out.dump

    def watched(schema: Out, obj, *, many: bool | None = None):
        for item in (obj if (schema.many if many is None else many) else [obj]):
            if isinstance(item, Mapping):
                declared = {f.attribute or name for name, f in schema.fields.items()}
                found.extend(f"{type(schema).__name__}.{key}" for key in set(item) - declared)
        return dump(schema, obj, many=many)

    monkeypatch.setattr(Out, "dump", watched)
    return found


@dataclass
class Walk:
    app: object
    client: object
    people: dict
    make_person: Callable
    document: dict
    seen: dict[str, set[int]] = field(default_factory=dict)

    def call(self, who: str | None, method: str, url: str, expect: int, **kwargs):
        """Send the request as ``who`` (a role in ``people``, or nobody); check it against the document."""
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers.update(self.people[who].headers)
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        assert response.status_code == expect, (method, url, response.status_code, response.get_data(as_text=True))
        operation = operation_of(self.app, method, url)
        assert drift(self.document, operation, response) == []
        self.seen.setdefault(operation, set()).add(response.status_code)
        return response

    def submit(self, **overrides) -> str:
        return self.call("partner", "POST", "/api/v1/contacts", 201, json=contact_payload(**overrides)).get_json()["id"]

    def child(self) -> tuple[str, str]:
        """A new contact's id and its first child's record id."""
        body = self.call("partner", "POST", "/api/v1/contacts", 201, json=contact_payload()).get_json()
        return body["id"], body["children"][0]["child_id"]

    def link(self, child_id: str, other: str, contact_id: str | None = None) -> int:
        body = {"linked_child_id": other, "reason": REASON, "contact_id": contact_id}
        return self.call("practitioner", "POST", f"/api/v1/children/{child_id}/links", 201, json=body).get_json()["id"]

    def recommended(self, contact_id: str) -> int:
        contact = self.call("practitioner", "GET", f"/api/v1/contacts/{contact_id}", 200).get_json()
        return contact["recommendation"]["level"]

    def decide(self, contact_id: str) -> None:
        self.call("practitioner", "POST", f"/api/v1/contacts/{contact_id}/decision", 201,
                  json=decision_body(level=self.recommended(contact_id)))

    def confirm(self, contact_id: str) -> None:
        self.call("manager", "POST", f"/api/v1/contacts/{contact_id}/review", 201, json=review_body())

    def decided(self) -> str:
        contact_id = self.submit()
        self.decide(contact_id)
        self.confirm(contact_id)
        return contact_id

    def released(self) -> str:
        contact_id = self.decided()
        self.call("manager", "POST", f"/api/v1/contacts/{contact_id}/feedback/release", 201)
        return contact_id

    def organisation_id(self) -> int:
        return self.call("manager", "GET", "/api/v1/reports/partners", 200).get_json()["items"][0]["id"]

    def rate_limited(self, operation: str) -> None:
        """Every call with a token counts against its limit: at the limit, any of them is a 429."""
        method, path = operation.split(" ", 1)
        rule = next(r.rule for r in self.app.url_map.iter_rules() if template(r.rule) == path)
        role = sorted(POLICY[f"{method} {rule}"])[0]
        limit = self.app.config["API_RATE_LIMIT"]
        self.app.config["API_RATE_LIMIT"] = 0
        try:
            refused = self.call(role, method, re.sub(r"{[^}]+}", "1", path), 429, json={})
        finally:
            self.app.config["API_RATE_LIMIT"] = limit
        assert int(refused.headers["Retry-After"]) >= 1

    def refused_bodies(self, who: str, url: str, good: dict) -> None:
        """The refusals every JSON-taking POST shares, for someone allowed to call it: 400, 401, 413, 415, 422."""
        self.call(who, "POST", url, 400, data="{not json", content_type="application/json")
        self.call(None, "POST", url, 401, json=good)
        too_big = self.app.config["MAX_CONTENT_LENGTH"] + 1
        self.call(who, "POST", url, 413, data="x" * too_big, content_type="application/json")
        self.call(who, "POST", url, 415, data="level=2", content_type="application/x-www-form-urlencoded")
        self.call(who, "POST", url, 422, json={})


CASES: dict[str, Callable[[Walk], None]] = {}


def case(operation: str) -> Callable:
    def register(walk: Callable[[Walk], None]) -> Callable[[Walk], None]:
        CASES[operation] = walk
        return walk

    return register


UNKNOWN = "/api/v1/contacts/no-such-contact"
REASON = "Same date of birth and address on both contacts."


@case("POST /api/v1/contacts")
def _send_a_contact(w: Walk) -> None:
    body = contact_payload()
    w.call("partner", "POST", "/api/v1/contacts", 201, json=body)
    w.call("partner", "POST", "/api/v1/contacts", 200, json=body)  # a retry
    w.call("practitioner", "POST", "/api/v1/contacts", 201, json=contact_payload())  # a phone call
    w.call("admin", "POST", "/api/v1/contacts", 403, json=contact_payload())
    w.call(None, "POST", "/api/v1/contacts", 401, json=contact_payload())
    w.call("partner", "POST", "/api/v1/contacts", 400, data="{not json", content_type="application/json")
    w.call("partner", "POST", "/api/v1/contacts", 413, data="x" * (w.app.config["MAX_CONTENT_LENGTH"] + 1),
           content_type="application/json")
    w.call("partner", "POST", "/api/v1/contacts", 415, data="a contact", content_type="text/plain")
    w.call("partner", "POST", "/api/v1/contacts", 422, json=contact_payload(children=[]))


@case("GET /api/v1/contacts")
def _list_contacts(w: Walk) -> None:
    w.decided()
    w.submit()
    for role in ("partner", "practitioner"):
        assert len(w.call(role, "GET", "/api/v1/contacts?per_page=10", 200).get_json()["items"]) == 2
    w.call(None, "GET", "/api/v1/contacts", 401)
    w.call("admin", "GET", "/api/v1/contacts", 403)
    w.call("partner", "GET", "/api/v1/contacts?page=0", 422)


@case("GET /api/v1/contacts/{contact_id}")
def _read_a_contact(w: Walk) -> None:
    url = f"/api/v1/contacts/{w.decided()}"
    staff = w.call("manager", "GET", url, 200).get_json()
    assert staff["decision"] and staff["review"] and staff["recommendation"]
    assert "decision" in w.call("partner", "GET", url, 200).get_json()
    w.call(None, "GET", url, 401)
    w.call("admin", "GET", url, 403)
    w.call("practitioner", "GET", UNKNOWN, 404)
    # The other shapes a recommendation takes: the guidance rules alone, and none (scoring failed).
    model, w.app.extensions["recommender"].model = w.app.extensions["recommender"].model, None
    rules_only = w.call("manager", "GET", f"/api/v1/contacts/{w.submit()}", 200).get_json()["recommendation"]
    assert rules_only["mode"] == "rules_only" and rules_only["probabilities"] is None
    w.app.extensions["recommender"].model = model
    pin(w.app, level=None)
    assert w.call("manager", "GET", f"/api/v1/contacts/{w.submit()}", 200).get_json()["recommendation"] is None


@case("POST /api/v1/contacts/{contact_id}/decision")
def _decide(w: Walk) -> None:
    contact_id = w.submit()
    url = f"/api/v1/contacts/{contact_id}/decision"
    good = decision_body(level=w.recommended(contact_id))
    w.refused_bodies("practitioner", url, good)
    w.call("partner", "POST", url, 403, json=good)
    w.call("practitioner", "POST", f"{UNKNOWN}/decision", 404, json=good)
    w.call("practitioner", "POST", url, 201, json=good)
    w.call("practitioner", "POST", url, 409, json=good)  # decided already


@case("POST /api/v1/contacts/{contact_id}/review")
def _review(w: Walk) -> None:
    contact_id = w.submit()
    url = f"/api/v1/contacts/{contact_id}/review"
    w.call("manager", "POST", url, 409, json=review_body())  # nothing to review yet
    w.decide(contact_id)
    w.refused_bodies("manager", url, review_body())
    w.call("practitioner", "POST", url, 403, json=review_body())
    w.call("manager", "POST", f"{UNKNOWN}/review", 404, json=review_body())
    w.call("manager", "POST", url, 201, json=review_body())


@case("POST /api/v1/contacts/{contact_id}/information-request")
def _ask_for_information(w: Walk) -> None:
    contact_id = w.submit()
    url = f"/api/v1/contacts/{contact_id}/information-request"
    good = {"fields": ["children.0.age_years"], "message": "Please confirm the child's age."}
    w.refused_bodies("practitioner", url, good)
    w.call("partner", "POST", url, 403, json=good)
    w.call("practitioner", "POST", f"{UNKNOWN}/information-request", 404, json=good)
    w.call("practitioner", "POST", url, 201, json=good)
    w.call("practitioner", "POST", f"/api/v1/contacts/{w.decided()}/information-request", 409, json=good)


@case("GET /api/v1/contacts/{contact_id}/history")
def _history(w: Walk) -> None:
    url = f"/api/v1/contacts/{w.released()}/history"
    assert w.call("practitioner", "GET", url, 200).get_json()["events"]
    w.call(None, "GET", url, 401)
    w.call("partner", "GET", url, 403)
    w.call("manager", "GET", f"{UNKNOWN}/history", 404)


@case("GET /api/v1/children/{child_id}/history")
def _child_history(w: Walk) -> None:
    contact_id, child_id = w.child()
    w.decide(contact_id)
    _, other = w.child()
    _, undone = w.child()
    w.link(child_id, other, contact_id)
    link_id = w.link(child_id, undone)
    w.call("manager", "POST", f"/api/v1/children/{child_id}/links/{link_id}/undo", 201, json={"reason": REASON})
    url = f"/api/v1/children/{child_id}/history"
    body = w.call("practitioner", "GET", url, 200).get_json()
    assert len(body["contacts"]) == 2 and body["contacts"][1]["decided_level"] is not None
    assert [link["undone"] is None for link in body["links"]] == [True, False]
    w.call(None, "GET", url, 401)
    w.call("partner", "GET", url, 403)
    w.call("manager", "GET", "/api/v1/children/nobody/history", 404)


@case("POST /api/v1/children/{child_id}/links")
def _link_children(w: Walk) -> None:
    (_, child_id), (_, other) = w.child(), w.child()
    url = f"/api/v1/children/{child_id}/links"
    good = {"linked_child_id": other, "reason": REASON}
    w.refused_bodies("practitioner", url, good)
    w.call("partner", "POST", url, 403, json=good)
    w.call("practitioner", "POST", "/api/v1/children/nobody/links", 404, json=good)
    w.call("practitioner", "POST", url, 201, json=good)
    w.call("manager", "POST", url, 409, json=good)  # already one child


@case("POST /api/v1/children/{child_id}/links/{link_id}/undo")
def _undo_a_link(w: Walk) -> None:
    (_, child_id), (_, other) = w.child(), w.child()
    url = f"/api/v1/children/{child_id}/links/{w.link(child_id, other)}/undo"
    good = {"reason": "A different child: the school confirmed another surname."}
    w.refused_bodies("manager", url, good)
    w.call("partner", "POST", url, 403, json=good)
    w.call("manager", "POST", f"/api/v1/children/{child_id}/links/999999/undo", 404, json=good)
    w.call("manager", "POST", url, 201, json=good)
    w.call("practitioner", "POST", url, 409, json=good)  # undone already


def _queue(name: str, role: str) -> Callable[[Walk], None]:
    def walk(w: Walk) -> None:
        w.decided()
        w.decide(w.submit())
        w.submit()
        w.call(role, "GET", f"/api/v1/queues/{name}", 200)
        w.call(role, "GET", f"/api/v1/queues/{name}?per_page=1", 200)
        w.call(None, "GET", f"/api/v1/queues/{name}", 401)
        w.call("partner", "GET", f"/api/v1/queues/{name}", 403)
        w.call(role, "GET", f"/api/v1/queues/{name}?cursor=not-a-page-link", 422)

    return walk


for _name, _role in [("awaiting-decision", "practitioner"), ("overdue", "practitioner"),
                     ("awaiting-my-review", "manager"), ("reviews-overdue", "manager"),
                     ("decided-today", "manager")]:
    case(f"GET /api/v1/queues/{_name}")(_queue(_name, _role))


@case("GET /api/v1/feedback")
def _feedback(w: Walk) -> None:
    w.released()
    assert w.call("partner", "GET", "/api/v1/feedback", 200).get_json()["items"]
    w.call(None, "GET", "/api/v1/feedback", 401)
    w.call("manager", "GET", "/api/v1/feedback", 403)
    w.call("partner", "GET", "/api/v1/feedback?from=yesterday", 422)


@case("GET /api/v1/contacts/{contact_id}/feedback/preview")
def _preview_feedback(w: Walk) -> None:
    url = f"/api/v1/contacts/{w.decided()}/feedback/preview"
    w.call("manager", "GET", url, 200)
    w.call(None, "GET", url, 401)
    w.call("practitioner", "GET", url, 403)
    w.call("manager", "GET", f"{UNKNOWN}/feedback/preview", 404)
    w.call("manager", "GET", f"/api/v1/contacts/{w.submit()}/feedback/preview", 409)  # not decided


@case("POST /api/v1/contacts/{contact_id}/feedback/release")
def _release_feedback(w: Walk) -> None:
    url = f"/api/v1/contacts/{w.decided()}/feedback/release"
    w.call(None, "POST", url, 401)
    w.call("practitioner", "POST", url, 403)
    w.call("manager", "POST", f"{UNKNOWN}/feedback/release", 404)
    w.call("manager", "POST", url, 201)
    w.call("manager", "POST", url, 409)  # released already


@case("GET /api/v1/reports/partners")
def _partners(w: Walk) -> None:
    w.decided()
    w.call("manager", "GET", "/api/v1/reports/partners", 200)
    w.call(None, "GET", "/api/v1/reports/partners", 401)
    w.call("partner", "GET", "/api/v1/reports/partners", 403)
    w.call("manager", "GET", "/api/v1/reports/partners?month=2026-13", 422)


@case("GET /api/v1/reports/partners/{organisation_id}")
def _partner_report(w: Walk) -> None:
    w.decided()
    url = f"/api/v1/reports/partners/{w.organisation_id()}"
    w.call("manager", "GET", url + "?month=2026-11", 200)  # the month the walk's contacts were received
    w.call("partner", "GET", url + "?format=csv", 200)
    w.call(None, "GET", url, 401)
    w.call("practitioner", "GET", url, 403)
    school = w.make_person("partner", organisation="Demo Primary School")
    w.call(None, "GET", url, 404, headers=school.headers)  # another organisation's
    w.call("manager", "GET", url + "?month=11-2026", 422)


@case("GET /api/v1/reports/dashboard")
def _dashboard(w: Walk) -> None:
    w.decided()
    w.submit()
    departed = w.submit()  # above the recommendation, then changed by the manager: both are listed
    level = 4 if w.recommended(departed) < 4 else 3
    w.call("practitioner", "POST", f"/api/v1/contacts/{departed}/decision", 201,
           json=decision_body(level=level, override_reason=OVERRIDE))
    w.call("manager", "POST", f"/api/v1/contacts/{departed}/review", 201,
           json=review_body(outcome="changed", level=w.recommended(departed)))
    body = w.call("manager", "GET", "/api/v1/reports/dashboard?from=2026-01-01", 200).get_json()
    assert body["departures"]["items"] and body["departures"]["changes"]
    w.call(None, "GET", "/api/v1/reports/dashboard", 401)
    w.call("practitioner", "GET", "/api/v1/reports/dashboard", 403)
    w.call("manager", "GET", "/api/v1/reports/dashboard?from=2026-11-20&to=2026-11-19", 422)


@case("GET /api/v1/reports/board-pack")
def _board_pack(w: Walk) -> None:
    w.decided()
    w.submit()
    body = w.call("manager", "GET", "/api/v1/reports/board-pack", 200).get_json()
    assert len(body["periods"]) == 4 and body["summary"] and body["figures"]
    w.call("manager", "GET", "/api/v1/reports/board-pack?from=2026-11-02", 200)
    w.call(None, "GET", "/api/v1/reports/board-pack", 401)
    w.call("practitioner", "GET", "/api/v1/reports/board-pack", 403)
    w.call("manager", "GET", "/api/v1/reports/board-pack?from=2026-13-01", 422)


def _export(path: str) -> Callable[[Walk], None]:
    def walk(w: Walk) -> None:
        w.decided()
        w.call("manager", "GET", f"{path}?from=2026-01-01", 200)
        w.call(None, "GET", path, 401)
        w.call("partner", "GET", path, 403)
        w.call("manager", "GET", f"{path}?to=soon", 422)

    return walk


for _path in ("/api/v1/exports/annex-a/list-1.csv", "/api/v1/exports/annex-a/list-3.csv",
              "/api/v1/exports/training.jsonl"):
    case(f"GET {_path}")(_export(_path))


# ---- multi-agency checks (issue 13) ---------------------------------------------------------

CHECKS_REASON = "We need to know whether the household is known for violence before we settle the level."
AGENCY_ORGANISATIONS = {"police": "Demo Police", "health": "Demo Health Trust"}


def agency_worker(w: Walk, agency: str) -> dict:
    """Headers of a hub worker at ``agency``'s organisation (the organisation gets that agency type)."""
    with w.app.app_context():
        organisation_named(AGENCY_ORGANISATIONS[agency]).agency_type = agency
        db.session.commit()
    return w.make_person("agency", organisation=AGENCY_ORGANISATIONS[agency]).headers


def for_checks(w: Walk) -> str:
    """The shared school neglect example, phoned in a minute ago: the screening sends it to checks."""
    doc = example("school-neglect")
    doc["received_at"] = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    contact_id = w.call("practitioner", "POST", "/api/v1/contacts", 201, json=doc).get_json()["id"]  # a phone call
    recommendation = w.call("practitioner", "GET", f"/api/v1/contacts/{contact_id}", 200).get_json()["recommendation"]
    assert recommendation["next_step"] == "checks" and recommendation["checks"]
    return contact_id


def ask_checks(w: Walk, contact_id: str, agencies: tuple[str, ...] = ("police", "health")) -> dict[str, int]:
    """Ask the agencies; each one's check id."""
    body = {"agencies": list(agencies), "reason": CHECKS_REASON, "consent": "obtained"}
    asked = w.call("practitioner", "POST", f"/api/v1/contacts/{contact_id}/checks", 201, json=body).get_json()
    return {c["agency"]: c["id"] for c in asked["checks"]}


def checks_answer(**overrides) -> dict:
    return {"known": True, "findings": [], "summary": "Known to us; details in the findings."} | overrides


@case("POST /api/v1/contacts/{contact_id}/checks")
def _ask_agencies(w: Walk) -> None:
    contact_id = for_checks(w)
    url = f"/api/v1/contacts/{contact_id}/checks"
    good = {"agencies": ["police"], "reason": CHECKS_REASON, "consent": "not_sought",
            "without_consent_reason": "Asking the parents would put the children at risk of significant harm."}
    w.refused_bodies("practitioner", url, good)
    w.call("partner", "POST", url, 403, json=good)
    w.call("practitioner", "POST", f"{UNKNOWN}/checks", 404, json=good)
    w.call("practitioner", "POST", url, 422, json=good | {"agencies": ["police", "astrology"]})
    w.call("practitioner", "POST", url, 201, json=good)
    w.call("manager", "POST", url, 409, json=good)  # asked already: the contact is checks_requested
    # The contact as the front door reads it while its checks are out, and in the queue that holds it.
    stored = w.call("practitioner", "GET", f"/api/v1/contacts/{contact_id}", 200).get_json()
    assert stored["checks"] and stored["screening_recommendation"]["stage"] == "screening"


@case("GET /api/v1/checks")
def _read_checks(w: Walk) -> None:
    police = agency_worker(w, "police")
    ids = ask_checks(w, for_checks(w))
    listed = w.call(None, "GET", "/api/v1/checks", 200, headers=police).get_json()
    assert [c["id"] for c in listed["items"]] == [ids["police"]] and "contact" in listed["items"][0]
    w.call(None, "POST", f"/api/v1/checks/{ids['police']}/response", 201, headers=police, json=checks_answer())
    assert w.call(None, "GET", "/api/v1/checks?status=answered", 200, headers=police).get_json()["count"] == 1
    w.call(None, "GET", "/api/v1/checks", 401)
    w.call("practitioner", "GET", "/api/v1/checks", 403)
    w.call(None, "GET", "/api/v1/checks?status=lost", 422, headers=police)


@case("POST /api/v1/checks/{check_id}/response")
def _answer_a_check(w: Walk) -> None:
    police, health = agency_worker(w, "police"), agency_worker(w, "health")
    contact_id = for_checks(w)
    ids = ask_checks(w, contact_id)
    url = f"/api/v1/checks/{ids['police']}/response"
    good = checks_answer(findings=["adult_known_for_violence"])
    w.call(None, "POST", url, 400, headers=police, data="{not json", content_type="application/json")
    w.call(None, "POST", url, 401, json=good)
    w.call(None, "POST", url, 413, headers=police, data="x" * (w.app.config["MAX_CONTENT_LENGTH"] + 1),
           content_type="application/json")
    w.call(None, "POST", url, 415, headers=police, data="known=1", content_type="application/x-www-form-urlencoded")
    w.call(None, "POST", url, 422, headers=police, json={})
    w.call(None, "POST", url, 422, headers=police, json=checks_answer(findings=["no_such_finding"]))
    w.call("practitioner", "POST", url, 403, json=good)
    w.call(None, "POST", url, 404, headers=health, json=good)  # another agency's check is not disclosed
    w.call(None, "POST", "/api/v1/checks/999999/response", 404, headers=police, json=good)
    w.call(None, "POST", url, 201, headers=police, json=good)
    w.call(None, "POST", url, 409, headers=police, json=good)  # answered already: the first answer stands
    w.call(None, "POST", f"/api/v1/checks/{ids['health']}/response", 201, headers=health,
           json=checks_answer(known=False))
    # Both answers in: the contact is scored again on what was found, and decided on that.
    stored = w.call("practitioner", "GET", f"/api/v1/contacts/{contact_id}", 200).get_json()
    assert stored["recommendation"]["stage"] == "after_checks" and stored["recommendation"]["checks_found"]
    assert stored["screening_recommendation"]["stage"] == "screening"
    level = stored["recommendation"]["level"]
    decided = w.call("practitioner", "POST", f"/api/v1/contacts/{contact_id}/decision", 201,
                     json=decision_body(level=level)).get_json()
    assert decided["recommendation_stage"] == "after_checks"


@case("GET /api/v1/queues/awaiting-checks")
def _awaiting_checks(w: Walk) -> None:
    ask_checks(w, for_checks(w))
    w.submit()
    items = w.call("practitioner", "GET", "/api/v1/queues/awaiting-checks", 200).get_json()["items"]
    assert len(items) == 1 and items[0]["checks"]
    w.call(None, "GET", "/api/v1/queues/awaiting-checks", 401)
    w.call("partner", "GET", "/api/v1/queues/awaiting-checks", 403)
    w.call("practitioner", "GET", "/api/v1/queues/awaiting-checks?per_page=0", 422)


@case("GET /api/v1/guidance")
def _guidance(w: Walk) -> None:
    for role in ("practitioner", "manager", "partner", "agency", "admin"):
        body = w.call(role, "GET", "/api/v1/guidance", 200).get_json()
        assert body["in_force"]["label"] == body["versions"][0]["label"]
    w.call(None, "GET", "/api/v1/guidance", 401)


@case("GET /api/v1/model")
def _model(w: Walk) -> None:
    for role in ("practitioner", "manager", "partner", "admin"):
        w.call(role, "GET", "/api/v1/model", 200)
    w.call(None, "GET", "/api/v1/model", 401)


@pytest.mark.parametrize("operation", sorted(CASES))
def test_every_answer_of_every_operation_matches_the_served_document(app, client, people, make_person, document,
                                                                     undeclared, operation):
    walk = Walk(app, client, people, make_person, document)
    CASES[operation](walk)
    if 429 in documented_statuses(document, operation):
        walk.rate_limited(operation)
    assert walk.seen[operation] == documented_statuses(document, operation)
    assert undeclared == []


def test_every_documented_operation_is_walked(document):
    assert set(CASES) == documented_operations(document)


def test_every_operation_documents_the_refusals_its_access_rule_makes(app, document):
    """401 wherever a token is needed; 403 wherever some role that holds a token is refused."""
    rules = {template(rule.rule): rule.rule for rule in app.url_map.iter_rules()}
    for operation in documented_operations(document):
        method, path = operation.split(" ", 1)
        roles = POLICY[f"{method} {rules[path]}"]
        expected = set() if roles == PUBLIC else {401, 429} | ({403} if roles != SIGNED_IN else set())
        assert expected <= documented_statuses(document, operation), operation


def test_errors_are_documented_as_problem_documents(document):
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["errors"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    for operation in documented_operations(document):
        errors = {s for s in documented_statuses(document, operation) if s >= 400} | {599}  # 599: the default
        for status in errors:
            content = declared_content(document, operation, status)
            assert set(content) == {"application/problem+json"}, (operation, status)
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_api_calls_are_documented_as_needing_a_bearer_token(document):
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearer": []}]


def test_answers_are_documented_open_to_new_fields(document):
    """The contract allows new optional fields, so no answer's schema forbids them."""
    for name in ("ContactOut", "Recommendation", "Queue", "Problem"):
        assert document["components"]["schemas"][name]["additionalProperties"] is True


def test_a_body_that_drifts_from_its_schema_is_caught(app, document):
    """The check itself can fail: a wrong type, an undeclared field, an error sent as plain JSON."""
    queue = {"queue": "overdue", "description": "", "count": 0, "items": []}
    with app.test_request_context():
        good = jsonify(queue)
        wrong_type = jsonify(queue | {"count": "none"})
        undeclared = jsonify(queue | {"items": [{"id": "x", "nickname": "not in the schema"}]})
        plain_error = jsonify({"code": 404, "status": "Not Found", "message": "gone"})
        plain_error.status_code = 404
    assert drift(document, "GET /api/v1/queues/overdue", good) == []
    assert drift(document, "GET /api/v1/queues/overdue", wrong_type)
    assert drift(document, "GET /api/v1/queues/overdue", undeclared)
    assert drift(document, "GET /api/v1/contacts/{contact_id}", plain_error)


def test_a_field_the_schema_would_drop_is_caught(undeclared):
    QueueSchema().dump({"queue": "overdue", "count": 1, "items": [{"id": "x", "nickname": "not declared"}]})
    assert undeclared == ["QueueItemSchema.nickname"]

"""The OpenAPI 3 document and the interactive docs (built by flask-smorest from our schemas).

A partner's developer reads the request body schema in the document; it must say what the
contract says, so it is compared with ``contact-v1.schema.json`` object by object.
"""

from __future__ import annotations

import json

import pytest

from tests.factories import SHARED

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
                "pattern"):
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

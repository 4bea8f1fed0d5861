"""Security headers on every answer: pages, the API, errors and the API documentation.

The Content-Security-Policy admits only this site's own files and inline code carrying the
request's nonce, so an injected ``<script>`` or ``<style>`` does nothing. Anything showing
children's records, and every error, is ``Cache-Control: no-store``; static files may be cached.
"""

from __future__ import annotations

import re

import pytest

from tests.factories import contact_payload
from tests.web.conftest import sign_in
from triage.app import create_app

INLINE = re.compile(r"<(script|style)\b([^>]*)>", re.I)


def csp(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def assert_hardened(response) -> None:
    policy = csp(response)
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["default-src"] == "default-src 'self'"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in response.headers["Cache-Control"]
    assert "Strict-Transport-Security" not in response.headers  # production only


def assert_inline_code_carries_the_nonce(response) -> None:
    nonce = re.search(r"'nonce-([^']+)'", csp(response)["script-src"]).group(1)
    assert f"'nonce-{nonce}'" in csp(response)["style-src"]
    html = response.get_data(as_text=True)
    tags = INLINE.findall(html)
    inline = [attrs for tag, attrs in tags if "src=" not in attrs]
    assert inline, "expected the page's own inline script"
    assert all(f'nonce="{nonce}"' in attrs for attrs in inline), inline
    assert ' style="' not in html and " onclick=" not in html


def test_the_sign_in_page_is_hardened_and_its_inline_code_carries_the_nonce(client):
    response = client.get("/login")
    assert_hardened(response)
    assert_inline_code_carries_the_nonce(response)


def test_each_request_gets_its_own_nonce(client):
    first, second = (csp(client.get("/login"))["script-src"] for _ in range(2))
    assert first != second


def test_a_contact_page_is_hardened(client, people):
    sent = client.post("/api/v1/contacts", json=contact_payload(), headers=people["practitioner"].headers)
    contact_id = sent.get_json()["id"]
    sign_in(client, people["practitioner"])
    response = client.get(f"/contacts/{contact_id}")
    assert response.status_code == 200
    assert_hardened(response)
    assert_inline_code_carries_the_nonce(response)


def test_an_admin_page_with_its_own_script_is_hardened(client, people):
    sign_in(client, people["admin"])
    response = client.get(f"/admin/users/{people['practitioner'].id}")
    assert_hardened(response)
    assert_inline_code_carries_the_nonce(response)


def test_the_api_documentation_is_hardened_and_its_script_carries_the_nonce(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert_hardened(response)
    assert_inline_code_carries_the_nonce(response)


@pytest.mark.parametrize(("path", "status"), [
    ("/api/v1/contacts", 200), ("/api/v1/contacts/nope", 404), ("/api/v1/nothing-here", 404),
    ("/api/openapi.json", 200),
])
def test_api_answers_and_errors_are_hardened(client, people, path, status):
    response = client.get(path, headers=people["practitioner"].headers)
    assert response.status_code == status
    assert_hardened(response)


def test_refusals_are_hardened(client):
    assert_hardened(client.get("/api/v1/contacts"))  # 401
    assert_hardened(client.get("/contacts", headers={"Accept": "text/html"}))  # 302 to sign in


def test_an_unexpected_error_page_is_hardened(app, client, people, monkeypatch):
    from triage.web import views

    monkeypatch.setattr(views.queues, "awaiting_decision", lambda now: 1 / 0)
    sign_in(client, people["practitioner"])
    response = client.get("/contacts", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert_hardened(response)
    assert_inline_code_carries_the_nonce(response)


def test_static_files_may_be_cached(client):
    response = client.get("/static/vendor/govuk/govuk-frontend.min.js")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_behind_https_adds_hsts_and_secure_cookies(migrated, tmp_path, monkeypatch):
    from tests.conftest import _fresh_database

    app = create_app({"SQLALCHEMY_DATABASE_URI": _fresh_database(migrated, tmp_path), "TRIAGE_ENV": "production",
                      "SESSION_COOKIE_SECURE": True})
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert app.config["SESSION_COOKIE_SECURE"] is True

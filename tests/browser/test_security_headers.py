"""The pages and the API documentation work in a real browser under the Content-Security-Policy."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_api_documentation_renders_under_the_policy(pages):
    page = pages.new_page()
    page.goto("/api/docs")
    page.wait_for_selector(".opblock", timeout=20_000)  # Swagger UI drew the operations
    assert page.locator(".opblock").count() > 5
    assert pages.csp_errors == []


def test_an_injected_inline_script_is_refused_and_reported(pages):
    """The check itself: a script without the nonce is blocked, and the console says so."""
    page = pages.new_page()
    page.goto("/login")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.pwned") is None
    assert any("Content Security Policy" in e for e in pages.csp_errors), pages.csp_errors
    pages.csp_errors.clear()  # expected here; every other journey must log none

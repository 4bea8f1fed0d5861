"""The one check a redirect target passes: a path on this site, nothing a browser reads as another."""

from __future__ import annotations

import pytest

from tests.web.conftest import sign_in
from triage.http.redirects import local_path


@pytest.mark.parametrize("target", [
    "/", "/contacts", "/contacts?view=police-da", "/contacts/abc-123#decision", "/reports/partners/2?x=a%2Fb",
])
def test_a_path_on_this_site_is_kept(target):
    assert local_path(target) == target


@pytest.mark.parametrize("target", [
    None, "", "contacts", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/x", "/\r/x", "\t//evil.example", " //evil.example",
    "https://evil.example/", "http:/evil.example", "javascript:alert(1)", "/\x00/x", "/\u2028/x",
    "/\u3000/evil.example", "/contacts\x7f", "/" + "a" * 3000,
])
def test_anything_else_is_refused(target):
    assert local_path(target) is None


@pytest.mark.parametrize("query", ["/%09/evil.example", "/%0A/x", "/%0D%0A/x", "//evil.example", "/%5C/evil.example",
                                   "https://evil.example"])
def test_sign_in_with_a_crafted_next_lands_on_the_home_page(client, people, query):
    person = people["manager"]
    response = client.post(f"/login?next={query}", data={"email": person.email, "password": person.password})
    assert response.status_code == 302
    assert response.location == "/"


def test_sign_in_still_returns_to_the_page_asked_for(client, people):
    person = people["practitioner"]
    response = client.post("/login?next=/contacts%3Fview%3Dpolice-da", data={"email": person.email,
                                                                             "password": person.password})
    assert response.location == "/contacts?view=police-da"
    sign_in(client, person)

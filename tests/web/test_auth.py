"""Signing in and out: session login, safe redirects, CSRF on every form, partners kept out."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import sign_in


def test_the_sign_in_page_has_the_named_fields_and_button(client):
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<label class="govuk-label[^"]*" for="email">\s*Email address\s*</label>', page)
    assert re.search(r'<label class="govuk-label[^"]*" for="password">\s*Password\s*</label>', page)
    assert re.search(r'<button type="submit" class="govuk-button"[^>]*>\s*Sign in\s*</button>', page)


def test_a_page_asks_an_anonymous_visitor_to_sign_in_and_returns_them_after(client, people):
    response = client.get("/contacts?view=police-da")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    response = client.post(response.location, data={"email": people["practitioner"].email,
                                                     "password": people["practitioner"].password})
    assert response.status_code == 302
    assert response.location == "/contacts?view=police-da"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, people):
    response = client.post("/login", data={"email": people["practitioner"].email, "password": "nope"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page
    assert 'href="#email">Enter a correct email address and password' in page
    assert client.get("/contacts").status_code == 302  # still not signed in


def test_sign_in_never_redirects_to_another_site(client, people):
    response = client.post("/login?next=//evil.example/", data={"email": people["manager"].email,
                                                               "password": people["manager"].password})
    assert response.location == "/"


def test_sign_out_ends_the_session(client, people):
    sign_in(client, people["practitioner"])
    assert client.get("/contacts").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/contacts").status_code == 302


@pytest.mark.parametrize("path", ["/contacts", "/contacts?view=police-da", "/reviews", "/contacts/new",
                                  "/contacts/any-id"])
def test_a_partner_gets_a_403_page_for_staff_pages(client, people, path):
    sign_in(client, people["partner"])
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


def test_a_partner_lands_on_their_own_page(client, people):
    sign_in(client, people["partner"])
    response = client.get("/")
    assert response.status_code == 200
    assert "Demo Police" in response.get_data(as_text=True)


def test_a_practitioner_cannot_open_the_managers_review_queue(client, people):
    sign_in(client, people["practitioner"])
    assert client.get("/reviews", headers={"Accept": "text/html"}).status_code == 403


def test_forms_without_a_csrf_token_are_refused_but_the_api_is_not_affected(app, client, people):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/login", data={"email": people["practitioner"].email,
                                           "password": people["practitioner"].password},
                           headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "nothing was recorded" in response.get_data(as_text=True)
    api = client.post("/api/v1/contacts", json={}, headers=people["partner"].headers)
    assert api.status_code == 422  # bearer-token API: judged on its content, no CSRF token needed


def test_a_form_with_its_csrf_token_is_accepted(app, client, people):
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": people["practitioner"].email,
                                           "password": people["practitioner"].password, "csrf_token": token})
    assert response.status_code == 302


def test_the_session_cookie_is_http_only_and_same_site(client, people):
    response = client.post("/login", data={"email": people["practitioner"].email,
                                           "password": people["practitioner"].password})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

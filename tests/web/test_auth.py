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


def _try(client, email: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_five_failed_sign_ins_stop_the_sixth_even_with_the_right_password(client, people):
    person = people["practitioner"]
    for _ in range(5):
        assert _try(client, person.email, "wrong password").status_code == 400
    refused = _try(client, person.email, person.password)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    page = refused.get_data(as_text=True)
    assert "Too many failed attempts to sign in from here. Wait 15 minutes" in page
    assert 'href="#email"' in page  # the error summary links to the field, as every form's does
    assert client.get("/contacts").status_code == 302  # not signed in
    # someone else in the same office is not locked out
    assert _try(client, people["manager"].email, people["manager"].password).status_code == 302


def test_successful_sign_ins_are_not_counted(client, people):
    person = people["practitioner"]
    for _ in range(8):
        assert _try(client, person.email, person.password).status_code == 302
        client.post("/logout")


def test_a_guesser_who_changes_address_cannot_lock_the_person_out_but_raises_an_alert(app, client, people):
    """Issue 18: 5 failures from anywhere used to lock a named person out of their right password."""
    from sqlalchemy import select

    from triage.extensions import db
    from triage.record.tables import Event

    person = people["manager"]
    for n in range(20):
        assert _try(client, person.email.upper(), "wrong password", address=f"10.1.0.{n}").status_code == 400
    assert _try(client, person.email, person.password, address="10.2.0.1").status_code == 302
    with app.app_context():
        alerts = db.session.scalars(select(Event).where(Event.kind == "sign_in_alert")).all()
    assert [alert.data["user_id"] for alert in alerts] == [person.id]
    admin = app.test_client()
    sign_in(admin, people["admin"])
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Many failed sign-ins in the last day" in page and f"{person.email}</a>:" in page


def test_an_unknown_email_is_refused_like_a_wrong_password(client, people, monkeypatch):
    """Same words, same status, and the password is still hashed (no timing difference to read)."""
    from triage.services import security

    checked = []
    real = security.check_password
    monkeypatch.setattr(security, "check_password", lambda h, p: checked.append(p) or real(h, p))
    unknown = _try(client, "nobody@test.invalid", "a guess")
    wrong = _try(client, people["practitioner"].email, "a guess")
    assert unknown.status_code == wrong.status_code == 400
    assert checked == ["a guess", "a guess"]
    for response in (unknown, wrong):
        assert "Enter a correct email address and password" in response.get_data(as_text=True)


def test_failed_sign_ins_are_shared_between_workers(app, people):
    """Two app instances on one database (two gunicorn workers) see the same count."""
    from triage.app import create_app

    person = people["practitioner"]
    database = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True}
    workers = [create_app(database).test_client() for _ in range(2)]
    for n in range(5):
        assert _try(workers[n % 2], person.email, "wrong password").status_code == 400
    assert _try(workers[1], person.email, person.password).status_code == 429
    assert _try(workers[0], person.email, person.password).status_code == 429


def test_a_successful_sign_in_clears_the_accounts_earlier_failures(client, people):
    person = people["practitioner"]
    for _ in range(4):
        assert _try(client, person.email, "wrong password").status_code == 400
    assert _try(client, person.email, person.password).status_code == 302
    client.post("/logout")
    for _ in range(4):
        assert _try(client, person.email, "wrong password").status_code == 400
    assert _try(client, person.email, person.password).status_code == 302


def test_the_count_keeps_no_email_or_address(app, client, people):
    from triage.extensions import db
    from triage.record.tables import SignInFailure

    _try(client, people["manager"].email, "wrong password", address="192.0.2.7")
    with app.app_context():
        [row] = db.session.query(SignInFailure).all()
        stored = f"{row.account_key} {row.address_key}"
    assert people["manager"].email not in stored and "192.0.2.7" not in stored and len(row.account_key) == 64


def test_spraying_one_password_at_many_accounts_from_one_address_is_refused(client, people):
    statuses = [client.post("/login", data={"email": f"guess{n}@test.invalid", "password": "Winter2026!"}).status_code
                for n in range(25)]
    assert 429 in statuses
    first_refusal = statuses.index(429)
    assert set(statuses[first_refusal:]) == {429}
    person = people["practitioner"]  # the refusal is per address: from elsewhere the person signs in
    response = client.post("/login", data={"email": person.email, "password": person.password},
                           environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 302


def test_behind_the_proxy_each_client_address_has_its_own_count(app, people):
    """With TRIAGE_PROXY_HOPS=1 (nginx in front), sign-in limits count X-Forwarded-For, not 127.0.0.1."""
    from triage.app import create_app

    proxied = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "PROXY_HOPS": 1})
    client = proxied.test_client()
    for n in range(25):
        client.post("/login", data={"email": f"guess{n}@test.invalid", "password": "x"},
                    headers={"X-Forwarded-For": "203.0.113.9"})
    person = people["practitioner"]
    response = client.post("/login", data={"email": person.email, "password": person.password},
                           headers={"X-Forwarded-For": "198.51.100.4"})
    assert response.status_code == 302

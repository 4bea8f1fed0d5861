"""People and access: the administrator creates accounts, issues and revokes API tokens, and
removes a leaver's access at once; every change is in the tamper-evident record, by id only."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import func, select

from tests.factories import contact_payload
from tests.web.conftest import sign_in
from triage.extensions import db
from triage.record import audit
from triage.record.tables import ApiToken, Event, Organisation, User

PASSWORD = "a long initial password"


@pytest.fixture
def admin(client, people):
    sign_in(client, people["admin"])
    return client


def new_user(client, **fields):
    data = {"email": "new.worker@council.example", "role": "practitioner", "organisation": "", "password": PASSWORD}
    data.update(fields)
    return client.post("/admin/users/new", data={k: v for k, v in data.items() if v is not None})


def stored_user(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
        if user is not None:
            db.session.expunge(user)
        return user


def access_events(app) -> list[Event]:
    with app.app_context():
        events = db.session.scalars(select(Event).where(Event.kind == "access_changed").order_by(Event.seq)).all()
        for event in events:
            db.session.expunge(event)
        return events


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def token_for(client, user_id: int) -> str:
    response = client.post(f"/admin/users/{user_id}/tokens")
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    return re.search(r'<code class="app-token" id="new-token">([^<]+)</code>', response.get_data(as_text=True)).group(1)


# --- only administrators -------------------------------------------------------------------------

ADMIN_ROUTES = [("GET", "/admin/users"), ("GET", "/admin/users/new"), ("POST", "/admin/users/new"),
                ("GET", "/admin/users/{id}"), ("POST", "/admin/users/{id}/deactivate"),
                ("POST", "/admin/users/{id}/reactivate"), ("POST", "/admin/users/{id}/tokens"),
                ("POST", "/admin/tokens/{token}/revoke")]


def new_user_fields() -> dict:
    return {"email": "new.worker@council.example", "role": "admin", "password": PASSWORD}


@pytest.mark.parametrize("role", ["practitioner", "manager", "partner"])
def test_other_roles_get_403_and_nothing_changes(app, client, people, role):
    sign_in(client, people[role])
    target = people["practitioner"]
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == target.id))
    for method, path in ADMIN_ROUTES:
        url = path.format(id=target.id, token=token_id)
        response = client.open(url, method=method, data=new_user_fields(), headers={"Accept": "text/html"})
        assert response.status_code == 403, (method, url, response.status_code)
    assert stored_user(app, target.email).is_active
    assert stored_user(app, "new.worker@council.example") is None
    assert access_events(app) == []


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_only_an_administrator_sees_the_people_and_access_link(client, people):
    sign_in(client, people["admin"])
    home = client.get("/").get_data(as_text=True)
    assert home.count('href="/admin/users"') == 2  # the service navigation and the home page
    for role in ("practitioner", "manager", "partner"):
        sign_in(client, people[role])
        page = client.get("/", follow_redirects=True).get_data(as_text=True)
        assert "People and access" not in page and "/admin/users" not in page


# --- the list -----------------------------------------------------------------------------------

def test_the_list_shows_everyone_with_role_organisation_status_and_live_tokens(app, admin, people):
    token_for(admin, people["partner"].id)
    admin.post(f"/admin/users/{people['manager'].id}/deactivate")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "<h1 class=\"govuk-heading-l\">People and access</h1>" in page
    for role, person in people.items():
        row = re.search(rf'<tr class="govuk-table__row">\s*<td[^>]*><a class="govuk-link" '
                        rf'href="/admin/users/{person.id}">{re.escape(person.email)}</a></td>(.*?)</tr>', page, re.S)
        assert row, role
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]
        live = 2 if role == "partner" else 1  # each fixture person has one token
        status = "Deactivated" if role == "manager" else "Active"
        assert cells == [role.capitalize(), "Demo Police" if role in ("partner", "agency") else "", status, str(live)], role


# --- creating an account ------------------------------------------------------------------------

def test_the_new_account_form_has_labelled_fields_and_every_role(admin):
    page = admin.get("/admin/users/new").get_data(as_text=True)
    for field, text in (("email", "Email address"), ("organisation", "Organisation"), ("password", "Initial password")):
        assert re.search(rf'<label class="govuk-label[^"]*" for="{field}">\s*{text}\s*</label>', page), field
    for role in ("practitioner", "manager", "partner", "admin"):
        assert f'name="role" type="radio" value="{role}"' in page
    assert 'name="csrf_token"' in page


def test_an_administrator_creates_a_practitioner_who_can_then_sign_in(app, admin, people):
    response = new_user(admin, email="  New.Worker@Council.example ")
    assert response.status_code == 302
    user = stored_user(app, "new.worker@council.example")
    assert response.location == f"/admin/users/{user.id}"
    assert (user.email, user.role, user.organisation_id, user.is_active) == (
        "new.worker@council.example", "practitioner", None, True)
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    page = admin.get(response.location).get_data(as_text=True)
    assert "Account created for new.worker@council.example (practitioner)" in page

    [event] = access_events(app)
    assert (event.contact_id, event.actor_id) == (None, people["admin"].id)
    assert event.data == {"action": "user_created", "user_id": user.id, "role": "practitioner", "organisation_id": None}

    worker = app.test_client()
    assert worker.post("/login", data={"email": "new.worker@council.example", "password": PASSWORD}).status_code == 302
    assert worker.get("/contacts").status_code == 200


def test_a_partner_is_created_in_an_existing_or_a_new_organisation(app, admin):
    assert new_user(admin, email="pc1@police.example", role="partner", organisation="demo police").status_code == 302
    assert new_user(admin, email="pc2@north.example", role="partner", organisation="North Police").status_code == 302
    with app.app_context():
        names = db.session.scalars(select(Organisation.name).order_by(Organisation.name)).all()
    assert names == ["Demo Police", "North Police"]  # "demo police" is the one that exists
    assert stored_user(app, "pc1@police.example").organisation_id == stored_user(app, "pc2@north.example").organisation_id - 1


def assert_refused(app, response, errors: dict[str, str]) -> str:
    """400, an error summary linking each message to its field, the message by the field, nothing stored."""
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: Create an account" in page
    assert "There is a problem" in page
    for field, message in errors.items():
        assert f'<a href="#{field}">{message}' in page, (field, message)
        assert re.search(rf'id="{field}-error"[^>]*>\s*<span class="govuk-visually-hidden">Error:</span>\s*'
                         rf'{re.escape(message)}', page), (field, message)
    assert re.findall(r'<a href="#(\w+)">', page.split("govuk-error-summary__list")[1].split("</ul>")[0]) == list(errors)
    assert access_events(app) == []
    return page


def test_an_empty_form_names_every_missing_field(app, admin, people):
    before = user_count(app)
    response = admin.post("/admin/users/new", data={})
    assert_refused(app, response, {"email": "Enter an email address", "role": "Select a role",
                                   "password": "Enter an initial password"})
    assert user_count(app) == before


@pytest.mark.parametrize(("fields", "errors"), [
    ({"email": "not-an-email"}, {"email": "Enter an email address in the correct format, like name@example.com"}),
    ({"email": "name@nowhere"}, {"email": "Enter an email address in the correct format, like name@example.com"}),
    ({"email": "x" * 250 + "@a.example"}, {"email": "Enter an email address in the correct format, like name@example.com"}),
    ({"role": "director"}, {"role": "Select a role: practitioner, manager, partner, agency, admin"}),
    ({"role": "partner"}, {"organisation": "Enter the partner&#39;s organisation: a partner sees only its own contacts"}),
    ({"role": "partner", "organisation": "   "},
     {"organisation": "Enter the partner&#39;s organisation: a partner sees only its own contacts"}),
    ({"role": "partner", "organisation": "N" * 121}, {"organisation": "Organisation must be 120 characters or fewer"}),
    ({"password": "eleven char"}, {"password": "Password must be 12 characters or more"}),
    ({"email": "", "role": "partner", "password": "short"},
     {"email": "Enter an email address",
      "organisation": "Enter the partner&#39;s organisation: a partner sees only its own contacts",
      "password": "Password must be 12 characters or more"}),
])
def test_each_error_is_shown_by_its_field_and_nothing_is_stored(app, admin, fields, errors):
    before = user_count(app)
    page = assert_refused(app, new_user(admin, **fields), errors)
    assert user_count(app) == before
    assert PASSWORD not in page and "eleven char" not in page  # a password is never sent back


@pytest.mark.parametrize("again", ["new.worker@council.example", "NEW.Worker@Council.EXAMPLE", " new.worker@council.example "])
def test_a_duplicate_email_is_refused_whatever_its_case(app, admin, again):
    assert new_user(admin).status_code == 302
    before = user_count(app)
    response = new_user(admin, email=again, role="manager")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<a href="#email">An account with this email address already exists' in page
    assert user_count(app) == before
    assert [e.data["action"] for e in access_events(app)] == ["user_created"]


def test_an_existing_person_in_another_case_is_a_duplicate(app, admin, people):
    response = new_user(admin, email=people["manager"].email.upper())
    assert response.status_code == 400
    assert "An account with this email address already exists" in response.get_data(as_text=True)


# --- deactivating and reactivating -----------------------------------------------------------------

def test_deactivation_blocks_sign_in_ends_an_open_session_and_stops_a_token(app, admin, people):
    leaver = people["partner"]
    session = app.test_client()
    sign_in(session, leaver)
    assert session.get("/feedback").status_code == 200
    assert session.get("/api/v1/contacts", headers=leaver.headers).status_code == 200

    response = admin.post(f"/admin/users/{leaver.id}/deactivate")
    assert response.status_code == 302 and response.location == f"/admin/users/{leaver.id}"
    page = admin.get(response.location).get_data(as_text=True)
    assert f"{leaver.email} is deactivated" in page and "Reactivate account" in page

    ended = session.get("/feedback")
    assert ended.status_code == 302 and ended.location.startswith("/login")
    assert session.get("/api/v1/contacts", headers=leaver.headers).status_code == 401
    assert session.post("/api/v1/contacts", json=contact_payload(), headers=leaver.headers).status_code == 401
    refused = app.test_client().post("/login", data={"email": leaver.email, "password": leaver.password})
    assert refused.status_code == 400

    [event] = access_events(app)
    assert (event.actor_id, event.contact_id) == (people["admin"].id, None)
    assert event.data == {"action": "user_deactivated", "user_id": leaver.id, "role": "partner"}


def test_deactivating_again_changes_nothing(app, admin, people):
    admin.post(f"/admin/users/{people['manager'].id}/deactivate")
    response = admin.post(f"/admin/users/{people['manager'].id}/deactivate", follow_redirects=True)
    assert "was already deactivated; nothing changed" in response.get_data(as_text=True)
    assert len(access_events(app)) == 1


def test_an_administrator_cannot_deactivate_themselves(app, admin, people):
    me = people["admin"]
    page = admin.get(f"/admin/users/{me.id}").get_data(as_text=True)
    assert "Deactivate account" not in page and "This is your own account" in page
    response = admin.post(f"/admin/users/{me.id}/deactivate")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert '<a href="#account-actions">You cannot deactivate your own account, so nothing was changed.' in page
    assert stored_user(app, me.email).is_active
    assert admin.get("/admin/users").status_code == 200  # still signed in
    assert access_events(app) == []


def test_reactivation_lets_them_sign_in_again(app, admin, people):
    person = people["practitioner"]
    admin.post(f"/admin/users/{person.id}/deactivate")
    response = admin.post(f"/admin/users/{person.id}/reactivate", follow_redirects=True)
    assert f"{person.email} is active again" in response.get_data(as_text=True)
    again = app.test_client()
    sign_in(again, person)
    assert again.get("/contacts").status_code == 200
    assert [e.data["action"] for e in access_events(app)] == ["user_deactivated", "user_reactivated"]
    assert admin.post(f"/admin/users/{person.id}/reactivate").status_code == 302
    assert len(access_events(app)) == 2  # already active: nothing recorded


# --- API tokens ---------------------------------------------------------------------------------

def test_a_token_is_shown_once_and_works_on_the_api(app, admin, client, people):
    partner = people["partner"]
    response = admin.post(f"/admin/users/{partner.id}/tokens")
    page = response.get_data(as_text=True)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert "copy it now; it will not be shown again" in page
    token = re.search(r'<code class="app-token" id="new-token">([^<]+)</code>', page).group(1)
    assert token.startswith("tri_")

    api = {"Authorization": f"Bearer {token}"}
    sent = client.post("/api/v1/contacts", json=contact_payload(), headers=api)
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["source"]["organisation"] == "Demo Police"

    with app.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.prefix == token[:8]))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        token_id = row.id
    later = admin.get(f"/admin/users/{partner.id}").get_data(as_text=True)
    assert token not in later and token[8:] not in later
    assert f"<code>{token[:8]}…</code>" in later
    with admin.session_transaction() as session:
        assert token not in str(dict(session))

    [event] = access_events(app)
    assert event.data == {"action": "token_issued", "user_id": partner.id, "role": "partner", "token_id": token_id}


def test_revoking_a_token_stops_it(app, admin, client, people):
    partner = people["partner"]
    token = token_for(admin, partner.id)
    api = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/contacts", headers=api).status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == token[:8]))
    page = admin.get(f"/admin/users/{partner.id}").get_data(as_text=True)
    assert f'action="/admin/tokens/{token_id}/revoke"' in page

    response = admin.post(f"/admin/tokens/{token_id}/revoke")
    assert response.status_code == 302 and response.location == f"/admin/users/{partner.id}"
    assert client.get("/api/v1/contacts", headers=api).status_code == 401
    assert client.get("/api/v1/contacts", headers=partner.headers).status_code == 200  # the other token still works
    page = admin.get(f"/admin/users/{partner.id}").get_data(as_text=True)
    assert f"API token {token[:8]}… is revoked" in page
    assert f'action="/admin/tokens/{token_id}/revoke"' not in page

    again = admin.post(f"/admin/tokens/{token_id}/revoke", follow_redirects=True)
    assert "was already revoked; nothing changed" in again.get_data(as_text=True)
    actions = [(e.data["action"], e.data.get("token_id")) for e in access_events(app)]
    assert actions == [("token_issued", token_id), ("token_revoked", token_id)]


def test_no_token_for_a_deactivated_account(app, admin, people):
    partner = people["partner"]
    admin.post(f"/admin/users/{partner.id}/deactivate")
    response = admin.post(f"/admin/users/{partner.id}/tokens")
    assert response.status_code == 409
    assert "This account is deactivated, so no token was issued." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == partner.id)) == 1


@pytest.mark.parametrize(("method", "path"), [("GET", "/admin/users/987654"), ("POST", "/admin/users/987654/deactivate"),
                                              ("POST", "/admin/users/987654/tokens"),
                                              ("POST", "/admin/tokens/987654/revoke")])
def test_an_unknown_account_or_token_is_404(admin, method, path):
    assert admin.open(path, method=method, headers={"Accept": "text/html"}).status_code == 404


# --- the record and CSRF ------------------------------------------------------------------------

def test_every_change_is_recorded_by_id_with_no_email_and_the_chain_verifies(app, admin, people):
    new_user(admin, email="pc9@north.example", role="partner", organisation="North Police")
    person = stored_user(app, "pc9@north.example")
    token = token_for(admin, person.id)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == token[:8]))
    admin.post(f"/admin/tokens/{token_id}/revoke")
    admin.post(f"/admin/users/{person.id}/deactivate")
    admin.post(f"/admin/users/{person.id}/reactivate")

    events = access_events(app)
    assert [e.data["action"] for e in events] == [
        "user_created", "token_issued", "token_revoked", "user_deactivated", "user_reactivated"]
    for event in events:
        assert event.contact_id is None and event.actor_id == people["admin"].id
        assert (event.data["user_id"], event.data["role"]) == (person.id, "partner")
        assert "@" not in str(event.data) and "north" not in str(event.data).lower()
    with app.app_context():
        result = audit.verify()
    assert result.ok, result.summary()
    assert result.count == 5


def test_every_button_needs_the_forms_csrf_token(app, admin, people):
    app.config["WTF_CSRF_ENABLED"] = True
    target = people["practitioner"]
    response = admin.post(f"/admin/users/{target.id}/deactivate", headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert stored_user(app, target.email).is_active
    page = admin.get(f"/admin/users/{target.id}").get_data(as_text=True)
    page += admin.get(f"/admin/users/{target.id}/deactivate").get_data(as_text=True)  # the confirmation step
    forms = re.findall(r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrf_token" value="([^"]+)">',
                       page)
    assert {action for action, _ in forms} == {f"/admin/users/{target.id}/deactivate",
                                              f"/admin/users/{target.id}/tokens",
                                              *(f"/admin/tokens/{t}/revoke" for t in _token_ids(app, target.id))}
    token = dict(forms)[f"/admin/users/{target.id}/deactivate"]
    assert admin.post(f"/admin/users/{target.id}/deactivate", data={"csrf_token": token}).status_code == 302
    assert not stored_user(app, target.email).is_active


def _token_ids(app, user_id: int) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(ApiToken.id).where(ApiToken.user_id == user_id)))


# --- a new password ------------------------------------------------------------------------------
def test_a_new_password_replaces_the_old_lifts_a_lock_and_is_recorded(app, admin, client, people):
    person = people["practitioner"]
    for _ in range(5):
        client.post("/login", data={"email": person.email, "password": "a wrong guess"},
                    environ_base={"REMOTE_ADDR": "10.0.0.9"})
    sign_in(client, people["admin"])
    response = client.post(f"/admin/users/{person.id}/password", data={"password": "a brand new password"})
    assert response.status_code == 302 and response.location == f"/admin/users/{person.id}"
    client.post("/logout")
    old = client.post("/login", data={"email": person.email, "password": person.password},
                      environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert old.status_code == 400                       # no longer locked, but the old password is gone
    new = client.post("/login", data={"email": person.email, "password": "a brand new password"},
                      environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert new.status_code == 302
    [event] = access_events(app)
    assert event.data == {"action": "password_set", "user_id": person.id, "role": "practitioner"}
    assert event.actor_id == people["admin"].id


@pytest.mark.parametrize(("password", "message"), [("", "Enter a new password"),
                                                   ("too short", "Password must be 12 characters or more")])
def test_a_bad_new_password_is_refused_by_its_field_and_nothing_changes(app, admin, people, password, message):
    person = people["manager"]
    before = stored_user(app, person.email).password_hash
    response = admin.post(f"/admin/users/{person.id}/password", data={"password": password})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'href="#password"' in page
    assert stored_user(app, person.email).password_hash == before
    assert access_events(app) == []


# -- Issue 15 item 9 --------------------------------------------------------------------------------


def test_council_staff_cannot_be_given_a_partner_organisation(app, admin):
    before = user_count(app)
    response = new_user(admin, email="new.worker@council.invalid", role="practitioner",
                        organisation="Demo Police", password="a long enough password")
    assert response.status_code == 400
    assert "Leave the organisation empty for council staff" in response.get_data(as_text=True)
    assert user_count(app) == before


def test_deactivating_asks_first_and_then_says_the_person_cannot_sign_in(app, admin, people):
    person = people["partner"]
    page = admin.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert f'href="/admin/users/{person.id}/deactivate"' in page  # a link to the question, not a button that acts
    assert f'action="/admin/users/{person.id}/deactivate"' not in page
    question = admin.get(f"/admin/users/{person.id}/deactivate").get_data(as_text=True)
    assert f"Deactivate {person.email}?" in question and "Yes, deactivate this account" in question
    assert "live API token" in question
    with app.app_context():
        assert db.session.get(User, person.id).is_active  # asking changed nothing
    admin.post(f"/admin/users/{person.id}/deactivate")
    page = admin.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert "Deactivated" in page and "No: the account is deactivated" in page and "Yes, with a password" not in page


def test_an_administrator_cannot_issue_an_api_token_to_themselves(app, admin, people):
    me = people["admin"]
    page = admin.get(f"/admin/users/{me.id}").get_data(as_text=True)
    assert "Issue an API token" not in page and "Nobody issues a token to their own account" in page
    with app.app_context():
        tokens = db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == me.id))
    response = admin.post(f"/admin/users/{me.id}/tokens")
    assert response.status_code == 409
    assert "You cannot issue an API token to your own account" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == me.id)) == tokens

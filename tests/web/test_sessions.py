"""A session ends on the server, not only in the browser that signed out.

Each person has a session generation; a session cookie carries the generation it was issued
in and opens nothing once the person's generation has moved on. Signing out ("sign out
everywhere"), changing one's password, an administrator setting it and deactivation all move it.
"""

from __future__ import annotations

from tests.web.conftest import sign_in

QUEUE = "/contacts"


def saved_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A fresh browser presenting a copy of an old session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_a_cookie_saved_before_sign_out_no_longer_opens_the_queue(app, client, people):
    sign_in(client, people["practitioner"])
    cookie = saved_cookie(client)
    assert replay(app, cookie).get(QUEUE).status_code == 200
    assert client.post("/logout").status_code == 302
    assert replay(app, cookie).get(QUEUE).status_code == 302


def test_signing_out_signs_out_everywhere(app, people):
    office, home = app.test_client(), app.test_client()
    sign_in(office, people["practitioner"])
    sign_in(home, people["practitioner"])
    office.post("/logout")
    assert home.get(QUEUE).status_code == 302
    sign_in(office, people["practitioner"])  # and signing in again works
    assert office.get(QUEUE).status_code == 200


def test_another_persons_sign_out_leaves_my_session_alone(app, people):
    mine, theirs = app.test_client(), app.test_client()
    sign_in(mine, people["practitioner"])
    sign_in(theirs, people["manager"])
    theirs.post("/logout")
    assert mine.get(QUEUE).status_code == 200


def test_changing_my_password_ends_my_other_sessions_but_not_this_one(app, people):
    person = people["practitioner"]
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, person)
    sign_in(elsewhere, person)
    response = here.post("/account/password", data={"current_password": person.password,
                                                    "new_password": "a brand new passphrase",
                                                    "confirm_password": "a brand new passphrase"})
    assert response.status_code == 302
    assert here.get(QUEUE).status_code == 200
    assert elsewhere.get(QUEUE).status_code == 302


def test_an_administrator_setting_the_password_ends_the_persons_sessions(app, people):
    worker, admin = app.test_client(), app.test_client()
    sign_in(worker, people["practitioner"])
    sign_in(admin, people["admin"])
    response = admin.post(f"/admin/users/{people['practitioner'].id}/password",
                          data={"password": "set by the administrator"})
    assert response.status_code in (200, 302)
    assert worker.get(QUEUE).status_code == 302


def test_a_session_from_before_deactivation_does_not_return_with_reactivation(app, people):
    worker, admin = app.test_client(), app.test_client()
    sign_in(worker, people["practitioner"])
    sign_in(admin, people["admin"])
    admin.post(f"/admin/users/{people['practitioner'].id}/deactivate")
    admin.post(f"/admin/users/{people['practitioner'].id}/reactivate")
    assert worker.get(QUEUE).status_code == 302

"""Your password: anyone signed in replaces their own, knowing the current one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.conftest import sign_in
from triage.extensions import db
from triage.record.tables import Event, User

NEW = "my own new long password"


def change(client, current: str, new: str = NEW, again: str | None = None):
    return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                   "confirm_password": NEW if again is None else again})


def password_hash(app, person) -> str:
    with app.app_context():
        return db.session.get(User, person.id).password_hash


@pytest.mark.parametrize("role", ["practitioner", "manager", "partner", "admin"])
def test_every_signed_in_person_can_change_their_password_and_the_old_one_stops(app, client, people, role):
    person = people[role]
    sign_in(client, person)
    page = client.get("/account/password").get_data(as_text=True)
    assert "Change your password" in page and 'href="/account/password">Your password</a>' in page
    response = change(client, person.password)
    assert response.status_code == 302 and response.location == "/"
    client.post("/logout")
    assert client.post("/login", data={"email": person.email, "password": person.password}).status_code == 400
    assert client.post("/login", data={"email": person.email, "password": NEW}).status_code == 302
    with app.app_context():
        [event] = db.session.scalars(select(Event).where(Event.kind == "access_changed")).all()
        assert event.data == {"action": "password_changed", "user_id": person.id, "role": role}
        assert event.actor_id == person.id


@pytest.mark.parametrize(("current", "new", "again", "field", "message"), [
    ("not my password", NEW, NEW, "current_password", "Enter your current password correctly"),
    (None, "short", "short", "new_password", "Password must be 12 characters or more"),
    (None, "", "", "new_password", "Enter a new password"),
    (None, NEW, "something else entirely", "confirm_password", "Enter the same new password twice"),
    (None, None, None, "new_password", "different from your current one"),
])
def test_each_mistake_is_shown_by_its_field_and_nothing_changes(app, client, people, current, new, again,
                                                                field, message):
    person = people["practitioner"]
    sign_in(client, person)
    before = password_hash(app, person)
    current = person.password if current is None else current
    new = person.password if new is None else new
    response = change(client, current, new, person.password if again is None else again)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and f'href="#{field}"' in page
    assert person.password not in page            # a password is never echoed back
    assert password_hash(app, person) == before


def test_nobody_signed_in_is_sent_to_sign_in(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_guessing_the_current_password_counts_like_guessing_at_sign_in(app, client, people):
    person = people["manager"]
    sign_in(client, person)
    before = password_hash(app, person)
    for _ in range(5):
        assert change(client, "a guess at it").status_code == 400
    refused = change(client, person.password)            # even the right one, now
    assert refused.status_code == 429 and "Too many wrong passwords" in refused.get_data(as_text=True)
    assert password_hash(app, person) == before
    client.post("/logout")
    assert client.post("/login", data={"email": person.email, "password": person.password}).status_code == 429

"""Page tests with the Flask test client: sign people in through the real login form."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import contact_payload


def sign_in(client, person) -> None:
    response = client.post("/login", data={"email": person.email, "password": person.password})
    assert response.status_code == 302, response.data[:500]


@pytest.fixture
def signed_in(client, people):
    """``signed_in("practitioner")`` -> the test client, signed in as that role's person."""

    def as_role(role: str):
        sign_in(client, people[role])
        return client

    return as_role


@pytest.fixture
def store(app, people):
    """``store(payload)`` -> the id of the contact stored through intake, as a practitioner sent it."""
    from triage.extensions import db
    from triage.record.tables import User
    from triage.services.intake import submit

    def put(payload: dict | None = None, **overrides) -> str:
        payload = payload or contact_payload(**overrides)
        with app.app_context():
            stored, _ = submit(payload, db.session.get(User, people["practitioner"].id), app.extensions["recommender"])
            return stored.id

    return put


def hours_ago(hours: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours)).isoformat(timespec="seconds")

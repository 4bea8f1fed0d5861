"""A limit per API token, counted in the database so every worker shares it.

Issue 18 finding 13: one token sent 10,000 POSTs unthrottled. Over the limit, a 429 problem
document with Retry-After; the default lets a police force send its overnight batch of a few
hundred contacts in one go.
"""

from __future__ import annotations

from triage.app import create_app
from triage.settings import load_settings

URL = "/api/v1/contacts"


def limited(app, requests: int = 3, seconds: int = 60):
    app.config.update(API_RATE_LIMIT=requests, API_RATE_WINDOW_SECONDS=seconds)


def test_over_the_limit_is_a_429_problem_with_retry_after(app, client, people):
    limited(app)
    person = people["practitioner"]
    assert [client.get(URL, headers=person.headers).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(URL, headers=person.headers)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["status"] == 429 and "3 requests" in refused.get_json()["detail"]


def test_each_token_has_its_own_count(app, client, people):
    limited(app, requests=2)
    for _ in range(2):
        client.get(URL, headers=people["practitioner"].headers)
    assert client.get(URL, headers=people["practitioner"].headers).status_code == 429
    assert client.get(URL, headers=people["manager"].headers).status_code == 200


def test_the_count_is_shared_between_workers(app, people):
    """Two app instances on one database stand in for two gunicorn workers."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True})
    for worker in (app, other):
        limited(worker, requests=2)
    person = people["practitioner"]
    assert app.test_client().get(URL, headers=person.headers).status_code == 200
    assert other.test_client().get(URL, headers=person.headers).status_code == 200
    assert app.test_client().get(URL, headers=person.headers).status_code == 429


def test_requests_without_a_valid_token_are_not_counted_against_anyone(app, client, people):
    limited(app, requests=1)
    for _ in range(3):
        assert client.get(URL, headers={"Authorization": "Bearer tri_nope"}).status_code == 401
    assert client.get(URL, headers=people["practitioner"].headers).status_code == 200


def test_the_default_lets_an_overnight_batch_through_in_one_go():
    settings = load_settings("test")
    assert settings["API_RATE_LIMIT"] >= 500 and settings["API_RATE_WINDOW_SECONDS"] <= 600

"""Intake scores without SQLite's write lock, and scores again if the children's history moved meanwhile (issue 19).

On SQLite an intake used to hold the one write lock (``BEGIN IMMEDIATE``) from its first statement,
so every other intake waited while it read history and ran the classifier. Now it reads and scores
in a deferred transaction and takes the lock only to check again and write.
"""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from sqlalchemy import select

from tests.api.test_intake import URL, post
from tests.factories import child, contact_payload
from triage.extensions import db
from triage.record.tables import Contact, Event

NHS = "9434765919"


def _sqlite_path(app) -> str:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite:///"):
        pytest.skip("about SQLite's one write lock")
    return uri.removeprefix("sqlite:///")


def _while_scoring(app, monkeypatch, during) -> list[tuple]:
    """Wrap the app's recommender: ``during()`` runs inside the first call; each call's (history, answer)."""
    recommender = app.extensions["recommender"]
    original = recommender.recommend
    calls: list[tuple] = []

    def recommend(contact, **kwargs):
        if not calls:
            calls.append((kwargs.get("history"), None))
            during()
            calls[0] = (calls[0][0], original(contact, **kwargs))
            return calls[0][1]
        calls.append((kwargs.get("history"), original(contact, **kwargs)))
        return calls[-1][1]

    monkeypatch.setattr(recommender, "recommend", recommend)
    return calls


def test_another_writer_takes_the_write_lock_while_an_intake_is_scored(app, client, people, monkeypatch):
    path = _sqlite_path(app)
    outcome: list[str] = []

    def write_elsewhere() -> None:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)  # no waiting: the lock is free or not
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE organisations SET agency_type = agency_type")
            other.execute("COMMIT")
            outcome.append("written")
        except sqlite3.OperationalError as exc:
            outcome.append(str(exc))
        finally:
            other.close()

    _while_scoring(app, monkeypatch, write_elsewhere)
    response = post(client, people["partner"], contact_payload())
    assert response.status_code == 201
    assert outcome == ["written"]


def test_a_history_that_changes_while_scoring_is_read_again_and_scored_again(app, client, people, monkeypatch):
    """A phone contact about the same child, taken earlier, is stored while the partner's contact is scored."""
    _sqlite_path(app)
    earlier_call = contact_payload(organisation="Demo Police", received_at="2026-11-20T08:05:00+00:00",
                                   children=[child(identifiers={"nhs_number": NHS})])
    statuses: list[int] = []

    def phone_contact_stored_meanwhile() -> None:
        def send() -> None:
            with app.app_context():
                statuses.append(app.test_client().post(URL, json=earlier_call,
                                                       headers=people["practitioner"].headers).status_code)
        thread = threading.Thread(target=send)
        thread.start()
        thread.join(timeout=5)  # with the lock held by this intake, the other waits: nothing changes here

    calls = _while_scoring(app, monkeypatch, phone_contact_stored_meanwhile)
    response = post(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    assert response.status_code == 201
    assert statuses == [201]
    # the partner's contact (child unknown), the phone contact, then the partner's again (known through it)
    assert [history.earlier_contacts for history, _answer in calls] == [0, 0, 1]
    with app.app_context():
        stored = db.session.scalar(select(Contact).where(Contact.id == response.get_json()["id"]))
        assert stored.recommendation == json.loads(json.dumps(calls[2][1], default=str))  # the second scoring's


@pytest.mark.parametrize("sender", ["partner", "practitioner"])
def test_the_answer_to_a_new_contact_is_the_answer_to_its_retry(client, people, sender):
    """The new contact's answer looks up no feedback, checks, decision or review (none can exist yet): still the same."""
    document = contact_payload(children=[child(identifiers={"nhs_number": NHS})])
    first = post(client, people[sender], document)
    again = post(client, people[sender], document)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()


def test_a_retry_stored_while_the_contact_is_scored_is_its_answer_and_it_is_stored_once(app, client, people,
                                                                                       monkeypatch):
    """The partner sends again while the first is scored: the store's unique key, not a second look, tells.

    The retry's intake completes while the first one is scored; the first then finds its row refused
    (organisation, reference) and answers with the retry's, as a retry would be answered.
    """
    document = contact_payload(children=[child(identifiers={"nhs_number": NHS})])
    answers: list = []

    def retry_meanwhile() -> None:
        def send() -> None:
            with app.app_context():
                answers.append(post(app.test_client(), people["partner"], document))
        thread = threading.Thread(target=send)
        thread.start()
        thread.join(timeout=10)

    _while_scoring(app, monkeypatch, retry_meanwhile)
    first = post(client, people["partner"], document)
    assert [answer.status_code for answer in answers] == [201]
    assert first.status_code == 200
    assert first.get_json() == answers[0].get_json()
    with app.app_context():
        stored = db.session.scalars(select(Contact.id).where(
            Contact.partner_reference == document["partner_reference"])).all()
        received = db.session.scalars(select(Event.seq).where(Event.contact_id.in_(stored),
                                                             Event.kind == "received")).all()
    assert len(stored) == 1 and len(received) == 1

"""Helpers for the decision, review, queue and record tests.

``pin`` replaces the recommendation step with one that answers a fixed level, floor and
urgency (or fails, like a broken model), so each test states the recommendation it is about
instead of depending on what the bundled model happens to say.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from triage.extensions import db
from triage.record.tables import Contact, Decision, Event, InformationRequest, Review

from .factories import contact_payload

RATIONALE = ("Police attended a verbal argument; no injuries, the child was asleep and the mother "
             "has support from her sister nearby.")
OVERRIDE = "The family already works with the school's early help worker, who saw them this week."
REVIEW_RATIONALE = ("I agree: no injury, protective mother, support in place; early help with consent "
                    "is proportionate here.")


@dataclass
class PinnedRecommender:
    """A recommendation step with a fixed answer; ``level=None`` fails like a broken model."""

    guidance: Any
    level: int | None
    floor: int | None
    urgency: str = "amber"

    def recommend(self, contact: dict, *, received_at, history=None, now=None) -> dict:
        if self.level is None:
            raise RuntimeError("the recommendation step failed (pinned by a test)")
        return {
            "level": self.level,
            "floor": {"level": self.floor, "indicators": []},
            "urgency": self.urgency,
            "model_version": "pinned-test",
            "marac": {"recommended": False, "criteria": []},
            "dash": None,
        }


def pin(app, level: int | None, floor: int | None = None, urgency: str = "amber") -> None:
    guidance = getattr(app.extensions["recommender"], "guidance", None)
    app.extensions["recommender"] = PinnedRecommender(guidance, level, floor, urgency)


def submit(client, partner, **overrides) -> str:
    response = client.post("/api/v1/contacts", json=contact_payload(**overrides), headers=partner.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def decision_body(**overrides) -> dict:
    body = {"level": 2, "rationale": RATIONALE, "marac_referral": False,
            "next_steps": "Early help referral with the mother's consent.", "consent": "obtained"}
    body.update(overrides)
    return body


def review_body(**overrides) -> dict:
    body = {"outcome": "confirmed", "rationale": REVIEW_RATIONALE}
    body.update(overrides)
    return body


def decide(client, person, contact_id: str, **overrides):
    return client.post(f"/api/v1/contacts/{contact_id}/decision", json=decision_body(**overrides),
                       headers=person.headers)


def review(client, person, contact_id: str, **overrides):
    return client.post(f"/api/v1/contacts/{contact_id}/review", json=review_body(**overrides),
                       headers=person.headers)


def snapshot(app, contact_id: str) -> dict:
    """What is stored for a contact: row counts of the record and the contact's status and version."""
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        counts = {
            model.__tablename__: db.session.scalar(
                select(func.count()).select_from(model).where(model.contact_id == contact_id))
            for model in (Decision, Review, InformationRequest, Event)
        }
        return counts | {"status": contact.status, "version": contact.version}


def race(app, calls: list[tuple[str, dict, dict]]) -> list[int]:
    """Send the POSTs at the same moment from real threads, each with its own client; the statuses."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, path: str, headers: dict, body: dict) -> None:
        try:
            with app.app_context():
                client = app.test_client()
                barrier.wait(timeout=30)
                results[index] = client.post(path, json=body, headers=headers).status_code
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, int) for r in results), results
    return results

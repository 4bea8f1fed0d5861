"""The work queues through the API: order, overdue, awaiting my review, decided today."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest

from tests.decision_support import decide, pin, review, submit
from triage.services import queues
from triage.services.timeliness import review_due


def received(hours_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).isoformat(timespec="seconds")


def queue(client, person, name: str) -> dict:
    response = client.get(f"/api/v1/queues/{name}", headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["queue"] == name and body["count"] == len(body["items"])
    return body


def seeded(app, client, sender, plan: list[tuple[str, str, float]]) -> dict[str, str]:
    """Contacts named by ``plan``: (name, urgency, hours since the call).

    Sent by a front-door worker (phone calls), so the clock starts at the call time given (spec section 8).
    """
    ids = {}
    for name, urgency, hours_ago in plan:
        pin(app, level=2, floor=1, urgency=urgency)
        ids[name] = submit(client, sender, received_at=received(hours_ago))
    return ids


def test_awaiting_decision_is_ordered_by_urgency_then_deadline_with_time_left(app, client, people):
    ids = seeded(app, client, people["practitioner"], [
        ("green", "green", 1), ("red_new", "red", 0.5), ("amber", "amber", 2),
        ("red_old", "red", 3), ("amber_late", "amber", 24 * 20),
    ])
    body = queue(client, people["practitioner"], "awaiting-decision")
    items = body["items"]
    assert [i["urgency"] for i in items] == ["red", "red", "amber", "amber", "green"]
    for before, after in pairwise(items):
        if before["urgency"] == after["urgency"]:
            assert (before["decision_due_at"], before["received_at"]) <= (after["decision_due_at"], after["received_at"])
    assert [i["id"] for i in items[2:4]] == [ids["amber_late"], ids["amber"]]
    now = datetime.now(timezone.utc)
    for item in body["items"]:
        due = datetime.fromisoformat(item["decision_due_at"].replace("Z", "+00:00"))
        assert abs(item["time"]["seconds_left"] - (due - now).total_seconds()) < 60
        assert item["time"]["overdue"] is (item["time"]["seconds_left"] < 0)
        assert item["time"]["text"].endswith("left") or item["time"]["text"].startswith("overdue by")
    late = next(i for i in body["items"] if i["id"] == ids["amber_late"])
    assert late["time"]["overdue"] is True and late["time"]["text"].startswith("overdue by")


def test_overdue_lists_only_undecided_contacts_past_their_deadline(app, client, people):
    ids = seeded(app, client, people["practitioner"], [
        ("fresh", "red", 0), ("late", "green", 24 * 20), ("later", "amber", 24 * 30), ("late_decided", "red", 24 * 20),
    ])
    assert decide(client, people["practitioner"], ids["late_decided"]).status_code == 201
    body = queue(client, people["manager"], "overdue")
    assert [i["id"] for i in body["items"]] == [ids["later"], ids["late"]]
    assert all(i["time"]["overdue"] and i["time"]["seconds_left"] < 0 for i in body["items"])


def test_awaiting_my_review_never_offers_a_manager_their_own_decision(app, client, people, make_person):
    ids = seeded(app, client, people["practitioner"], [("by_manager", "amber", 1), ("by_worker", "amber", 1),
                                                  ("undecided", "red", 1)])
    assert decide(client, people["manager"], ids["by_manager"]).status_code == 201
    assert decide(client, people["practitioner"], ids["by_worker"]).status_code == 201
    other_manager = make_person("manager")

    mine = queue(client, people["manager"], "awaiting-my-review")
    assert [i["id"] for i in mine["items"]] == [ids["by_worker"]]
    assert mine["items"][0]["decision"]["decided_by"].startswith(people["practitioner"].email)
    assert [i["id"] for i in queue(client, other_manager, "awaiting-my-review")["items"]] == [
        ids["by_manager"], ids["by_worker"]]
    worker_view = queue(client, people["practitioner"], "awaiting-my-review")
    assert [i["id"] for i in worker_view["items"]] == [ids["by_worker"]]
    assert "Your decisions" in worker_view["description"]

    assert review(client, other_manager, ids["by_worker"]).status_code == 201
    assert [i["id"] for i in queue(client, people["manager"], "awaiting-my-review")["items"]] == []


def test_decided_today_shows_how_each_decision_met_its_deadline(app, client, people):
    ids = seeded(app, client, people["practitioner"], [("on_time", "green", 0), ("late", "red", 24 * 20),
                                                  ("waiting", "amber", 0)])
    assert decide(client, people["practitioner"], ids["on_time"]).status_code == 201
    assert decide(client, people["practitioner"], ids["late"]).status_code == 201
    assert review(client, people["manager"], ids["late"]).status_code == 201
    body = queue(client, people["manager"], "decided-today")
    assert [i["id"] for i in body["items"]] == [ids["late"], ids["on_time"]]
    late, on_time = body["items"]
    assert late["status"] == "decided" and late["time"]["overdue"] is True
    assert late["time"]["text"].endswith("after the deadline")
    assert on_time["status"] == "awaiting_review" and on_time["time"]["text"].endswith("before the deadline")
    assert on_time["decision"]["level"] == 2


@pytest.mark.parametrize("name", ["awaiting-decision", "overdue", "awaiting-my-review", "reviews-overdue",
                                  "decided-today"])
def test_queues_are_for_front_door_staff_only(client, people, name):
    for role in ("partner", "admin"):
        response = client.get(f"/api/v1/queues/{name}", headers=people[role].headers)
        assert response.status_code == 403
    assert client.get(f"/api/v1/queues/{name}").status_code == 401


def test_a_decision_awaiting_review_is_timed_against_the_reviews_deadline_not_the_contacts(app, client, people):
    ids = seeded(app, client, people["practitioner"], [("late_contact", "amber", 24 * 20)])
    assert decide(client, people["practitioner"], ids["late_contact"]).status_code == 201
    [entry] = queue(client, people["manager"], "awaiting-my-review")["items"]
    decided = datetime.fromisoformat(entry["decision"]["decided_at"].replace("Z", "+00:00"))
    due = review_due(decided)
    assert entry["decision"]["review_due_at"] == due.isoformat().replace("+00:00", "Z")
    # the contact's own deadline passed weeks ago; the review's has not
    assert entry["time"]["overdue"] is False and entry["time"]["text"].endswith("left")
    assert abs(entry["time"]["seconds_left"] - (due - datetime.now(timezone.utc)).total_seconds()) < 60
    assert queue(client, people["manager"], "reviews-overdue")["items"] == []


def test_reviews_overdue_lists_every_unreviewed_decision_past_its_review_deadline(app, client, people):
    ids = seeded(app, client, people["practitioner"], [("first", "green", 3), ("second", "red", 2), ("third", "amber", 1)])
    for name in ("first", "second", "third"):
        assert decide(client, people["practitioner" if name != "second" else "manager"], ids[name]).status_code == 201
    assert review(client, people["manager"], ids["third"]).status_code == 201
    with app.test_request_context():
        latest = max(i.review_due_at for i in queues.reviews_overdue(datetime.now(timezone.utc) + timedelta(days=10)))
        assert queues.reviews_overdue(datetime.now(timezone.utc)) == []
        later = latest + timedelta(hours=1)
        items = queues.reviews_overdue(later)
    # the manager's own decision is listed too: the queue is the team's view of late oversight
    assert [i.contact.id for i in items] == [ids["first"], ids["second"]]
    assert all(i.time["overdue"] and i.time["text"].startswith("overdue by") for i in items)
    assert items[0].time["seconds_left"] <= items[1].time["seconds_left"]  # longest overdue first

"""Two people acting on the same contact at the same moment: exactly one succeeds, the other 409.

Real threads, each with its own application context and test client, released together by a
barrier, against whichever database the suite runs on (SQLite, or PostgreSQL when
``TRIAGE_TEST_DATABASE_URL`` is set).
"""

from __future__ import annotations

import pytest

from tests.decision_support import decide, decision_body, pin, race, review_body, snapshot, submit
from triage.record import audit

ROUNDS = 3


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_racing_decisions_give_one_201_and_one_409(app, client, make_person, people, round_):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    first, second = make_person("practitioner"), make_person("practitioner")
    path = f"/api/v1/contacts/{contact_id}/decision"
    statuses = race(app, [(path, first.headers, decision_body(level=2)),
                          (path, second.headers, decision_body(level=2))])
    assert sorted(statuses) == [201, 409]
    stored = snapshot(app, contact_id)
    assert stored["decisions"] == 1 and stored["status"] == "awaiting_review"
    with app.app_context():
        assert [e.kind for e in audit.history(contact_id)].count("decided") == 1
        assert audit.verify().ok


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_racing_reviews_give_one_201_and_one_409(app, client, make_person, people, round_):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    first, second = make_person("manager"), make_person("manager")
    path = f"/api/v1/contacts/{contact_id}/review"
    statuses = race(app, [(path, first.headers, review_body()),
                          (path, second.headers, review_body(outcome="changed", level=3))])
    assert sorted(statuses) == [201, 409]
    stored = snapshot(app, contact_id)
    assert stored["reviews"] == 1 and stored["status"] == "decided"
    with app.app_context():
        assert audit.verify().ok

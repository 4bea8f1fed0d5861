"""Ids in paths are bounded by what the database holds (``triage/http/ids.py``).

Found by the fuzzing (issue 18 item 12): ``POST /api/v1/children/<id>/links/32589158477190044729/undo``
and ``GET /api/v1/reports/partners/133066451023663276714387473547919360`` were 500s ("Python int
too large to convert to SQLite INTEGER"; on PostgreSQL, integer out of range). A number no id can
be is now the 404 any unknown id gets, and the document says how large an id can be.
"""

from __future__ import annotations

import pytest

from triage.http.ids import MAX_ID

HUGE = "32589158477190044729"


@pytest.mark.parametrize("method, url, role", [
    ("POST", f"/api/v1/children/some-child/links/{HUGE}/undo", "practitioner"),
    ("GET", f"/api/v1/reports/partners/{HUGE}", "manager"),
    ("POST", f"/api/v1/checks/{HUGE}/response", "agency"),
    ("POST", f"/api/v1/checks/{MAX_ID + 1}/response", "agency"),
])
def test_an_id_larger_than_the_database_holds_is_not_found(client, people, method, url, role):
    response = client.open(url, method=method, json={"reason": "The same child after all.", "known": False},
                           headers=people[role].headers)
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"


def test_the_largest_id_is_an_ordinary_unknown_id(client, people):
    response = client.get(f"/api/v1/reports/partners/{MAX_ID}", headers=people["manager"].headers)
    assert response.status_code == 404


def test_the_document_gives_the_bound(client):
    document = client.get("/api/openapi.json").get_json()
    parameters = document["paths"]["/api/v1/checks/{check_id}/response"]["parameters"]  # path-level
    check_id = next(p for p in parameters if p["name"] == "check_id")
    assert check_id["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_ID}

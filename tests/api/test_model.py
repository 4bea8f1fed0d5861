"""``GET /api/v1/model``: anyone signed in can see which model scores contacts, and how it performs."""

from __future__ import annotations

import pytest

from triage.engine.recommend import Recommender


@pytest.mark.parametrize("role", ["practitioner", "manager", "partner", "admin"])
def test_every_role_sees_the_model_in_use_with_its_figures(client, people, role):
    response = client.get("/api/v1/model", headers=people[role].headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["mode"] == "model"
    assert body["model"]["version"] in body["available_versions"]
    assert len(body["model"]["sha256"]) == 64
    assert "level4_recall" in body["model"]["evaluation"]["summary"]
    assert body["levels"]["4"]


def test_anonymous_callers_are_refused(client):
    response = client.get("/api/v1/model")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


def test_a_rules_only_service_says_so(app, client, people):
    app.extensions["recommender"] = Recommender(guidance=app.extensions["recommender"].guidance,
                                                notes=["classifier not loaded, rules-only: test"])
    body = client.get("/api/v1/model", headers=people["admin"].headers).get_json()
    assert body["mode"] == "rules_only"
    assert body["model"] is None
    assert body["notes"] == ["classifier not loaded, rules-only: test"]


def test_the_served_pipeline_publishes_its_rule(app, client, people):
    """The next-step cut-offs are the model file's: the answer shows the ones in use, as loaded."""
    body = client.get("/api/v1/model", headers=people["admin"].headers).get_json()
    assert body["model"]["kind"] == "pipeline"
    assert body["model"]["rule"] == app.extensions["recommender"].pipeline.rule.as_dict()
    assert set(body["model"]["feature_sets"]) == {"screening", "after_checks"}

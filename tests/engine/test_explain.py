"""Explanations add up exactly, read in plain English, and "what would change this" is true."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from training.generate import generate, guidance_floor_fn
from triage.engine import features as F
from triage.engine.classifier import load_model
from triage.engine.explain import evidence_level, score_and_explain
from triage.engine.guidance import load_guidance
from triage.engine.history import KnownHistory
from triage.engine.recommend import Recommender

ROOT = Path(__file__).resolve().parents[2]
THRESHOLDS = ROOT / "config" / "thresholds.yaml"
EXAMPLES = sorted((ROOT.parent / "shared" / "examples" / "contacts").glob("*.json"))


@pytest.fixture(scope="module")
def model():
    return load_model(ROOT / "models", "synthetic-2026.2")


@pytest.fixture(scope="module")
def recommender(model):
    return Recommender(guidance=load_guidance(THRESHOLDS), model=model)


@pytest.fixture(scope="module")
def contacts() -> list[dict]:
    return list(generate(400, seed=41, floor_fn=guidance_floor_fn(THRESHOLDS)))


def _recommend(rec: Recommender, contact: dict, prior: bool = False) -> dict:
    return rec.recommend(contact, received_at=datetime.fromisoformat(contact["received_at"]),
                         history=KnownHistory(marac_12m=prior))


def test_contributions_plus_intercept_reproduce_the_score_for_the_recommended_level(recommender, model,
                                                                                    contacts):
    for r in contacts:
        out = _recommend(recommender, r["contact"], r["prior_marac_12m"])
        expl = out["explanation"]
        k = max(out["level"], 2)
        active = F.encode(r["contact"], floor_level=out["floor"]["level"],
                          history=KnownHistory(marac_12m=r["prior_marac_12m"]))
        score = model.score(active).logits[k - 2]
        total = expl["intercept"] + sum(c["contribution"] for c in expl["contributions"])
        assert abs(total - score) < 1e-6
        assert expl["level_explained"] == k and "log-odds" in expl["scale"]
        # P(level >= k) is the score's probability, or lower where the cumulative probabilities
        # had to be made non-increasing in k (exactly equal for k = 2)
        p_ge = sum(out["probabilities"][str(j)] for j in range(k, 5))
        assert p_ge <= 1 / (1 + np.exp(-score)) + 1e-9
        if k == 2:
            assert p_ge == pytest.approx(1 / (1 + np.exp(-score)), abs=1e-9)


def test_contributions_are_fields_with_labels_largest_first(recommender, contacts):
    fields = {f.name for f in F.FIELDS}
    for r in contacts[:100]:
        items = _recommend(recommender, r["contact"])["explanation"]["contributions"]
        assert items
        sizes = [abs(c["contribution"]) for c in items]
        assert sizes == sorted(sizes, reverse=True)
        for c in items:
            assert c["feature"] in fields and c["label"] and c["label"][0].isupper()
            json.dumps(c)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_get_a_full_model_recommendation(recommender, path):
    contact = json.loads(path.read_text())
    out = _recommend(recommender, contact)
    assert out["mode"] == "model" and out["model_version"] != "rules-only"
    assert out["explanation"]["contributions"] and isinstance(out["what_would_change"], list)
    assert "classifier" in out["rationale_draft"]
    json.dumps(out)


def _apply(values: dict, field: str, new) -> list[int]:
    trial = dict(values)
    trial[field] = new
    F.recompute_interactions(trial)
    return F.active_columns(trial)


def test_what_would_change_statements_hold(model, contacts):
    found = 0
    for r in contacts:
        floor = 0
        out = score_and_explain(model, r["contact"], floor_level=floor)
        values = F.summarise(r["contact"], floor_level=floor)
        for change in out["what_would_change"]:
            scored = model.score(_apply(values, change["field"], change["to"]))
            assert evidence_level(scored.probabilities, floor) == change["new_level"] != out["level"]
            assert change["statement"].startswith("If ") and f"level {change['new_level']}" in change["statement"]
            found += 1
    assert found > 100


def test_a_high_risk_contact_explains_with_risk_reasons(recommender):
    contact = json.loads((ROOT.parent / "shared/examples/contacts/police-da-high-risk.json").read_text())
    out = _recommend(recommender, contact)
    top = {c["feature"] for c in out["explanation"]["contributions"][:6]}
    assert out["level"] >= 3
    assert top & {"guidance_floor", "domestic_abuse.dash", "domestic_abuse.strangulation",
                  "interaction.high_risk_child_present", "domestic_abuse.dash.officer_grading"}


def test_changing_sex_does_not_change_the_explanation(recommender, contacts):
    for r in contacts[:50]:
        other = copy.deepcopy(r["contact"])
        other["children"][0]["sex"] = "unknown"
        assert _recommend(recommender, other)["explanation"] == _recommend(recommender, r["contact"])["explanation"]


def _names(recommender: Recommender) -> dict[int, str]:
    return {n: v["name"] for n, v in recommender.guidance.levels.items()}


@pytest.mark.parametrize(("probabilities", "floor", "expected"), [
    ({"1": 0.05, "2": 0.91, "3": 0.02, "4": 0.02}, 0, 2),
    ({"1": 0.05, "2": 0.91, "3": 0.02, "4": 0.02}, 3, 3),    # never below the floor
    ({"1": 0.70, "2": 0.20, "3": 0.05, "4": 0.05}, 0, 1),
    ({"1": 0.10, "2": 0.35, "3": 0.30, "4": 0.25}, 0, 3),    # P(level >= 3) = 0.55: the evidence supports 3
    ({"1": 0.10, "2": 0.45, "3": 0.20, "4": 0.25}, 0, 2),    # P(level >= 3) = 0.45: not yet
])
def test_the_level_is_the_highest_the_evidence_supports_never_below_the_floor(probabilities, floor, expected):
    assert evidence_level(probabilities, floor) == expected


def test_a_small_chance_of_a_higher_level_never_raises_the_level(recommender, model, contacts):
    """The classifier's safety cut-offs (a few per cent) no longer set the level: checks answer doubt."""
    below_the_old_rule = 0
    for r in contacts:
        out = _recommend(recommender, r["contact"], r["prior_marac_12m"])
        probs, floor = out["probabilities"], out["floor"]["level"]
        assert out["level"] == evidence_level(probs, floor)
        scored = model.score(F.encode(r["contact"], floor_level=floor,
                                      history=KnownHistory(marac_12m=r["prior_marac_12m"])))
        below_the_old_rule += out["level"] < max(scored.model_level, floor, 1)
        assert "precaution" not in out["rationale_draft"] and "caution" not in out
    assert below_the_old_rule > 20


def test_rules_only_recommendations_carry_no_model_caution():
    rec = Recommender(guidance=load_guidance(THRESHOLDS))
    contact = json.loads(EXAMPLES[0].read_text())
    out = _recommend(rec, contact)
    assert out["mode"] == "rules_only" and "caution" not in out and out["next_step"] in ("refer", "decide")

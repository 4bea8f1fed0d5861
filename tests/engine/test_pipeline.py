"""The two-stage pipeline in the engine: feature sets, the next-step rule, explanations, loading.

A pipeline with random sign-respecting weights stands in for a trained one: the properties tested
here (exact explanations, monotonicity, the rule, the artifact checks) hold for any weights.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tests.factories import contact_payload as police_contact
from training.pipeline import payload, write
from training.train import to_estimator
from triage.engine import features as F
from triage.engine.classifier import ModelLoadError, load_model
from triage.engine.history import KnownHistory
from triage.engine.pipeline import Rule, from_payload, load_pipeline, next_step

CODES = {"police": ("domestic_abuse_at_address", "adult_known_for_violence"),
         "health": ("health_visitor_concerns",)}
SCREEN = F.feature_set(F.SCREENING_SET)
AFTER = F.feature_set(F.AFTER_CHECKS_SET, CODES)
RULE = Rule(check_level4=0.05, check_level3=0.2, after_level4=0.3, after_level3=0.4)
MANIFEST = {"kind": "pipeline", "feature_sets": {"screening": F.SCREENING_SET, "after_checks": F.AFTER_CHECKS_SET},
            "check_codes": [[a, list(c)] for a, c in CODES.items()]}


def _estimators(fs: F.FeatureSet, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for i, k in enumerate((2, 3, 4)):
        coef = rng.normal(0, 0.6, fs.n_features)
        coef = np.where(fs.signs > 0, np.abs(coef), np.where(fs.signs < 0, -np.abs(coef), coef))
        out[f"level_ge_{k}"] = to_estimator(coef, 1.0 - 1.5 * i)
    return out


@pytest.fixture(scope="module")
def pipe():
    return from_payload("test", payload(_estimators(SCREEN, 1), _estimators(AFTER, 2), SCREEN, AFTER, RULE),
                        MANIFEST)


def test_both_stages_extend_features_v1_without_moving_its_columns():
    assert SCREEN.names[:F.N_FEATURES] == F.FEATURE_NAMES
    assert AFTER.names[:SCREEN.n_features] == SCREEN.names
    assert {c.sign for c in SCREEN.columns[F.N_FEATURES:]} == {F.POS}
    findings = [c for c in AFTER.columns[SCREEN.n_features:] if not c.name.endswith(":not_asked")]
    assert {c.sign for c in findings} == {F.POS}


def test_an_unknown_feature_set_is_refused():
    with pytest.raises(ValueError, match="unknown feature set"):
        F.feature_set("screening-v9")


@pytest.mark.parametrize("seed", range(20))
def test_explanations_add_up_to_the_score_at_both_stages(pipe, seed):
    rng = random.Random(seed)
    contact = police_contact()
    history = KnownHistory(earlier_contacts=rng.randint(0, 4), contacts_12m=rng.randint(0, 3),
                           referrals_12m=rng.randint(0, 2), marac_12m=rng.random() < 0.3,
                           highest_level=rng.choice([None, 1, 2, 3, 4]))
    checks = {"police": {"known": rng.random() < 0.7, "findings": rng.sample(CODES["police"], rng.randint(0, 2))}}
    for out in (pipe.screen(contact, floor_level=0, history=history),
                pipe.decide_after_checks(contact, floor_level=0, history=history, checks=checks)):
        expl = out["explanation"]
        total = expl["intercept"] + sum(c["contribution"] for c in expl["contributions"])
        k = expl["level_explained"]
        p_ge = sum(out["probabilities"][str(j)] for j in range(k, 5))
        assert abs(total - expl["score"]) < 1e-6
        # the score is the stage's own "level >= k" log-odds (probabilities made monotone in k)
        assert p_ge <= 1 / (1 + np.exp(-expl["score"])) + 1e-9


def test_a_finding_never_lowers_the_after_checks_level(pipe):
    contact = police_contact()
    for code in CODES["police"]:
        nothing = pipe.decide_after_checks(contact, floor_level=0, checks={"police": {"known": True, "findings": []}})
        found = pipe.decide_after_checks(contact, floor_level=0, checks={"police": {"known": True, "findings": [code]}})
        assert found["level"] >= nothing["level"]
        assert found["explanation"]["score"] >= nothing["explanation"]["score"] - 1e-12 or \
            found["level"] > nothing["level"]


def test_more_history_never_lowers_the_screening_scores(pipe):
    contact = police_contact()
    low = pipe.screening.score(SCREEN.active(SCREEN.values(contact, floor_level=0, prior_marac_12m=False,
                                                           history=KnownHistory())))
    high = pipe.screening.score(SCREEN.active(SCREEN.values(
        contact, floor_level=0, prior_marac_12m=False,
        history=KnownHistory(earlier_contacts=3, contacts_12m=3, referrals_12m=2, marac_12m=True, highest_level=4))))
    assert all(h >= lo for h, lo in zip(high.logits, low.logits, strict=True))


@pytest.mark.parametrize(("level", "p3", "p4", "step"), [
    (1, 0.1, 0.01, "decide"),
    (1, 0.25, 0.01, "checks"),     # level 3 not ruled out
    (2, 0.1, 0.06, "checks"),      # level 4 not ruled out
    (3, 0.9, 0.01, "refer"),
    (3, 0.9, 0.2, "checks"),       # referred at 3, but level 4 not ruled out: checks decide 3 or 4
    (4, 0.99, 0.9, "refer"),
])
def test_next_step(level, p3, p4, step):
    logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
    assert next_step(level, (0.0, logit(p3), logit(p4)), RULE) == step


def test_a_contact_sent_to_checks_names_the_agencies_whose_answer_could_change_the_level(pipe):
    for seed in range(30):
        contact = police_contact()
        out = pipe.screen(contact, floor_level=0, history=KnownHistory(earlier_contacts=seed % 3))
        if out["next_step"] == "checks":
            assert out["agencies"] and set(out["agencies"]) <= set(CODES)
    base = np.array([[0.0, 0.0, 0.0]])
    named = pipe.agencies_batch(base)[0]
    assert any(named.values())


def test_the_artifact_round_trips_and_a_tampered_one_is_refused(tmp_path, pipe):
    est_s, est_a = pipe.screening.estimators, pipe.after_checks.estimators
    folder = write(tmp_path, "p1", payload(est_s, est_a, SCREEN, AFTER, RULE), MANIFEST)
    loaded = load_pipeline(tmp_path, "p1")
    contact = police_contact()
    assert loaded.screen(contact, floor_level=0) == pipe.screen(contact, floor_level=0)
    assert loaded.rule == RULE
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="SHA-256"):
        load_pipeline(tmp_path, "p1")
    with pytest.raises(ModelLoadError, match="not a model version"):
        load_pipeline(tmp_path, "../p1")


def test_the_served_features_v1_model_still_loads():
    from pathlib import Path

    model = load_model(Path(__file__).resolve().parents[2] / "models", "synthetic-2026.2")
    assert model.weights.shape[1] == F.N_FEATURES

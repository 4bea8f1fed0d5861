"""Training: bounds are enforced, the artifact round-trips through the safe loader."""

from __future__ import annotations

import json

import numpy as np
from scipy import sparse

from training.generate import write_jsonl
from training.train import fit_constrained_logistic, train
from triage.engine import features as F
from triage.engine.classifier import load_model, sha256_file


def test_bounded_fit_keeps_a_protective_looking_risk_column_at_zero():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(4000, 2)).astype(float)
    # column 0 really lowers the odds; column 1 raises them
    z = -2.0 * x[:, 0] + 1.5 * x[:, 1]
    y = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)
    free, _ = fit_constrained_logistic(sparse.csr_matrix(x), y, np.array([0, 0]), l2=0.0)
    bounded, _ = fit_constrained_logistic(sparse.csr_matrix(x), y, np.array([1, 1]), l2=0.0)
    assert free[0] < -1.5
    assert bounded[0] >= 0.0 and bounded[1] > 1.0


def test_train_writes_an_artifact_the_service_loader_accepts(tmp_path, sample, floor_fn):
    data = tmp_path / "contacts.jsonl"
    write_jsonl(iter(sample), data)
    models = tmp_path / "models"
    model = train(data, models, "t1", seed=1, floor_fn=floor_fn)
    manifest = json.loads((models / "t1" / "manifest.json").read_text())
    assert manifest["sha256"] == sha256_file(models / "t1" / "model.skops")
    assert manifest["features"] == list(F.FEATURE_NAMES)
    assert manifest["training_data"]["sha256"] == sha256_file(data)
    loaded = load_model(models)
    assert loaded.version == "t1"
    np.testing.assert_allclose(loaded.weights, model.weights)
    pos, neg = F.SIGNS > 0, F.SIGNS < 0
    assert (loaded.weights[:, pos] >= 0).all() and (loaded.weights[:, neg] <= 0).all()

"""Evaluation: the issue's headline, the information ceiling and the store-history ablation."""

from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from training.__main__ import main
from training.ablation import history_matrix, store_history
from training.evaluate import ceiling_logits, evaluate
from training.generate import JUDGEMENT_SD, LEVEL_CUTS, write_jsonl
from training.train import build_dataset, train

HEADLINE_KEYS = {"level4_recall", "statutory_recall", "inappropriate_referral_rate",
                 "historic_inappropriate_referral_rate", "inappropriate_referral_reduction", "macro_auc",
                 "black_box_macro_auc", "ece", "n_test"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample, floor_fn):
    """The sample written out and a model trained on it, as `make model` does at full size."""
    root = tmp_path_factory.mktemp("evaluate")
    data = root / "contacts.jsonl"
    write_jsonl(iter(sample), data)
    train(data, root / "models", "t1", seed=1, floor_fn=floor_fn)
    return data, root / "models"


@pytest.fixture(scope="module")
def evaluated(trained) -> tuple[str, dict]:
    """`python -m training evaluate-v1 --json` run once: what it printed and the report it wrote.

    Evaluation is a minute of work on this sample; the tests below read one run's output and files
    (evaluation.json is the whole report ``evaluate`` returns) instead of evaluating four times.
    """
    data, models = trained
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["evaluate-v1", "--data", str(data), "--models", str(models), "--seed", "1", "--json"]) == 0
    return printed.getvalue(), json.loads((models / "t1" / "evaluation.json").read_text())


def test_evaluate_json_ends_with_one_line_holding_every_headline_figure(trained, evaluated):
    _, models = trained
    last = evaluated[0].strip().splitlines()[-1]
    summary = json.loads(last)
    assert summary.keys() >= HEADLINE_KEYS
    assert summary["n_test"] > 0
    manifest = json.loads((models / "t1" / "manifest.json").read_text())
    assert manifest["evaluation"]["summary"] == summary
    assert evaluated[1]["summary"] == summary


def test_the_model_card_sets_the_model_beside_the_information_ceiling(trained, evaluated):
    data, models = trained
    report = evaluated[1]
    ceiling = report["information_ceiling"]["at_targets"]
    assert report["summary"]["information_ceiling_inappropriate_referral_rate"] == ceiling[
        "inappropriate_referral_rate"]
    card = (models / "t1" / "MODEL_CARD.md").read_text()
    assert "### The information ceiling" in card
    assert "| information ceiling (an oracle knowing all but the expert's judgement, same rule) |" in card
    assert f"{100 * ceiling['inappropriate_referral_rate']:.1f}% of its referrals are inappropriate" in card


def test_data_without_the_simulation_block_has_no_ceiling(trained, tmp_path, sample, floor_fn):
    _, models = trained
    council = tmp_path / "council.jsonl"
    write_jsonl(({k: v for k, v in r.items() if k != "simulation"} for r in sample), council)
    report = evaluate(council, models, 1, floor_fn, write=False)
    assert "information_ceiling" not in report
    assert report["summary"]["information_ceiling_inappropriate_referral_rate"] is None


def test_ceiling_probabilities_are_the_generators_own_noise_around_each_cut():
    records = [{"simulation": {"expert_reading": r}} for r in (LEVEL_CUTS[1], LEVEL_CUTS[1] + JUDGEMENT_SD, -9.0)]
    logits = ceiling_logits(records, np.array([0, 0, 3]))
    p = 1 / (1 + np.exp(-logits))
    assert p[0, 1] == pytest.approx(0.5)                 # on the 2|3 cut: even odds of level 3+
    assert p[1, 1] == pytest.approx(0.841345, abs=1e-6)  # one sd above it: the normal CDF at 1
    assert p[2, 1] == pytest.approx(1.0) and p[2, 0] == pytest.approx(1.0)  # a floor of 3 settles 2+ and 3+
    assert p[2, 2] < 1e-9                                 # but not level 4
    assert ceiling_logits([{"contact": {}}], np.array([0])) is None


def test_the_model_never_reads_the_simulation_block(sample, floor_fn):
    scrambled = copy.deepcopy(sample[:300])
    for r in scrambled:
        r["simulation"] = {"hidden_need": 99.0, "expert_reading": 99.0}
    a, b = build_dataset(sample[:300], floor_fn), build_dataset(scrambled, floor_fn)
    assert (a.x != b.x).nnz == 0


def test_store_history_counts_only_the_households_last_twelve_months():
    def rec(hid: str, day: str, decided: int) -> dict:
        return {"household_id": hid, "expert_level": 1, "historic_decision": decided,
                "contact": {"received_at": f"{day}T10:00:00+00:00"}}

    records = [rec("H1", "2025-01-10", 4), rec("H1", "2025-06-01", 2), rec("H2", "2025-06-02", 3),
               rec("H1", "2026-03-01", 1)]
    m = history_matrix(records).toarray()
    assert m[0].tolist() == [0, 0, 0, 0, 0, 0]
    assert m[1].tolist() == [1, 0, 0, 1, 1, 1]            # one earlier contact, decided level 4
    assert m[2].tolist() == [0, 0, 0, 0, 0, 0]            # another household's history is not its own
    assert m[3].tolist() == [1, 0, 0, 1, 0, 0]            # the level-4 contact is over a year old


def test_the_ablations_contact_only_arm_is_the_bundled_pipeline(trained, evaluated, floor_fn):
    data, _ = trained
    report = evaluated[1]
    result = store_history(data, 1, floor_fn)
    for key in ("level4_recall", "statutory_recall", "inappropriate_referral_rate", "referral_rate"):
        assert result["contact_only"][key] == pytest.approx(report["model"][key])
    assert set(result["with_store_history"]) >= {"inappropriate_referral_rate", "statutory_recall"}

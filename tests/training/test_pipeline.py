"""Training and evaluating the two-stage pipeline end to end on a small sample (the full run is make model)."""

from __future__ import annotations

import json

import pytest

from training.__main__ import main
from training.generate import write_jsonl
from training.pipeline import train_pipeline
from training.stages import check_codes, consensus_level
from triage.engine.guidance import load_guidance

from .conftest import THRESHOLDS

SUMMARY_KEYS = {"screening_level4_safety", "screening_statutory_safety", "checks_share", "level4_recall",
                "statutory_recall", "historic_level4_recall", "historic_statutory_recall",
                "inappropriate_referral_rate", "historic_inappropriate_referral_rate",
                "inappropriate_referral_reduction", "expert_label", "ece_screening", "ece_after_checks",
                "macro_auc", "black_box_macro_auc", "n_test"}


@pytest.fixture(scope="module")
def pipeline_trained(tmp_path_factory, sample, floor_fn):
    root = tmp_path_factory.mktemp("pipeline")
    data = root / "contacts.jsonl"
    write_jsonl(iter(sample), data)
    codes = check_codes(load_guidance(THRESHOLDS).config.checks.agencies)
    pipe = train_pipeline(data, root / "models", "p1", seed=1, floor_fn=floor_fn, codes=codes)
    return data, root / "models", pipe


def test_training_writes_a_pipeline_and_never_touches_current(pipeline_trained):
    _, models, pipe = pipeline_trained
    assert not (models / "CURRENT").exists()
    manifest = json.loads((models / "p1" / "manifest.json").read_text())
    assert manifest["kind"] == "pipeline"
    assert manifest["rule"] == pipe.rule.as_dict()
    assert 0 < pipe.rule.check_level4 < 1 and 0 < pipe.rule.after_level3 < 1


def test_training_is_deterministic(pipeline_trained, floor_fn, tmp_path):
    data, models, _ = pipeline_trained
    codes = check_codes(load_guidance(THRESHOLDS).config.checks.agencies)
    train_pipeline(data, tmp_path, "p1", seed=1, floor_fn=floor_fn, codes=codes)
    assert (tmp_path / "p1" / "model.skops").read_bytes() == (models / "p1" / "model.skops").read_bytes()


def test_evaluate_json_last_line_holds_the_issues_figures(pipeline_trained, capsys):
    data, models, _ = pipeline_trained
    assert main(["evaluate", "--data", str(data), "--models", str(models), "--version", "p1", "--seed", "1",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary.keys() >= SUMMARY_KEYS
    assert summary["expert_label"].keys() >= {"level4_recall", "statutory_recall", "checks_share"}
    folder = models / "p1"
    assert json.loads((folder / "manifest.json").read_text())["evaluation"]["summary"] == summary
    card = (folder / "MODEL_CARD.md").read_text()
    assert "information ceiling with checks" in card and "Sensitivity" in card
    assert "## Tier 2" in (folder / "ATRS.md").read_text()


def test_the_consensus_level_is_the_reading_cut_and_floored(sample, floor_fn):
    from training.generate import LEVEL_CUTS

    record = dict(sample[0], simulation={"expert_reading": LEVEL_CUTS[1] + 0.01})
    assert consensus_level(record, 0) == 3
    assert consensus_level(record, 4) == 4
    assert consensus_level({"expert_level": 2}, 0) == 2

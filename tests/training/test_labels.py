"""``python -m training train --labels audited``: learn only from levels the quality audit set, and say so."""

from __future__ import annotations

import json

import pytest

from training import labels
from training.__main__ import main
from training.generate import write_jsonl

from .conftest import THRESHOLDS


def test_select_keeps_only_audited_records_and_drops_the_simulated_panel():
    records = [{"expert_level": 2, "label_source": "audited", "simulation": {"expert_reading": 9.0}},
               {"expert_level": 4, "label_source": "practice"}, {"expert_level": 3}]
    kept = labels.select(records, "audited")
    assert kept == [{"expert_level": 2, "label_source": "audited"}]
    assert labels.select(records, "all") is records
    assert "audited levels only: 1 of 3" in labels.describe("audited", kept, 3)
    with pytest.raises(ValueError, match="no record"):
        labels.select([{"expert_level": 4, "label_source": "practice"}], "audited")


def test_train_with_audited_labels_trains_on_them_and_the_manifest_says_so(tmp_path, sample, capsys):
    marked = []
    for i, record in enumerate(sample):
        record = dict(record)
        record["label_source"] = "audited" if i % 5 else "practice"
        marked.append(record)
    data = tmp_path / "exported.jsonl"
    write_jsonl(iter(marked), data)
    assert main(["--thresholds", str(THRESHOLDS), "train", "--data", str(data), "--models", str(tmp_path / "m"),
                 "--version", "audited-test", "--seed", "1", "--labels", "audited"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    manifest = json.loads((tmp_path / "m" / "audited-test" / "manifest.json").read_text())
    audited = sum(1 for r in marked if r["label_source"] == "audited")
    assert manifest["training_data"]["n_contacts"] == audited < len(marked)
    assert manifest["label_choice"] == "audited" and manifest["labels"].startswith("audited levels only")
    assert printed["labels"] == manifest["labels"]
    # the model card, written by evaluate from the manifest, says which labels the model learned from
    assert main(["--thresholds", str(THRESHOLDS), "evaluate", "--data", str(data), "--models", str(tmp_path / "m"),
                 "--version", "audited-test", "--seed", "1"]) == 0
    card = (tmp_path / "m" / "audited-test" / "MODEL_CARD.md").read_text()
    assert f"Trained on the audited levels only: {audited} of {len(marked)} records" in card


def test_train_with_audited_labels_and_none_in_the_data_fails_clearly(tmp_path, sample, capsys):
    data = tmp_path / "synthetic.jsonl"
    write_jsonl(iter(sample[:50]), data)
    assert main(["--thresholds", str(THRESHOLDS), "train", "--data", str(data), "--models", str(tmp_path / "m"),
                 "--labels", "audited"]) == 2
    assert "no record in the data has label_source" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()

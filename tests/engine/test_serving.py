"""The served two-stage pipeline (issue 14) behind ``Recommender``: screening, after checks, the reading.

These run the bundled model (models/CURRENT) on generated contacts: every property is checked
against the pipeline's own stages, so a recommendation can never say something its model did not.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from training.generate import generate, guidance_floor_fn
from triage.engine.classifier import ModelLoadError
from triage.engine.contract import FACTOR_CODES
from triage.engine.guidance_config import GuidanceConfigError, parse_guidance_file
from triage.engine.history import KnownHistory
from triage.engine.pipeline import Pipeline, load_pipeline
from triage.engine.recommend import load_recommender

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
THRESHOLDS = ROOT / "config" / "thresholds.yaml"
RECEIVED = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def recommender():
    rec = load_recommender({"THRESHOLDS_PATH": str(THRESHOLDS), "MODELS_DIR": str(MODELS)})
    assert isinstance(rec.model, Pipeline), rec.notes
    return rec


@pytest.fixture(scope="module")
def records():
    return list(generate(400, seed=23, floor_fn=guidance_floor_fn(THRESHOLDS)))


def _history(r: dict) -> KnownHistory:
    return KnownHistory(**(r.get("known_history") or {}))


def _screen(rec, r):
    return rec.recommend(r["contact"], received_at=RECEIVED, history=_history(r), now=RECEIVED)


def test_current_names_the_pipeline_and_screening_is_its_rule(recommender, records):
    pipe = recommender.pipeline
    assert (MODELS / "CURRENT").read_text().strip() == pipe.version == "synthetic-2026.3"
    seen = set()
    for r in records:
        out = _screen(recommender, r)
        floor = out["floor"]["level"]
        raw = pipe.screen(r["contact"], floor_level=floor, prior_marac_12m=_history(r).marac_12m, history=_history(r))
        assert out["level"] == raw["level"] >= max(floor, 1)
        assert out["probabilities"] == raw["probabilities"] and out["model_version"] == pipe.version
        assert out["next_step"] == raw["next_step"]  # the model's rule, as evaluated (level 3 may go to checks)
        if out["next_step"] == "checks":
            assert [c["agency"] for c in out["checks"]] == raw["agencies"] and out["level"] < 4
        else:
            assert out["checks"] == []
        seen.add(out["next_step"])
    assert seen == {"refer", "checks", "decide"}


def test_after_checks_the_level_and_probabilities_are_the_after_checks_models(recommender, records):
    pipe = recommender.pipeline
    moved = 0
    for r in records:
        screened = _screen(recommender, r)
        if screened["next_step"] != "checks":
            continue
        asked = [c["agency"] for c in screened["checks"]]
        answers = {a: r["checks"][a] for a in asked if a in (r.get("checks") or {})}
        after = recommender.recommend_after_checks(r["contact"], received_at=RECEIVED, answers=answers,
                                                   history=_history(r), asked=asked)
        raw = pipe.decide_after_checks(r["contact"], floor_level=screened["floor"]["level"],
                                       prior_marac_12m=_history(r).marac_12m, history=_history(r), checks=answers)
        assert after["stage"] == "after_checks" and after["checks"] == []
        if answers:
            assert after["level"] == raw["level"] >= max(screened["floor"]["level"], 1)
        else:  # nobody answered: no higher than screening (uncertainty alone never raises it)
            assert after["level"] == min(raw["level"], max(screened["level"], screened["floor"]["level"], 1))
        assert after["probabilities"] == raw["probabilities"] != screened["probabilities"]
        assert after["next_step"] == ("refer" if after["level"] >= 3 else "decide")
        contributions = after["explanation"]["contributions"]
        assert after["explanation"]["intercept"] + sum(c["contribution"] for c in contributions) == \
            pytest.approx(after["explanation"]["score"], abs=1e-9)
        moved += after["level"] != screened["level"]
    assert moved, "no contact's level was moved by its checks: the after-checks model is not being used"


def test_nothing_found_can_lower_and_findings_can_raise_but_never_below_the_floor(recommender, records):
    for r in records:
        screened = _screen(recommender, r)
        if screened["next_step"] != "checks":
            continue
        asked = [c["agency"] for c in screened["checks"]]
        codes = {a: list(recommender.checks_config.agencies[a].findings) for a in asked}
        nothing = recommender.recommend_after_checks(r["contact"], received_at=RECEIVED, history=_history(r),
                                                     answers={a: {"known": False, "findings": []} for a in asked})
        everything = recommender.recommend_after_checks(
            r["contact"], received_at=RECEIVED, history=_history(r),
            answers={a: {"known": True, "findings": codes[a]} for a in asked})
        assert max(screened["floor"]["level"], 1) <= nothing["level"] <= everything["level"]
        unanswered = recommender.recommend_after_checks(r["contact"], received_at=RECEIVED, history=_history(r),
                                                        answers={}, asked=asked)
        assert max(screened["floor"]["level"], 1) <= unanswered["level"] <= max(screened["level"], 1)
        assert unanswered["next_step"] == ("refer" if unanswered["level"] >= 3 else "decide")


def test_the_screening_reading_keeps_what_is_not_known_apart_and_its_answer_changes_hold(recommender, records):
    checked = 0
    for r in records:
        out = _screen(recommender, r)
        reading = out["reading"]
        says = {item["label"] for item in reading["says"]}
        for item in reading["not_known"]:
            assert item["label"] not in says
        for item in reading["says"]:
            assert "not known" not in item["value"]
        if out["next_step"] != "checks":
            continue
        assert any(item["label"] == "What other agencies know" for item in reading["not_known"])
        for change in reading["would_change"]:
            if change["kind"] != "check_answer" or change["agency"] is None:
                continue
            # the claim is checked against the after-checks model: some answer of that agency alone gives it
            agency = change["agency"]
            options = [{"known": False, "findings": []}, {"known": True, "findings": []}] + [
                {"known": True, "findings": [c]} for c in recommender.checks_config.agencies[agency].findings]
            levels = {recommender.recommend_after_checks(r["contact"], received_at=RECEIVED, history=_history(r),
                                                         answers={agency: o})["level"] for o in options}
            assert change["new_level"] in levels and change["new_level"] != out["level"]
            checked += 1
    assert checked


def test_after_checks_the_reading_says_what_each_agency_found(recommender, records):
    r = next(r for r in records if _screen(recommender, r)["next_step"] == "checks")
    asked = [c["agency"] for c in _screen(recommender, r)["checks"]]
    first, *rest = asked
    code, label = next(iter(recommender.checks_config.agencies[first].findings.items()))
    after = recommender.recommend_after_checks(r["contact"], received_at=RECEIVED, history=_history(r), asked=asked,
                                               answers={first: {"known": True, "findings": [code]}})
    found = after["reading"]["found"]
    assert [f["agency"] for f in found] == [first] and label in found[0]["text"]
    assert "points towards a higher level" in found[0]["text"] or "no difference" in found[0]["text"]
    missing = {item.get("agency") for item in after["reading"]["not_known"]}
    assert set(rest) <= missing
    assert label in after["checks_found"] and label in after["rationale_draft"]


def test_the_reading_is_plain_english(recommender, records):
    codes = re.compile(r"\b(" + "|".join(re.escape(c) for c in FACTOR_CODES if not c.isdigit()) + r")\b")
    for r in records[:150]:
        out = _screen(recommender, r)
        texts = [i["text"] for part in ("says", "not_known", "found", "would_change") for i in out["reading"][part]]
        for text in texts:
            assert not codes.search(text), text
            assert "log-odds" not in text and "_" not in text and "intercept" not in text, text


def test_checks_next_step_in_the_guidance_file_is_refused(tmp_path):
    """The rule's cut-offs are the model's: a guidance file that still sets them is refused, naming it."""
    text = THRESHOLDS.read_text()
    path = tmp_path / "thresholds.yaml"
    path.write_text(text.replace("  margin_hours: 2\n",
                                 "  margin_hours: 2\n  next_step:\n    check_level3: 0.1\n"))
    with pytest.raises(GuidanceConfigError, match="next_step"):
        parse_guidance_file(path)


def test_a_manifest_whose_rule_differs_from_the_model_file_is_refused(tmp_path):
    version = (MODELS / "CURRENT").read_text().strip()
    shutil.copytree(MODELS / version, tmp_path / version)
    manifest = json.loads((tmp_path / version / "manifest.json").read_text())
    manifest["rule"]["check_level4"] = 0.5
    (tmp_path / version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="rule differs"):
        load_pipeline(tmp_path, version)

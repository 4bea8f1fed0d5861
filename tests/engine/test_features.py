"""The one feature module: protected characteristics never used; service and trainer agree."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.factories import SHARED
from training.generate import generate, guidance_floor_fn
from training.train import build_dataset
from triage.engine import explain
from triage.engine import features as F
from triage.engine.guidance import load_guidance
from triage.engine.history import KnownHistory
from triage.engine.recommend import Recommender

ROOT = Path(__file__).resolve().parent.parent.parent  # the project (tests/engine/ is two below it)
THRESHOLDS = ROOT / "config" / "thresholds.yaml"
EXAMPLES = sorted((ROOT.parent / "shared" / "examples" / "contacts").glob("*.json"))


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return list(generate(300, seed=21, floor_fn=guidance_floor_fn(THRESHOLDS)))


def test_protected_characteristics_are_never_features():
    fields = {f.name for f in F.FIELDS}
    assert not fields & {"children.ethnicity", "children.sex", "children.disabled"}
    for name in F.FEATURE_NAMES:
        assert not name.lower().startswith(("ethnic", "sex", "disab", "gender")), name


def test_changing_ethnicity_sex_or_disability_changes_no_column(records):
    for r in records[:200]:
        before = F.encode(r["contact"], floor_level=2)
        other = copy.deepcopy(r["contact"])
        for child in other["children"]:
            child["ethnicity"] = "BAFR" if child.get("ethnicity") != "BAFR" else "WBRI"
            child["sex"] = "female" if child.get("sex") != "female" else "male"
            child["disabled"] = not child.get("disabled")
        assert F.encode(other, floor_level=2) == before


def test_service_path_and_trainer_build_identical_vectors(records, monkeypatch):
    """The recommender's own call of the encoder yields the trainer's matrix rows exactly."""
    floor_fn = guidance_floor_fn(THRESHOLDS)
    train_x = build_dataset(records, floor_fn).x
    seen: list[list[int]] = []
    real = F.active_columns

    def spy(values):
        cols = real(values)
        seen.append(cols)
        return cols

    monkeypatch.setattr(explain.F, "active_columns", spy)
    from triage.engine.classifier import load_model

    rec = Recommender(guidance=load_guidance(THRESHOLDS), model=load_model(ROOT / "models", "synthetic-2026.2"))
    for i, r in enumerate(records):
        received = datetime.fromisoformat(r["contact"]["received_at"])
        rec.recommend(r["contact"], received_at=received, history=KnownHistory(marac_12m=r["prior_marac_12m"]))
        assert seen[-1] == train_x[i].indices.tolist()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_encode_to_known_columns(path):
    contact = json.loads(path.read_text())
    cols = F.encode(contact, floor_level=3)
    assert cols == sorted(set(cols))
    assert all(0 <= c < F.N_FEATURES for c in cols)
    assert F.FEATURE_NAMES.index("floor>=3") in cols


def test_every_field_has_a_label_and_every_column_a_field():
    assert all(f.label for f in F.FIELDS)
    assert sorted(c for f in F.FIELDS for c in f.columns) == list(range(F.N_FEATURES))


def test_risk_columns_carry_sign_bounds():
    bounded = {c.name: c.sign for c in F.COLUMNS}
    for key in ("injured", "disclosed_harm", "strangulation", "weapon_used", "present_at_incident"):
        assert bounded[f"{key}:not_no"] == F.POS and bounded[f"{key}:unknown"] == F.NEG
    for name in ("dash_yes>=14", "incidents>=3", "referrals>=2", "floor>=4", "factor=3A"):
        assert bounded[name] == F.POS


def test_unknown_and_yes_encode_as_the_monotone_pair():
    base = {"children": [{"child_reference": "x", "injured": False}], "primary_concern": "neglect",
            "consent": "obtained", "source": {"code": "2A"}}
    no, unknown, yes = (copy.deepcopy(base) for _ in range(3))
    unknown["children"][0]["injured"] = None
    yes["children"][0]["injured"] = True
    ix = F.FEATURE_NAMES.index
    assert ix("injured:not_no") not in F.encode(no)
    assert {ix("injured:not_no"), ix("injured:unknown")} <= set(F.encode(unknown))
    assert ix("injured:not_no") in F.encode(yes) and ix("injured:unknown") not in F.encode(yes)


def _schema_enum(*path: str) -> list[str]:
    """An ``enum`` of contact-v1.schema.json, by its path of keys."""
    node = json.loads((SHARED / "spec" / "contact-v1.schema.json").read_text())
    for key in path:
        node = node[key]
    return node["enum"]


def test_the_encodings_code_lists_are_the_contracts():
    """Every contract value has its column, in the contract's order, and no column is for a value it lacks."""
    assert list(F.CONCERNS) == _schema_enum("properties", "primary_concern")
    assert list(F.FACTORS) == _schema_enum("properties", "factors", "items")
    assert list(F.CONSENTS) == _schema_enum("properties", "consent")
    assert list(F.REQUESTS) == [*_schema_enum("properties", "referrer_request"), F.NOT_GIVEN]
    child = ("properties", "children", "items", "properties")
    assert list(F.STATUSES) == [*_schema_enum(*child, "current_status"), F.NOT_GIVEN]
    assert sorted(F.SOURCE_FAMILIES) == sorted(_schema_enum("properties", "source", "properties", "code"))

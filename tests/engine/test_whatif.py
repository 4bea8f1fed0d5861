"""The what-if batch path (issue 16) gives each contact the outcome the single-contact path gives."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.guidance_cases import DEFAULT_THRESHOLDS
from training.generate import generate
from triage.engine.guidance import load_guidance
from triage.engine.history import KnownHistory
from triage.engine.recommend import Recommender, load_served
from triage.engine.whatif import ModelLoadError, load_model_version, score_batch
from triage.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "models"


def received(contact: dict) -> datetime:
    return datetime.fromisoformat(contact["received_at"].replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return list(generate(600, seed=5))


def _history(record: dict) -> KnownHistory:
    h = record["known_history"]
    return KnownHistory(**h) if isinstance(h, dict) else h


#: The served model (the two-stage pipeline), a single-stage model kept for rollback, and none.
MODELS_AND_STEPS = [("served", {"refer", "checks", "decide"}), ("synthetic-2026.2", {"refer", "decide"}),
                    (None, {"refer", "decide"})]


@pytest.mark.parametrize(("which", "expected_steps"), MODELS_AND_STEPS)
def test_the_batch_path_matches_recommend_contact_by_contact(records, which, expected_steps):
    guidance = load_guidance(DEFAULT_THRESHOLDS)
    model = load_served(MODELS) if which == "served" else load_model_version(MODELS, which) if which else None
    single = Recommender(guidance=guidance, model=model)
    contacts = [r["contact"] for r in records]
    histories = [_history(r) for r in records]
    floors = [guidance.evaluate(c, received_at=received(c), history=h).floor_level
              for c, h in zip(contacts, histories, strict=True)]
    assert floors == [guidance.floor_level(c, history=h) for c, h in zip(contacts, histories, strict=True)]
    assert set(floors) == {0, 1, 2, 3, 4} - {1} or len(set(floors)) >= 3
    batch = score_batch(model, contacts, floors, histories)
    steps = set()
    for contact, history, out in zip(contacts, histories, batch, strict=True):
        rec = single.recommend(contact, received_at=received(contact), history=history)
        assert (out.level, out.next_step, out.checks) == (rec["level"], rec["next_step"], len(rec["checks"]))
        steps.add(out.next_step)
    assert steps == expected_steps


def test_another_model_version_loads_by_name_and_a_missing_one_is_refused(records):
    assert load_model_version(MODELS, "synthetic-2026.2").version == "synthetic-2026.2"
    pipe = load_model_version(MODELS, "synthetic-2026.3")
    contacts = [r["contact"] for r in records[:200]]
    histories = [_history(r) for r in records[:200]]
    out = score_batch(pipe, contacts, [0] * 200, histories)
    for contact, history, o in zip(contacts, histories, out, strict=True):  # as the pipeline's own screen
        screened = pipe.screen(contact, floor_level=0, prior_marac_12m=history.marac_12m, history=history)
        assert (o.level, o.next_step, o.checks) == (screened["level"], screened["next_step"],
                                                    len(screened.get("agencies", [])))
    assert {o.next_step for o in out} == {"refer", "checks", "decide"}
    for bad in ("no-such-model", "../models", ""):
        with pytest.raises(ModelLoadError):
            load_model_version(MODELS, bad)

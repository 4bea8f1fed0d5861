"""Scoring many contacts at once for a what-if replay (issue 16): the batch path, plain Python.

A what-if run replays a window of contacts through a draft of the threshold guidance and the
model in use (or another), and compares the outcome with what the service recommended. Each
contact's guidance result comes from ``Guidance.evaluate`` (the same code as intake); the model
part is scored in one matrix product per chunk (``features.encode_many``, ``logits_batch``) with
the same level and next-step rules as the single-contact path:

* a features-v1 model (``OrdinalModel``, a rollback): the level the evidence supports (the highest
  k with P(level >= k) >= ``explain.EVIDENCE``, never below the floor) and refer or decide
  (``screening.next_step_without_checks``), as ``Recommender.recommend`` does for such a model;
* a two-stage pipeline (``Pipeline``): its screening model's level and ``next_steps_batch``, and
  the agencies its ``agencies_batch`` names;
* no model: the guidance floor (at least 1) and never checks, as rules-only mode does.

Plain Python, no Flask or database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from triage.engine import features as F
from triage.engine import screening
from triage.engine.classifier import (
    ModelLoadError,
    OrdinalModel,
    from_estimators,
    load_payload,
    probabilities_batch,
)
from triage.engine.explain import EVIDENCE
from triage.engine.history import KnownHistory

__all__ = ["BatchOutcome", "ModelLoadError", "load_model_version", "score_batch"]


@dataclass(frozen=True)
class BatchOutcome:
    """One contact's screening outcome: level, next step and how many agencies it would ask."""

    level: int
    next_step: str
    checks: int


def load_model_version(models_dir: str | Path, version: str) -> Any:
    """A model by its version folder (checked as at start-up): an ``OrdinalModel`` or a ``Pipeline``."""
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise ModelLoadError(f"not a model version: {version!r}")
    folder = Path(models_dir) / version
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"there is no model {version!r} in {models_dir}") from exc
    if manifest.get("kind") == "pipeline":
        from triage.engine.pipeline import load_pipeline

        return load_pipeline(models_dir, version)
    manifest, payload, _ = load_payload(folder)
    if not isinstance(payload, dict) or "estimators" not in payload:
        raise ModelLoadError(f"{version}: the model file does not hold the expected estimators")
    return from_estimators(version, payload, manifest)


def model_version(model: Any) -> str:
    return getattr(model, "version", None) or "rules-only"


def score_batch(model: Any, contacts: Sequence[dict], floors: Sequence[int],
                histories: Sequence[KnownHistory]) -> list[BatchOutcome]:
    """The screening outcome of each contact, given its guidance floor and the store's history."""
    if not contacts:
        return []
    if model is None:
        return [BatchOutcome(max(f, 1), screening.next_step_without_checks(max(f, 1)), 0) for f in floors]
    if isinstance(model, OrdinalModel):
        return _ordinal(model, contacts, floors, histories)
    return _pipeline(model, contacts, floors, histories)


def _ordinal(model: OrdinalModel, contacts: Sequence[dict], floors: Sequence[int],
             histories: Sequence[KnownHistory]) -> list[BatchOutcome]:
    probs = probabilities_batch(model.logits_batch(F.encode_many(contacts, floors, histories)))
    # P(level >= k) for k = 2..4, summed as explain.evidence_level sums them
    ge = {k: probs[:, k - 1:].sum(axis=1) for k in (2, 3, 4)}
    level = np.ones(len(contacts), dtype=np.int64)
    for k in (2, 3, 4):
        level[ge[k] >= EVIDENCE] = k
    level = np.maximum(level, np.maximum(np.asarray(floors, dtype=np.int64), 1))
    return [BatchOutcome(int(lv), screening.next_step_without_checks(int(lv)), 0) for lv in level]


def _encode_set(fs: F.FeatureSet, contacts: Sequence[dict], floors: Sequence[int],
                histories: Sequence[KnownHistory], checks: dict | None = None) -> sparse.csr_matrix:
    indices: list[int] = []
    indptr = [0]
    for contact, floor, history in zip(contacts, floors, histories, strict=True):
        v = fs.values(contact, floor_level=floor, prior_marac_12m=history.marac_12m, history=history, checks=checks)
        indices.extend(fs.active(v))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    return sparse.csr_matrix((data, np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int64)),
                             shape=(len(contacts), fs.n_features))


def _pipeline(pipe: Any, contacts: Sequence[dict], floors: Sequence[int],
              histories: Sequence[KnownHistory]) -> list[BatchOutcome]:
    from triage.engine.pipeline import next_steps_batch

    logits = pipe.screening.logits_batch(_encode_set(pipe.screening_set, contacts, floors, histories))
    level = np.maximum(pipe.screening.levels_batch(logits), np.maximum(np.asarray(floors, dtype=np.int64), 1))
    steps = next_steps_batch(level, logits, pipe.rule)
    asked = [i for i, s in enumerate(steps) if s == "checks"]
    counts = dict.fromkeys(asked, 0)
    if asked:
        base = pipe.after_checks.logits_batch(_encode_set(
            pipe.after_set, [contacts[i] for i in asked], [floors[i] for i in asked],
            [histories[i] for i in asked], checks={}))
        for i, named in zip(asked, pipe.agencies_batch(base), strict=True):
            counts[i] = sum(named.values())
    return [BatchOutcome(int(level[i]), str(steps[i]), counts.get(i, 0)) for i in range(len(contacts))]

"""Loading the bundled classifier safely, and scoring contacts fast.

The artifact (``models/<version>/model.skops``) holds three fitted scikit-learn
``LogisticRegression`` estimators, one per ordinal question "is the level k or above?" (k = 2, 3,
4), over the 0/1 columns of ``triage.features``. Loading checks, in order: ``models/CURRENT`` names
a version; the manifest's SHA-256 matches the file; the file holds only allow-listed types (skops,
never pickle); the feature list matches this code's. Any failure raises ``ModelLoadError`` and the
service falls back to rules-only recommendations.

Scoring does not go through scikit-learn: the coefficients are copied into numpy arrays once, and
a contact's score is the intercept plus the sum of the weights of its active columns. That is the
same number ``LogisticRegression.decision_function`` gives (a test proves it) at a fraction of the
cost, and it is what makes every score add up exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from triage.engine.features import FEATURE_NAMES

ORDINAL_KS = (2, 3, 4)
ARTIFACT_NAME = "model.skops"
# The only types a model file may contain. Anything else means a tampered or foreign file.
TRUSTED_TYPES = (
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.ndarray",
    "numpy.dtype",
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.float",
    "builtins.int",
)
SCALE = ("log-odds that the threshold level is L or above, where L is the recommended level "
         "(L = 2 when the recommendation is level 1)")


# Verified models by (file, SHA-256): an app factory called once per test need not re-parse the
# same bytes. The hash is still checked on every load, so a changed file is never served from here.
_LOADED: dict[tuple[str, str], OrdinalModel] = {}


class ModelLoadError(RuntimeError):
    """The bundled model could not be loaded safely; the service must run rules-only."""


@dataclass(frozen=True)
class Scored:
    """One contact's classifier output before the guidance floor is applied."""

    logits: tuple[float, float, float]          # log-odds of level >= 2, >= 3, >= 4
    probabilities: dict[str, float]             # P(level = k), k = "1".."4"
    model_level: int                            # the decision rule's level (floor not applied)


@dataclass(frozen=True)
class OrdinalModel:
    """Three additive "level >= k" scores and the decision rule that turns them into a level."""

    version: str
    weights: np.ndarray        # shape (3, n_features): rows for k = 2, 3, 4
    intercepts: np.ndarray     # shape (3,)
    thresholds: np.ndarray     # shape (3,): P(level >= k) needed to recommend level k
    estimators: dict[str, Any]
    manifest: dict

    @property
    def logit_thresholds(self) -> np.ndarray:
        return np.log(self.thresholds / (1.0 - self.thresholds))

    @cached_property
    def column_weights(self) -> list[tuple[float, float, float]]:
        """Each column's three weights as plain floats: adding a few dozen in Python beats numpy calls."""
        return [(float(a), float(b), float(c)) for a, b, c in self.weights.T]

    @cached_property
    def _cuts(self) -> tuple[float, float, float]:
        return tuple(float(c) for c in self.logit_thresholds)

    def score(self, active: list[int]) -> Scored:
        """Score one encoded contact (``triage.features.encode``)."""
        z2, z3, z4 = (float(b) for b in self.intercepts)
        cols = self.column_weights
        for j in active:
            a, b, c = cols[j]
            z2 += a
            z3 += b
            z4 += c
        logits = (z2, z3, z4)
        level = 1
        for i, cut in enumerate(self._cuts):
            if logits[i] >= cut:
                level = i + 2
        return Scored(logits, _probabilities(logits), level)

    def logits_batch(self, x: sparse.csr_matrix | np.ndarray) -> np.ndarray:
        """Scores for many encoded contacts at once: shape (n, 3)."""
        return np.asarray(x @ self.weights.T) + self.intercepts

    def levels_batch(self, logits: np.ndarray) -> np.ndarray:
        """The decision rule on a batch (the guidance floor is applied by the caller)."""
        passed = logits >= self.logit_thresholds
        level = np.ones(len(logits), dtype=np.int64)
        for i in range(3):
            level[passed[:, i]] = i + 2
        return level


def probabilities_batch(logits: np.ndarray) -> np.ndarray:
    """P(level = 1..4) from cumulative scores, with P(>=k) made non-increasing in k."""
    ge = 1.0 / (1.0 + np.exp(-logits))
    ge = np.minimum.accumulate(ge, axis=1)
    one = np.ones((len(ge), 1))
    zero = np.zeros((len(ge), 1))
    cum = np.hstack([one, ge, zero])
    return cum[:, :-1] - cum[:, 1:]


def _probabilities(logits: tuple[float, float, float]) -> dict[str, float]:
    ge2, ge3, ge4 = (1.0 / (1.0 + math.exp(-z)) for z in logits)
    ge3 = min(ge3, ge2)
    ge4 = min(ge4, ge3)
    return {"1": 1.0 - ge2, "2": ge2 - ge3, "3": ge3 - ge4, "4": ge4}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def from_estimators(version: str, payload: dict, manifest: dict,
                    feature_names: tuple[str, ...] = FEATURE_NAMES) -> OrdinalModel:
    """Copy the fitted estimators' coefficients into the fast scorer, checking their shape.

    ``feature_names`` is the column layout this code builds for the model's feature set (features-v1
    unless the manifest names another, see ``triage.engine.pipeline``).
    """
    estimators = payload["estimators"]
    if list(payload["feature_names"]) != list(feature_names):
        raise ModelLoadError("the model was trained on a different feature set than this code builds")
    rows, intercepts = [], []
    for k in ORDINAL_KS:
        est = estimators[f"level_ge_{k}"]
        coef = np.asarray(est.coef_, dtype=np.float64).reshape(-1)
        if coef.shape[0] != len(feature_names):
            raise ModelLoadError(f"level_ge_{k} has {coef.shape[0]} coefficients, expected {len(feature_names)}")
        rows.append(coef)
        intercepts.append(float(np.asarray(est.intercept_).reshape(-1)[0]))
    thresholds = np.asarray(payload["thresholds"], dtype=np.float64)
    if thresholds.shape != (3,) or not np.all((thresholds > 0) & (thresholds < 1)):
        raise ModelLoadError("the decision thresholds are missing or out of range")
    return OrdinalModel(version, np.vstack(rows), np.asarray(intercepts), thresholds, estimators, manifest)


def current_version(models_dir: str | Path) -> str:
    """The version ``models/CURRENT`` names; ``ModelLoadError`` if it names none, or a path."""
    try:
        version = (Path(models_dir) / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ModelLoadError(f"{type(exc).__name__}: {exc}") from exc
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise ModelLoadError(f"models/CURRENT does not name a version: {version!r}")
    return version


def load_model(models_dir: str | Path, version: str | None = None) -> OrdinalModel:
    """Load a features-v1 model (the version ``models/CURRENT`` names unless ``version`` is given).

    Raises ``ModelLoadError`` on any doubt. A two-stage pipeline version is loaded by
    ``triage.engine.pipeline.load_pipeline``; ``triage.engine.recommend.load_served`` picks the loader.
    """
    root = Path(models_dir)
    if version is None:
        version = current_version(root)
    elif not version or "/" in version or "\\" in version or version.startswith("."):
        raise ModelLoadError(f"not a model version: {version!r}")
    folder = root / version
    artifact = folder / ARTIFACT_NAME
    try:  # a verified model already in memory: the hash is still checked on every load
        cached = _LOADED.get((str(artifact.resolve()), sha256_file(artifact)))
        if cached is not None and cached.manifest == json.loads((folder / "manifest.json").read_text("utf-8")):
            return cached
    except (OSError, ValueError):
        pass  # load_payload reports it
    manifest, payload, digest = load_payload(folder)
    if not isinstance(payload, dict) or "estimators" not in payload:
        raise ModelLoadError("the model file does not hold the expected estimators")
    model = from_estimators(version, payload, manifest)
    _LOADED[(str(artifact.resolve()), digest)] = model
    return model


def load_payload(folder: Path) -> tuple[dict, Any, str]:
    """A version folder's manifest and artifact, checked: SHA-256 as the manifest says, allow-listed types only."""
    try:
        import skops.io as sio
    except ImportError as exc:  # pragma: no cover - skops is a pinned runtime dependency
        raise ModelLoadError("skops is not installed") from exc
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        artifact = folder / ARTIFACT_NAME
        digest = sha256_file(artifact)
        if digest != manifest.get("sha256"):
            raise ModelLoadError(f"{artifact} does not match the SHA-256 in its manifest")
        untrusted = [t for t in sio.get_untrusted_types(file=artifact) if t not in TRUSTED_TYPES]
        if untrusted:
            raise ModelLoadError(f"{artifact} holds types outside the allow-list: {untrusted}")
        payload = sio.load(artifact, trusted=list(TRUSTED_TYPES))
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read means rules-only, with the reason
        raise ModelLoadError(f"{type(exc).__name__}: {exc}") from exc
    return manifest, payload, digest

"""The two-stage model (issue 14): screen the contact, ask agencies when it cannot be settled, then decide.

Why two stages: about one level-4 decision in ten shows no sign in the contact; what settles it is
what other agencies know. A first-look score that must not miss those children refers most
contacts "as a precaution". Here uncertainty becomes checks, never a higher level:

* screening: contact + the front door's own records (``KnownHistory``), scored by an additive,
  sign-constrained ordinal model (``screening-v2`` columns). ``level`` is the level the evidence
  supports (P(level >= k) >= 0.5, never below the guidance floor); ``next_step`` is
  ``checks`` when a higher level is not ruled out (P(level >= 4) or P(level >= 3) above the tuned
  safety cut-offs), else ``refer`` at level 3+, else ``decide``;
* after checks: + each asked agency's answer (``after-checks-v2`` columns); the level is the rule
  tuned for the pipeline's recall targets, never below the floor.

Both stages explain exactly as ``triage.engine.explain`` does: intercept + per-field contributions
= score. The rule is here; its cut-offs are in the model file (the manifest repeats them, and
``load_pipeline`` refuses a manifest that disagrees), nowhere else. A model version is a pipeline
when its manifest says ``"kind": "pipeline"``; ``triage.engine.recommend.load_served`` serves it
when ``models/CURRENT`` names it (synthetic-2026.3), or a features-v1 model as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from triage.engine import features as F
from triage.engine.classifier import (
    ARTIFACT_NAME,
    ModelLoadError,
    OrdinalModel,
    from_estimators,
    load_payload,
    sha256_file,
)
from triage.engine.explain import explanation, level_by_rule, what_would_change

STAGES = ("screening", "after_checks")
NEXT_STEPS = ("refer", "checks", "decide")
EVIDENCE = 0.5   # P(level >= k) at which the evidence so far supports level k


@dataclass(frozen=True)
class Rule:
    """The cut-offs (probabilities) of the next-step and level rules, tuned on validation households."""

    check_level4: float   # screening: P(level >= 4) at or above which level 4 is not ruled out
    check_level3: float   # screening: P(level >= 3) at or above which level 3 is not ruled out
    after_level4: float   # after checks: P(level >= 4) needed to recommend level 4
    after_level3: float   # after checks: P(level >= 3) needed to recommend level 3

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class Pipeline:
    """The screening and after-checks models, their feature sets and the rule."""

    version: str
    screening: OrdinalModel
    after_checks: OrdinalModel
    screening_set: F.FeatureSet
    after_set: F.FeatureSet
    rule: Rule
    manifest: dict

    # ---- one contact -------------------------------------------------------------------------

    def screen(self, contact: dict, *, floor_level: int, prior_marac_12m: bool = False,
               history: Any = None, level_names: dict[int, str] | None = None) -> dict:
        """Screening: level so far, next step, the agencies to ask, and the explanation.

        Also ``values`` (the fields as read), ``what_would_change`` (the single change to the
        contact that moves the level) and, when the step is checks, ``answer_outcomes``: per agency
        to ask, each answer it could give and the after-checks level that answer alone would give.
        """
        v = self.screening_set.values(contact, floor_level=floor_level, prior_marac_12m=prior_marac_12m,
                                      history=history)
        active = self.screening_set.active(v)
        scored = self.screening.score(active)
        level = max(scored.model_level, floor_level, 1)
        step = next_step(level, scored.logits, self.rule)
        out = {"stage": "screening", "level": level, "next_step": step,
               "probabilities": scored.probabilities,
               "explanation": explain(self.screening, self.screening_set, v, active, level),
               "values": v,
               "what_would_change": what_would_change(self.screening, v, active, scored, floor_level, level_names,
                                                      cuts=[float(c) for c in self.screening.logit_thresholds])}
        if step == "checks":
            out["agencies"] = self.agencies_to_ask(contact, floor_level=floor_level,
                                                   prior_marac_12m=prior_marac_12m, history=history)
            out["answer_outcomes"] = self.answer_outcomes(contact, out["agencies"], floor_level=floor_level,
                                                          prior_marac_12m=prior_marac_12m, history=history)
        return out

    def decide_after_checks(self, contact: dict, *, floor_level: int, prior_marac_12m: bool = False,
                            history: Any = None, checks: dict[str, dict] | None = None,
                            level_names: dict[int, str] | None = None) -> dict:
        """After checks: the level on the contact, the records and what the asked agencies found."""
        v = self.after_set.values(contact, floor_level=floor_level, prior_marac_12m=prior_marac_12m,
                                  history=history, checks=checks or {})
        active = self.after_set.active(v)
        scored = self.after_checks.score(active)
        level = max(scored.model_level, floor_level, 1)
        return {"stage": "after_checks", "level": level, "next_step": "refer" if level >= 3 else "decide",
                "probabilities": scored.probabilities,
                "explanation": explain(self.after_checks, self.after_set, v, active, level),
                "values": v,
                "what_would_change": what_would_change(self.after_checks, v, active, scored, floor_level,
                                                       level_names, cuts=[float(c) for c in self.after_checks.logit_thresholds])}

    def answer_outcomes(self, contact: dict, agencies: list[str], *, floor_level: int,
                        prior_marac_12m: bool = False, history: Any = None) -> dict[str, list[tuple[dict, int]]]:
        """For each agency, every answer it could give (not known; known with nothing; each finding)
        and the after-checks level that answer alone gives, the other agencies not yet in."""
        v = self.after_set.values(contact, floor_level=floor_level, prior_marac_12m=prior_marac_12m,
                                  history=history, checks={})
        base = self.after_checks.score(self.after_set.active(v)).logits
        cols = self.after_checks.column_weights
        ix = self.after_set.index
        out: dict[str, list[tuple[dict, int]]] = {}
        for agency in agencies:
            codes = self.after_set.agencies.get(agency, ())
            answers = [{"known": False, "findings": []}, {"known": True, "findings": []}]
            answers += [{"known": True, "findings": [code]} for code in codes]
            pairs = []
            for answer in answers:
                delta = [-w for w in cols[ix[f"{agency}:not_asked"]]]
                if answer["known"]:
                    for name in (f"{agency}:known", *(f"{agency}:{c}" for c in answer["findings"])):
                        delta = [d + w for d, w in zip(delta, cols[ix[name]], strict=True)]
                logits = [b + d for b, d in zip(base, delta, strict=True)]
                pairs.append((answer, max(level_by_rule(logits, [float(c) for c in self.after_checks.logit_thresholds]), floor_level, 1)))
            out[agency] = pairs
        return out

    def agencies_to_ask(self, contact: dict, *, floor_level: int, prior_marac_12m: bool = False,
                        history: Any = None) -> list[str]:
        """The agencies whose answer could change the after-checks level, most influential first."""
        v = self.after_set.values(contact, floor_level=floor_level, prior_marac_12m=prior_marac_12m,
                                  history=history, checks={})
        base = np.asarray(self.after_checks.score(self.after_set.active(v)).logits)[None, :]
        chosen = self.agencies_batch(base)[0]
        return [a for a in self.after_set.agencies if chosen[a]]

    # ---- many contacts (training and evaluation use the same rule) ---------------------------

    @cached_property
    def agency_ranges(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per agency, the least and most its answer can move each score, against "not asked"."""
        w = self.after_checks.weights
        ix = self.after_set.index
        out = {}
        for agency, codes in self.after_set.agencies.items():
            not_asked = w[:, ix[f"{agency}:not_asked"]]
            known = w[:, ix[f"{agency}:known"]]
            findings = sum((w[:, ix[f"{agency}:{c}"]] for c in codes), np.zeros(3))
            low = np.minimum(0.0, known) - not_asked          # not known, or known with nothing recorded
            high = np.maximum(0.0, known + findings) - not_asked
            out[agency] = (low, high)
        return out

    def agencies_batch(self, base_logits: np.ndarray) -> list[dict[str, bool]]:
        """For each row scored with no agency asked: which agencies' answers straddle a level cut-off.

        An agency is named when one of its possible answers puts a score on one side of a cut-off
        and another answer on the other side: its answer could change the level. When no single
        agency could, the one whose answer moves the scores most is named, so checks always ask.
        """
        cuts = self.after_checks.logit_thresholds
        ranges = self.agency_ranges
        named = {a: np.any((base_logits + lo < cuts) & (base_logits + hi >= cuts), axis=1)
                 for a, (lo, hi) in ranges.items()}
        spread = {a: float(np.sum(hi - lo)) for a, (lo, hi) in ranges.items()}
        widest = max(spread, key=spread.get)
        none = ~np.any(np.stack(list(named.values()), axis=1), axis=1)
        named[widest] = named[widest] | none
        return [{a: bool(named[a][i]) for a in ranges} for i in range(len(base_logits))]


def next_step(level: int, logits: tuple[float, float, float] | np.ndarray, rule: Rule) -> str:
    """refer / checks / decide from the screening level (floor applied) and the screening scores."""
    p4 = 1.0 / (1.0 + np.exp(-logits[2]))
    p3 = 1.0 / (1.0 + np.exp(-logits[1]))
    if (level < 4 and p4 >= rule.check_level4) or (level < 3 and p3 >= rule.check_level3):
        return "checks"
    return "refer" if level >= 3 else "decide"


def next_steps_batch(levels: np.ndarray, logits: np.ndarray, rule: Rule) -> np.ndarray:
    """``next_step`` for many contacts: an array of "refer", "checks", "decide"."""
    p = 1.0 / (1.0 + np.exp(-logits))
    checks = ((levels < 4) & (p[:, 2] >= rule.check_level4)) | ((levels < 3) & (p[:, 1] >= rule.check_level3))
    return np.where(checks, "checks", np.where(levels >= 3, "refer", "decide"))


def explain(model: OrdinalModel, fs: F.FeatureSet, values: dict[str, Any], active: list[int], level: int) -> dict:
    """The explanation object for ``level`` (``triage.engine.explain``): intercept + contributions = score."""
    return explanation(model, values, active, level, feature_set=fs)


def from_payload(version: str, payload: dict, manifest: dict) -> Pipeline:
    """Build the pipeline from an artifact's payload, rebuilding its feature sets from the manifest."""
    sets = manifest.get("feature_sets") or {}
    if sets.get("screening") != F.SCREENING_SET or sets.get("after_checks") != F.AFTER_CHECKS_SET:
        raise ModelLoadError(f"feature sets {sets} are not ones this code builds")
    # [agency, [codes]] pairs: the order of the columns, which a JSON object with sorted keys would lose
    codes = {a: tuple(c) for a, c in manifest.get("check_codes") or []}
    screening_set = F.feature_set(F.SCREENING_SET)
    after_set = F.feature_set(F.AFTER_CHECKS_SET, codes)
    screening = from_estimators(version, payload["screening"], manifest, screening_set.names)
    after = from_estimators(version, payload["after_checks"], manifest, after_set.names)
    rule = Rule(**{k: float(v) for k, v in payload["rule"].items()})
    return Pipeline(version, screening, after, screening_set, after_set, rule, manifest)


# Verified pipelines by (file, SHA-256), as ``classifier._LOADED``: the hash is still checked on every load.
_LOADED: dict[tuple[str, str], Pipeline] = {}


def load_pipeline(models_dir: str | Path, version: str) -> Pipeline:
    """Load a pipeline version (hash and allow-list checked); ``ModelLoadError`` on any doubt.

    The rule's cut-offs are the model file's (tuned with these weights, on validation households):
    the one source of truth. The manifest repeats them for people to read, and a manifest whose
    ``rule`` differs from the file's is refused, so the two can never disagree.
    """
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise ModelLoadError(f"not a model version: {version!r}")
    folder = Path(models_dir) / version
    artifact = folder / ARTIFACT_NAME
    try:
        cached = _LOADED.get((str(artifact.resolve()), sha256_file(artifact)))
        if cached is not None and cached.manifest == json.loads((folder / "manifest.json").read_text("utf-8")):
            return cached
    except (OSError, ValueError):
        pass  # load_payload reports it
    manifest, payload, digest = load_payload(folder)
    if manifest.get("kind") != "pipeline" or not isinstance(payload, dict) or "screening" not in payload:
        raise ModelLoadError(f"{version} is not a two-stage pipeline model")
    try:
        pipe = from_payload(version, payload, manifest)
    except (KeyError, TypeError) as exc:
        raise ModelLoadError(f"{version}: the pipeline file is incomplete ({exc})") from exc
    if "rule" in manifest and {k: float(v) for k, v in manifest["rule"].items()} != pipe.rule.as_dict():
        raise ModelLoadError(f"{version}: the manifest's rule differs from the model file's")
    _LOADED[(str(artifact.resolve()), digest)] = pipe
    return pipe


def is_pipeline(models_dir: str | Path, version: str) -> bool:
    """Whether a version's manifest says it is a two-stage pipeline (read before choosing the loader)."""
    try:
        manifest = json.loads((Path(models_dir) / version / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == "pipeline"

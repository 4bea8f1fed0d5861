"""The recommendation step called at intake: threshold guidance first, then the classifier.

This is the seam between the service and the domain. ``Recommender.recommend`` is plain
Python (no Flask) and returns the ``recommendation`` object of the spec (section 2). The
intake stores the contact even when this step fails; see ``triage/intake.py``.

Until a classifier is loaded the level is the guidance's floor (at least 1, Universal) and the
mode is ``rules_only``. With the classifier the level is the one the evidence supports (never
below the floor); a higher level it cannot rule out becomes ``next_step: "checks"``
(``triage.engine.screening``), never a higher level "as a precaution". After the checks,
``recommend_after_checks`` scores the contact again on what the agencies found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from triage.engine import screening
from triage.engine.classifier import ModelLoadError, load_model
from triage.engine.explain import explanation_for, score_and_explain
from triage.engine.guidance import Guidance, GuidanceResult, load_guidance
from triage.engine.guidance_config import ChecksConfig
from triage.engine.history import UNKNOWN, KnownHistory
from triage.engine.rationale import draft_rationale, drafts_by_level

RULES_ONLY = "rules-only"
RULES_ONLY_NOTE = ("No classifier is loaded: this recommendation comes from the threshold guidance's "
                   "rules alone, without probabilities or an explanation.")


@dataclass
class Recommender:
    """Holds the council's guidance and (when one loads) the bundled model."""

    guidance: Guidance
    model: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def checks_config(self) -> ChecksConfig:
        return self.guidance.config.checks

    def recommend(self, contact: dict, *, received_at: datetime, history: KnownHistory = UNKNOWN,
                  now: datetime | None = None) -> dict:
        """The spec's screening ``recommendation`` for a schema-valid contact (stage "screening")."""
        result = self.guidance.evaluate(contact, received_at=received_at, history=history)
        rec, inputs = self._scored(contact, result, history)
        step = screening.next_step(inputs, self.checks_config.next_step)
        checks = []
        if step == "checks":
            checks = screening.planned_checks(contact, urgency=rec["urgency"], now=now or datetime.now(timezone.utc),
                                              decision_due_at=result.decision_due_at, config=self.checks_config)
        rec.update(next_step=step, stage="screening", checks=checks)
        return rec

    def recommend_after_checks(self, contact: dict, *, received_at: datetime, answers: dict[str, dict],
                               history: KnownHistory = UNKNOWN) -> dict:
        """The recommendation again, on what the checks found (stage "after_checks").

        ``answers``: agency -> ``{"known": bool, "findings": [codes]}`` for each agency that
        answered in time or late; an agency absent from it did not answer.
        """
        result = self.guidance.evaluate(contact, received_at=received_at, history=history)
        rec, inputs = self._scored(contact, result, history)
        level = screening.level_after_checks(inputs, answers, self.checks_config.next_step)
        found = [self.checks_config.finding_label(a, code) for a, code in screening.findings_of(answers)]
        if level != inputs.level:
            rec, _ = self._scored(contact, result, history, level=level, found=found)
        elif found:
            rec = self._with_found(rec, result, found)
        rec.update(next_step=screening.next_step_after_checks(level), stage="after_checks", checks=[],
                   checks_found=found)
        return rec

    def _scored(self, contact: dict, result: GuidanceResult, history: KnownHistory, *, level: int | None = None,
                found: list[str] | None = None) -> tuple[dict, screening.ScreeningInputs]:
        """The recommendation at the level the evidence supports (or ``level``), and the rule's inputs."""
        floor = result.floor_level
        if self.model is None:
            chosen = level or max(floor, 1)
            rec = self._assemble(result, chosen, found=found)
            rec["note"] = RULES_ONLY_NOTE
            return rec, screening.ScreeningInputs(max(floor, 1), floor, None)
        names = {n: v["name"] for n, v in self.guidance.levels.items()}
        out = score_and_explain(self.model, contact, floor_level=floor, history=history,
                                level_names=names, evidence=self.checks_config.next_step.evidence)
        inputs = screening.ScreeningInputs(out["level"], floor, screening.at_least(out["probabilities"]))
        chosen = level or out["level"]
        if chosen != out["level"]:
            out["explanation"] = explanation_for(self.model, contact, floor, history, chosen)
        rec = self._assemble(result, chosen, probabilities=out["probabilities"], explanation=out["explanation"],
                             model_version=self.model.version, mode="model", model_reasons=out["reasons"],
                             found=found)
        rec["what_would_change"] = out["what_would_change"]
        return rec, inputs

    def _with_found(self, rec: dict, result: GuidanceResult, found: list[str]) -> dict:
        """The drafts again, citing what the checks found (the level is unchanged)."""
        names = {n: v["name"] for n, v in self.guidance.levels.items()}
        reasons = tuple(found)
        rec["rationale_draft"] = draft_rationale(result, level=rec["level"], level_names=names,
                                                 check_findings=reasons)
        rec["rationale_drafts"] = drafts_by_level(result, recommended_level=rec["level"], level_names=names,
                                                  check_findings=reasons)
        return rec

    def _assemble(self, result: GuidanceResult, level: int, *, probabilities: dict | None = None,
                  explanation: dict | None = None, model_version: str = RULES_ONLY,
                  mode: str = "rules_only", model_reasons: tuple[str, ...] = (),
                  found: list[str] | None = None) -> dict:
        """Lay out the recommendation in the contract's field names."""
        names = {n: v["name"] for n, v in self.guidance.levels.items()}
        return {
            "level": level,
            "level_name": names[level],
            "probabilities": probabilities,
            "floor": {"level": result.floor_level, "indicators": list(result.floor_indicators)},
            "indicators": result.indicators,
            "explanation": explanation,
            "marac": result.marac,
            "dash": result.dash,
            "consent": result.consent_position(level),
            "information_gaps": result.information_gaps,
            "urgency": result.urgency(level),
            "model_version": model_version,
            "guidance_version": self.guidance.config.label,
            "guidance_sha256": self.guidance.config.sha256,
            "rationale_draft": draft_rationale(result, level=level, level_names=names,
                                               model_reasons=model_reasons, check_findings=tuple(found or ())),
            "rationale_drafts": drafts_by_level(result, recommended_level=level, level_names=names,
                                                model_reasons=model_reasons, check_findings=tuple(found or ())),
            "decision_due_at": result.decision_due_at.astimezone(timezone.utc).isoformat(),
            "mode": mode,
        }


def load_recommender(config: dict) -> Recommender:
    """Build the recommender for an app config. A broken guidance file stops start-up.

    ``GuidanceConfigError`` propagates on purpose: triaging children against guidance the
    service could not read is worse than not starting.
    """
    recommender = Recommender(guidance=load_guidance(config["THRESHOLDS_PATH"]))
    models_dir = config.get("MODELS_DIR")
    try:
        if not models_dir:
            raise ModelLoadError("no MODELS_DIR is configured")
        recommender.model = load_model(models_dir)
    except ModelLoadError as exc:
        # Any doubt about the model file means rules-only recommendations; intake keeps working.
        recommender.notes.append(f"classifier not loaded, rules-only: {exc}")
    return recommender

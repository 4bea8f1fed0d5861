"""The recommendation step called at intake: threshold guidance first, then the model.

This is the seam between the service and the domain. ``Recommender.recommend`` is plain
Python (no Flask) and returns the ``recommendation`` object of the spec (sections 2 and 10). The
intake stores the contact even when this step fails; see ``triage/services/intake.py``.

The served model is the one ``models/CURRENT`` names (``load_served``):

* a two-stage pipeline (``triage.engine.pipeline``, issue 14; synthetic-2026.3): screening gives
  the level the evidence supports (never below the guidance floor) and ``next_step``; a higher
  level it cannot rule out becomes ``checks`` with the agencies whose answers could change it,
  never a higher level "as a precaution". After the checks, ``recommend_after_checks`` asks the
  after-checks model for the level on what the agencies found, with its own probabilities. The
  rule's cut-offs are the model file's (tuned with its weights), nowhere else;
* a features-v1 classifier (synthetic-2026.1/2, kept for rolling back): the level the evidence
  supports, and ``refer`` or ``decide`` only: it cannot say what checks would add;
* none: the guidance's floor (at least 1, Universal), mode ``rules_only``.

Every model recommendation carries ``reading`` (``triage.engine.reading``): what the contact
says, what is not known, what checks found and what would change it, in plain English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from triage.engine import screening
from triage.engine.classifier import ModelLoadError, OrdinalModel, current_version, load_model
from triage.engine.explain import EVIDENCE, main_reasons, score_and_explain
from triage.engine.guidance import Guidance, GuidanceResult, load_guidance
from triage.engine.guidance_config import ChecksConfig
from triage.engine.history import UNKNOWN, KnownHistory
from triage.engine.pipeline import Pipeline, is_pipeline, load_pipeline
from triage.engine.rationale import draft_rationale, drafts_by_level
from triage.engine.reading import reading

RULES_ONLY = "rules-only"
RULES_ONLY_NOTE = ("No classifier is loaded: this recommendation comes from the threshold guidance's "
                   "rules alone, without probabilities or an explanation.")


@dataclass
class Recommender:
    """Holds the council's guidance and (when one loads) the served model."""

    guidance: Guidance
    model: OrdinalModel | Pipeline | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def checks_config(self) -> ChecksConfig:
        return self.guidance.config.checks

    @property
    def pipeline(self) -> Pipeline | None:
        return self.model if isinstance(self.model, Pipeline) else None

    @property
    def level_names(self) -> dict[int, str]:
        return {n: v["name"] for n, v in self.guidance.levels.items()}

    def recommend(self, contact: dict, *, received_at: datetime, history: KnownHistory = UNKNOWN,
                  now: datetime | None = None) -> dict:
        """The spec's screening ``recommendation`` for a schema-valid contact (stage "screening")."""
        result = self.guidance.evaluate(contact, received_at=received_at, history=history)
        if self.pipeline is not None:
            return self._screened(contact, result, history, now or datetime.now(timezone.utc))
        rec = self._scored(contact, result, history)
        rec.update(next_step=screening.next_step_without_checks(rec["level"]), stage="screening", checks=[])
        return rec

    def recommend_after_checks(self, contact: dict, *, received_at: datetime, answers: dict[str, dict],
                               history: KnownHistory = UNKNOWN, asked: list[str] | None = None) -> dict:
        """The recommendation again, on what the checks found (stage "after_checks").

        ``answers``: agency -> ``{"known": bool, "findings": [codes]}`` for each agency that
        answered (in time or late); an agency absent from it did not answer, and is weighed as not
        asked. ``asked``: the agencies the checks went to (for the reading's "no answer" lines).
        """
        result = self.guidance.evaluate(contact, received_at=received_at, history=history)
        found = [self.checks_config.finding_label(a, code) for a, code in screening.findings_of(answers)]
        if self.pipeline is not None:
            rec = self._decided_after_checks(contact, result, history, answers, sorted(asked or answers), found)
        else:  # no model can weigh the findings: the level stays where the contact put it
            rec = self._scored(contact, result, history, found=found)
            rec.update(next_step=screening.next_step_without_checks(rec["level"]))
        rec.update(stage="after_checks", checks=[], checks_found=found)
        return rec

    # ---- the two-stage pipeline ----------------------------------------------------------------

    def _screened(self, contact: dict, result: GuidanceResult, history: KnownHistory, now: datetime) -> dict:
        pipe = self.pipeline
        out = pipe.screen(contact, floor_level=result.floor_level, prior_marac_12m=history.marac_12m,
                          history=history, level_names=self.level_names)
        level = out["level"]
        rec = self._assemble(result, level, probabilities=out["probabilities"], explanation=out["explanation"],
                             model_version=pipe.version, mode="model",
                             model_reasons=main_reasons(out["explanation"]))
        # A level-3 contact whose level 4 is not ruled out goes to checks too (the model's rule, as it was
        # evaluated): referred at level 3 without them, level-4 recall fell from 0.978 to 0.857 on 20,000
        # fresh contacts (see the README). Its level stays 3, what the evidence supports.
        step, checks = out["next_step"], []
        if step == "checks":
            checks = screening.planned_checks(out["agencies"], urgency=rec["urgency"], now=now,
                                              decision_due_at=result.decision_due_at, config=self.checks_config)
        rec.update(next_step=step, stage="screening", checks=checks,
                   what_would_change=out["what_would_change"],
                   reading=reading(stage="screening", explanation=out["explanation"], config=self.checks_config,
                                   level_names=self.level_names, field_level_changes=out["what_would_change"],
                                   level=level, answer_outcomes=out.get("answer_outcomes"), checks=checks))
        return rec

    def _decided_after_checks(self, contact: dict, result: GuidanceResult, history: KnownHistory,
                              answers: dict[str, dict], asked: list[str], found: list[str]) -> dict:
        pipe = self.pipeline
        out = pipe.decide_after_checks(contact, floor_level=result.floor_level, prior_marac_12m=history.marac_12m,
                                       history=history, checks=answers, level_names=self.level_names)
        level = out["level"]
        if not answers:
            # No agency answered: nothing new is known, and uncertainty alone never raises the level
            # (the after-checks model's lower cut-offs assume answers). The level stays what the
            # contact supported at screening, never below the floor; the reading lists who did not answer.
            screened = pipe.screen(contact, floor_level=result.floor_level, prior_marac_12m=history.marac_12m,
                                   history=history, level_names=self.level_names)
            level = min(level, max(screened["level"], result.floor_level, 1))
            out = {**out, "level": level, "next_step": screening.next_step_without_checks(level)}
        rec = self._assemble(result, level, probabilities=out["probabilities"], explanation=out["explanation"],
                             model_version=pipe.version, mode="model",
                             model_reasons=main_reasons(out["explanation"]), found=found)
        rec.update(next_step=out["next_step"], what_would_change=out["what_would_change"],
                   reading=reading(stage="after_checks", explanation=out["explanation"], config=self.checks_config,
                                   level_names=self.level_names, field_level_changes=out["what_would_change"],
                                   level=level, values=out["values"], asked=asked))
        return rec

    # ---- a features-v1 classifier, or none -------------------------------------------------------

    def _scored(self, contact: dict, result: GuidanceResult, history: KnownHistory, *,
                found: list[str] | None = None) -> dict:
        """The recommendation at the level the evidence supports (the floor alone without a model)."""
        floor = result.floor_level
        if self.model is None:
            rec = self._assemble(result, max(floor, 1), found=found)
            rec["note"] = RULES_ONLY_NOTE
            return rec
        out = score_and_explain(self.model, contact, floor_level=floor, history=history,
                                level_names=self.level_names, evidence=EVIDENCE)
        rec = self._assemble(result, out["level"], probabilities=out["probabilities"],
                             explanation=out["explanation"], model_version=self.model.version, mode="model",
                             model_reasons=out["reasons"], found=found)
        rec["what_would_change"] = out["what_would_change"]
        rec["reading"] = reading(stage="screening", explanation=out["explanation"], config=self.checks_config,
                                 level_names=self.level_names, field_level_changes=out["what_would_change"],
                                 level=out["level"])
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


def load_served(models_dir: str | Path) -> OrdinalModel | Pipeline:
    """The model ``models/CURRENT`` names: a two-stage pipeline or a features-v1 classifier.

    ``ModelLoadError`` on any doubt (hash, allow-list, feature set, an unreadable manifest).
    """
    version = current_version(models_dir)
    if is_pipeline(models_dir, version):
        return load_pipeline(models_dir, version)
    return load_model(models_dir, version)


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
        recommender.model = load_served(models_dir)
    except ModelLoadError as exc:
        # Any doubt about the model file means rules-only recommendations; intake keeps working.
        recommender.notes.append(f"classifier not loaded, rules-only: {exc}")
    return recommender

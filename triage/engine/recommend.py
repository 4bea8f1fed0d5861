"""The recommendation step called at intake: threshold guidance first, then the classifier.

This is the seam between the service and the domain. ``Recommender.recommend`` is plain
Python (no Flask) and returns the ``recommendation`` object of the spec (section 2). The
intake stores the contact even when this step fails; see ``triage/intake.py``.

Until a classifier is loaded the level is the guidance's floor (at least 1, Universal) and the
mode is ``rules_only``. The classifier extends ``recommend`` where it is marked: the level
becomes max(floor, model level), so the model can raise a recommendation and never lower it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from triage.engine.classifier import ModelLoadError, load_model
from triage.engine.explain import score_and_explain
from triage.engine.guidance import Guidance, GuidanceResult, load_guidance
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

    def recommend(self, contact: dict, *, received_at: datetime, history: KnownHistory = UNKNOWN) -> dict:
        """The spec's ``recommendation`` for a schema-valid contact.

        ``received_at`` is when the front door's clock started (the service passes ``accepted_at``);
        ``history`` is what the store already knew about these children, read by the guidance
        (the MARAC "repeat" criterion) and the feature summary beside what the partner reported.
        """
        result = self.guidance.evaluate(contact, received_at=received_at, history=history)
        level = max(result.floor_level, 1)
        if self.model is None:
            rec = self._assemble(result, level)
            rec["note"] = RULES_ONLY_NOTE
            return rec
        # The classifier: level = max(floor, model level); it can raise, never lower.
        out = score_and_explain(self.model, contact, floor_level=result.floor_level,
                                history=history,
                                level_names={n: v["name"] for n, v in self.guidance.levels.items()})
        # A level raised only as a precaution keeps its level, but the queue is ordered by what the
        # evidence supports (the most likely level, never below the floor): otherwise every
        # precaution would be red and the contacts that are plainly urgent would be easy to miss.
        urgency_level = out["most_likely_level"] if out["caution"] else out["level"]
        rec = self._assemble(result, out["level"], probabilities=out["probabilities"],
                             explanation=out["explanation"], model_version=self.model.version,
                             mode="model", model_reasons=out["reasons"], urgency_level=urgency_level)
        rec["what_would_change"] = out["what_would_change"]
        rec["most_likely_level"] = out["most_likely_level"]
        rec["caution"] = out["caution"]
        if out["caution"]:
            rec["rationale_draft"] += " " + out["caution"]
            rec["rationale_drafts"][str(out["level"])] = rec["rationale_draft"]
        return rec

    def _assemble(self, result: GuidanceResult, level: int, *, probabilities: dict | None = None,
                  explanation: dict | None = None, model_version: str = RULES_ONLY,
                  mode: str = "rules_only", model_reasons: tuple[str, ...] = (),
                  urgency_level: int | None = None) -> dict:
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
            "urgency": result.urgency(urgency_level or level),
            "model_version": model_version,
            "rationale_draft": draft_rationale(result, level=level, level_names=names,
                                               model_reasons=model_reasons),
            "rationale_drafts": drafts_by_level(result, recommended_level=level, level_names=names,
                                                model_reasons=model_reasons),
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

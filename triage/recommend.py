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

from .guidance import Guidance, GuidanceResult, load_guidance
from .rationale import draft_rationale

RULES_ONLY = "rules-only"


@dataclass
class Recommender:
    """Holds the council's guidance and (when one loads) the bundled model."""

    guidance: Guidance
    model: Any = None
    notes: list[str] = field(default_factory=list)

    def recommend(self, contact: dict, *, received_at: datetime, prior_marac_12m: bool = False) -> dict:
        """The spec's ``recommendation`` for a schema-valid contact."""
        result = self.guidance.evaluate(contact, received_at=received_at, prior_marac_12m=prior_marac_12m)
        level = max(result.floor_level, 1)
        # Classifier extension point: when self.model is not None, score the contact here, set
        # level = max(level, model level) and pass probabilities, explanation, model_version,
        # mode="model" and the model's reasons (model_reasons=...) to _assemble.
        return self._assemble(result, level)

    def _assemble(self, result: GuidanceResult, level: int, *, probabilities: dict | None = None,
                  explanation: dict | None = None, model_version: str = RULES_ONLY,
                  mode: str = "rules_only", model_reasons: tuple[str, ...] = ()) -> dict:
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
            "rationale_draft": draft_rationale(result, level=level, level_names=names,
                                               model_reasons=model_reasons),
            "decision_due_at": result.decision_due_at.astimezone(timezone.utc).isoformat(),
            "mode": mode,
        }


def load_recommender(config: dict) -> Recommender:
    """Build the recommender for an app config. A broken guidance file stops start-up.

    ``GuidanceConfigError`` propagates on purpose: triaging children against guidance the
    service could not read is worse than not starting.
    """
    return Recommender(guidance=load_guidance(config["THRESHOLDS_PATH"]))

"""The recommendation step called at intake: threshold guidance first, then the classifier.

This is the seam between the service and the domain. ``Recommender.recommend`` is plain
Python (no Flask) and returns the ``recommendation`` object of the spec (section 2). The
intake stores the contact even when this step fails; see ``triage/intake.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Recommender:
    """Holds the council's guidance and (when one loads) the bundled model."""

    guidance: Any = None
    model: Any = None
    notes: list[str] = field(default_factory=list)

    def recommend(self, contact: dict, *, received_at: datetime, prior_marac_12m: bool = False) -> dict:
        raise RuntimeError("no recommendation step is configured yet")


def load_recommender(config: dict) -> Recommender:
    """Build the recommender for an app config. A broken guidance file stops start-up."""
    return Recommender()

"""Test data builders: valid contacts by default, with only the fields a test cares about changed."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
EXAMPLES = SHARED / "examples" / "contacts"
_counter = itertools.count(1)


def example(name: str) -> dict:
    """One of the shared valid examples, e.g. ``example("police-da-high-risk")``."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def all_examples() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))}


def child(**overrides) -> dict:
    base = {"child_reference": f"C-{next(_counter):05d}", "age_years": 6, "sex": "female",
            "present_at_incident": True, "injured": False, "current_status": "none"}
    base.update(overrides)
    return base


def contact_payload(organisation: str = "Demo Police", **overrides) -> dict:
    """A valid police domestic-abuse contact with a fresh partner_reference."""
    base = {
        "partner_reference": f"TEST-{next(_counter):06d}",
        "source": {"code": "6", "organisation": organisation, "team": "Safeguarding Hub"},
        "received_at": "2026-11-20T08:05:00+00:00",
        "incident_at": "2026-11-19T23:40:00+00:00",
        "primary_concern": "domestic_abuse",
        "children": [child()],
        "domestic_abuse": {
            "dash": {"version": "police-27", "officer_grading": "standard",
                     "answers": {str(q): ("yes" if q <= 4 else "no") for q in range(1, 28)}},
            "incidents_12m": 1, "weapon_used": False, "strangulation": False,
            "perpetrator_in_household": True,
        },
        "consent": "not_sought",
        "narrative": "Verbal argument overheard by a neighbour; officers attended and spoke to both adults.",
    }
    for key, value in overrides.items():
        base[key] = copy.deepcopy(value)
    return base

"""What the running app holds that both edges read: the loaded threshold guidance.

The recommender is built once by the factory (``triage.app``); the guidance it carries names
the levels, so a council that renames a level sees its own name in the API and on every page.
"""

from __future__ import annotations

from flask import current_app

from triage.engine.guidance import Guidance


def guidance() -> Guidance:
    """The guidance the service triages against."""
    return current_app.extensions["recommender"].guidance


def level_table() -> dict[int, dict[str, str]]:
    """``{1: {"name", "description"}, ...}`` from the loaded guidance (empty if none is loaded)."""
    loaded = getattr(current_app.extensions["recommender"], "guidance", None)
    return dict(getattr(loaded, "levels", None) or {})

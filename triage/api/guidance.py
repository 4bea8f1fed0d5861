"""Which threshold guidance is in force: ``GET /api/v1/guidance`` (issue 16), for anyone signed in.

Names the version in force (label, SHA-256, since when) and every version the service has served,
so a partner or an inspector can tell which guidance judged which contact: each recommendation
names the same label and SHA-256.
"""

from __future__ import annotations

from flask import current_app

from triage.api.openapi import Blueprint
from triage.api.schemas import GuidanceVersionsSchema
from triage.engine.contract import rfc3339
from triage.extensions import db
from triage.services import guidance_versions

blp = Blueprint("guidance", __name__, url_prefix="/api/v1/guidance",
                description="The versions of the threshold guidance the service has served.")


@blp.route("", methods=["GET"])
@blp.doc(summary="The threshold guidance in force, since when, and every version served")
@blp.response(200, GuidanceVersionsSchema, description="The version in force and the versions served, newest first.")
@blp.problems(401)
def guidance_in_force():
    config = current_app.extensions["recommender"].guidance.config
    rows = guidance_versions.summaries(config)
    db.session.commit()  # its first use, if nothing has used it since start-up
    current = next(r for r in rows if r.in_force_since is not None)
    return {
        "in_force": {"label": current.label, "sha256": current.sha256, "since": rfc3339(current.in_force_since)},
        "versions": [{"label": r.label, "sha256": r.sha256, "first_served_at": rfc3339(r.first_served_at),
                      "in_force": r.in_force_since is not None, "adopted_at": [rfc3339(t) for t in r.adopted],
                      "label_reused": r.label_reused} for r in rows],
    }

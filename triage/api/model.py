"""What is scoring contacts right now: ``GET /api/v1/model`` (transparency, and the admin's check).

The Algorithmic Transparency Recording Standard expects a public body to say which tool is in
use and how it performs; this answers that for anyone signed in, from the manifest the service
verified at start-up, and says plainly when the service is running on the guidance rules alone.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from triage.api.openapi import Blueprint
from triage.api.schemas import ModelInUseSchema

blp = Blueprint("model", __name__, url_prefix="/api/v1/model",
                description="The model and threshold guidance the service is using.")

PUBLISHED = ("version", "kind", "sha256", "sklearn_version", "feature_set", "feature_sets", "decision_thresholds",
             "rule", "rule_tuning", "training_data", "evaluation")  # a two-stage pipeline: its rule's cut-offs


def available_versions(models_dir: str) -> list[str]:
    root = Path(models_dir)
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file()) if root.is_dir() else []


@blp.route("", methods=["GET"])
@blp.doc(summary="The model in use, its evaluation figures, and whether the service is rules-only")
@blp.response(200, ModelInUseSchema, description="What is scoring contacts now.")
@blp.problems(401)
def model_in_use():
    recommender = current_app.extensions["recommender"]
    model = recommender.model
    body = {
        "mode": "model" if model is not None else "rules_only",
        "notes": list(recommender.notes),
        "thresholds_file": Path(current_app.config["THRESHOLDS_PATH"]).name,
        "levels": {str(n): v["name"] for n, v in recommender.guidance.levels.items()},
        "available_versions": available_versions(current_app.config["MODELS_DIR"]),
        "model": None,
    }
    if model is not None:
        body["model"] = {key: model.manifest[key] for key in PUBLISHED if key in model.manifest}
        body["model"]["model_card"] = f"models/{model.version}/MODEL_CARD.md"
    return body

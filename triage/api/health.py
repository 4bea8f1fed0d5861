"""Liveness and readiness probes for the load balancer or orchestrator."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from triage.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up (says nothing about the database)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """The database answers; otherwise 503 so no traffic is sent here."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": "reachable"})

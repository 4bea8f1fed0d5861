"""Liveness and readiness probes for the load balancer or orchestrator."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from triage.extensions import db
from triage.record.schema import schema_problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up (says nothing about the database)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """The database answers and holds this code's schema; otherwise 503 so no traffic is sent here.

    A store not yet upgraded to this code's migrations would answer every page with an error,
    so it is not ready either; ``schema`` says what to run (no data in it, only migration names).
    """
    try:
        db.session.execute(text("SELECT 1"))
        problem = schema_problem(db.session.connection())
    except Exception:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    finally:
        db.session.rollback()
    if problem:
        return jsonify({"status": "unavailable", "database": "reachable", "schema": problem}), 503
    return jsonify({"status": "ok", "database": "reachable", "schema": "up to date"})

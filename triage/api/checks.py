"""Multi-agency checks: spec section 10.

``POST /api/v1/contacts/<id>/checks`` (practitioner, manager) asks agencies; an agency's hub worker
reads ``GET /api/v1/checks?status=open`` (only its agency type's checks, only what the check needs)
and answers with ``POST /api/v1/checks/<id>/response``. The rules live in ``triage.services.checks``.
"""

from __future__ import annotations

from flask import current_app, g, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from triage.api.contacts import read_json_body
from triage.api.openapi import LOCATION, NOT_BLANK, Blueprint, rules
from triage.api.schemas import CheckListSchema, CheckSchema, ChecksRequestedSchema
from triage.engine.contract import StrictBoolean, StrictString, flatten_errors
from triage.engine.guidance_config import CHECK_AGENCIES
from triage.http.problems import Problem
from triage.record.queries import get_visible_contact
from triage.record.tables import CONSENT_POSITIONS
from triage.services import checks
from triage.services.decisions import MAX_NOTE

blp = Blueprint("checks", __name__, url_prefix="/api/v1",
                description="Multi-agency checks: the front door asks partner agencies what they know; "
                            "their hub workers answer.")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ChecksInSchema(_Strict):
    agencies = fields.List(StrictString(metadata={"enum": list(CHECK_AGENCIES)}), required=True, metadata={
        "description": "police, health, education, probation or housing (e.g. from recommendation.checks).",
        "minItems": 1, "uniqueItems": True})
    reason = StrictString(required=True, metadata={"description": "What the front door needs to know.",
                                                   "maxLength": MAX_NOTE, "pattern": NOT_BLANK})
    consent = StrictString(required=True, metadata={"enum": list(CONSENT_POSITIONS)})
    without_consent_reason = StrictString(allow_none=True, load_default=None, metadata={
        "description": "Required unless consent is obtained: why sharing without consent is lawful here.",
        "maxLength": MAX_NOTE})


rules(ChecksInSchema, allOf=[{
    "if": {"properties": {"consent": {"not": {"const": "obtained"}}}, "required": ["consent"]},
    "then": {"required": ["without_consent_reason"],
             "properties": {"without_consent_reason": {"type": "string", "pattern": NOT_BLANK}}},
}])


class AnswerInSchema(_Strict):
    known = StrictBoolean(required=True)
    findings = fields.List(StrictString(), load_default=list, metadata={
        "description": "Finding codes for the agency, as listed in config/thresholds.yaml (checks.agencies)."})
    summary = StrictString(allow_none=True, load_default=None, metadata={"maxLength": MAX_NOTE})


class ChecksQuerySchema(Schema):
    status = fields.String(load_default=checks.OPEN, validate=validate.OneOf((checks.OPEN, checks.ANSWERED)))


def _recommender():
    return current_app.extensions["recommender"]


def _load(schema: Schema) -> dict:
    try:
        return schema.load(read_json_body())
    except ValidationError as err:
        raise Problem(422, "Some fields are missing or of the wrong type; see errors.",
                      errors=flatten_errors(err.messages), title="Not recorded") from None


@blp.route("/contacts/<contact_id>/checks", methods=["POST"])
@blp.doc(summary="Ask partner agencies what they know about the household",
         requestBody={"required": True, "content": {"application/json": {"schema": ChecksInSchema}}})
@blp.response(201, ChecksRequestedSchema, headers=LOCATION,
              description="The check requests, each with id, agency and due_at; the contact is checks_requested.")
@blp.problems(400, 401, 403, 404, 409, 413, 415, 422)
def post_checks(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    rows = checks.request_checks(contact, g.user, _recommender(), **_load(ChecksInSchema()))
    return ({"contact_id": contact.id, "contact_status": contact.status, "contact_version": contact.version,
             "checks": [checks.check_json(r) for r in rows]}, {"Location": f"/api/v1/contacts/{contact.id}"})


@blp.route("/checks", methods=["GET"])
@blp.doc(summary="The checks addressed to your agency, due soonest first",
         parameters=[{"in": "query", "schema": ChecksQuerySchema}])
@blp.response(200, CheckListSchema, description="Checks: the children's pseudonymous ids and ages, the concern, "
                                                "the question; never the narrative.")
@blp.problems(401, 403, 422)
def list_checks():
    try:
        args = ChecksQuerySchema().load(request.args.to_dict())
    except ValidationError as err:
        raise Problem(422, "Some query parameters are not valid; see errors.",
                      errors=flatten_errors(err.messages), title="Invalid query") from None
    checks.settle_due(_recommender())
    rows = checks.open_checks(g.user, args["status"])
    return {"status": args["status"], "count": len(rows),
            "items": [checks.check_json(r, for_agency=True) for r in rows]}


@blp.route("/checks/<int:check_id>/response", methods=["POST"])
@blp.doc(summary="Answer a check for your agency (one answer per check)",
         requestBody={"required": True, "content": {"application/json": {"schema": AnswerInSchema}}})
@blp.response(201, CheckSchema, description="Recorded; late answers are recorded too, marked late.")
@blp.problems(400, 401, 403, 404, 409, 413, 415, 422)
def post_answer(check_id: int):
    check = checks.visible_check(check_id, g.user)
    checks.answer_check(check, g.user, _recommender(), **_load(AnswerInSchema()))
    return checks.check_json(checks.visible_check(check_id, g.user), for_agency=True)

"""Decisions, oversight and the record: spec section 6.

``POST /api/v1/contacts/<id>/decision``, ``/review`` and ``/information-request`` parse the
body with the schemas below (types only) and hand it to ``triage.decisions``, which holds the
rules the pages share. ``GET .../history`` answers every event on the contact, and reading it
is itself recorded as a view.
"""

from __future__ import annotations

from flask import g
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from triage.api.contacts import decision_json, read_json_body, review_json
from triage.api.openapi import LOCATION, NOT_BLANK, Blueprint, rules
from triage.api.schemas import (
    DecisionRecordedSchema,
    HistoryOutSchema,
    InformationRequestedSchema,
    ReviewRecordedSchema,
)
from triage.engine.contract import StrictBoolean, StrictInteger, StrictString, flatten_errors, rfc3339
from triage.engine.guidance_config import LEVELS
from triage.extensions import db
from triage.http.current import level_table
from triage.http.problems import Problem
from triage.record import audit
from triage.record.queries import get_visible_contact
from triage.record.tables import CONSENT_POSITIONS, Event
from triage.services import decisions, timeliness

blp = Blueprint(
    "decisions", __name__, url_prefix="/api/v1/contacts",
    description="The practitioner's decision, the manager's review, requests for information and the record.",
)

_VERSION_HELP = ("The contact's version you acted on (from GET /api/v1/contacts/<id>); "
                 "if someone changed it since, the answer is 409 and nothing is recorded.")


_RATIONALE_HELP = (f"In your own words: at least {decisions.MIN_RATIONALE} characters, half of them letters, "
                   "not only the suggested wording for another level.")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class DecisionInSchema(_Strict):
    level = StrictInteger(required=True, metadata={"enum": list(LEVELS)})
    rationale = StrictString(required=True, metadata={
        "description": _RATIONALE_HELP, "minLength": decisions.MIN_RATIONALE, "maxLength": decisions.MAX_RATIONALE,
        "pattern": NOT_BLANK})
    marac_referral = StrictBoolean(load_default=False)
    next_steps = StrictString(allow_none=True, load_default=None, metadata={"maxLength": decisions.MAX_NOTE})
    override_reason = StrictString(
        allow_none=True, load_default=None,
        metadata={"description": "Required when level differs from the recommended level.",
                  "maxLength": decisions.MAX_NOTE},
    )
    expected_version = StrictInteger(allow_none=True, load_default=None, metadata={"description": _VERSION_HELP})
    consent = StrictString(allow_none=True, load_default=None, metadata={
        "enum": list(CONSENT_POSITIONS),
        "description": "Whether consent was sought and the outcome; the contact's position when left out."})
    consent_reason = StrictString(allow_none=True, load_default=None, metadata={
        "description": "Required when consent was not sought, and for early help (level 2) without consent.",
        "maxLength": decisions.MAX_NOTE})


# Consent not sought needs its reason (decisions.consent_errors); early help without consent needs one
# too, but the consent may be the contact's own when left out, so that half is the service's to say.
rules(DecisionInSchema, allOf=[{
    "if": {"properties": {"consent": {"const": "not_sought"}}, "required": ["consent"]},
    "then": {"required": ["consent_reason"], "properties": {"consent_reason": {"type": "string", "pattern": NOT_BLANK}}},
}])


class ReviewInSchema(_Strict):
    outcome = StrictString(required=True, validate=validate.OneOf(decisions.OUTCOMES,
                                                                  error="Must be one of: {choices}."))
    level = StrictInteger(allow_none=True, load_default=None,
                          metadata={"description": "Required when outcome is changed.", "enum": [*LEVELS, None]})
    rationale = StrictString(required=True, metadata={
        "description": _RATIONALE_HELP, "minLength": decisions.MIN_RATIONALE, "maxLength": decisions.MAX_RATIONALE,
        "pattern": NOT_BLANK})
    expected_version = StrictInteger(allow_none=True, load_default=None, metadata={"description": _VERSION_HELP})


# A changed outcome names its level; whether that differs from the decision is the service's to say.
rules(ReviewInSchema, allOf=[{
    "if": {"properties": {"outcome": {"const": "changed"}}, "required": ["outcome"]},
    "then": {"required": ["level"], "properties": {"level": {"type": "integer"}}},
}])


class InformationRequestInSchema(_Strict):
    # named apart from Schema.fields (marshmallow's own attribute); "fields" on the wire
    asked_for = fields.List(StrictString(metadata={"pattern": NOT_BLANK}), required=True, data_key="fields", metadata={
        "description": "What is missing, e.g. JSON paths from recommendation.information_gaps.",
        "maxItems": decisions.MAX_INFORMATION_FIELDS})
    message = StrictString(required=True, metadata={"description": "What the referrer will read.",
                                                    "maxLength": decisions.MAX_NOTE, "pattern": NOT_BLANK})


def _load(schema: Schema) -> dict:
    try:
        return schema.load(read_json_body())
    except ValidationError as err:
        raise Problem(422, "Some fields are missing or of the wrong type; see errors.",
                      errors=flatten_errors(err.messages), title="Not recorded") from None


def _created(body: dict, contact) -> tuple[dict, dict]:
    """The recorded entry with where the contact stands now (the view's schema dumps it)."""
    return (body | {"contact_id": contact.id, "contact_status": contact.status, "contact_version": contact.version},
            {"Location": f"/api/v1/contacts/{contact.id}"})


_RECORDING_REFUSALS = (400, 401, 403, 404, 409, 413, 415, 422)


@blp.route("/<contact_id>/decision", methods=["POST"])
@blp.doc(summary="Record the threshold decision",
         requestBody={"required": True, "content": {"application/json": {"schema": DecisionInSchema}}})
@blp.response(201, DecisionRecordedSchema, description="Recorded; the contact now awaits a manager's review.",
              headers=LOCATION)
@blp.problems(*_RECORDING_REFUSALS)
def post_decision(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    decision = decisions.record_decision(contact, g.user, **_load(DecisionInSchema()))
    return _created(decision_json(decision, level_table()), contact)


@blp.route("/<contact_id>/review", methods=["POST"])
@blp.doc(summary="Confirm or change the decision (a manager who did not make it)",
         requestBody={"required": True, "content": {"application/json": {"schema": ReviewInSchema}}})
@blp.response(201, ReviewRecordedSchema, description="Recorded; the contact is decided.", headers=LOCATION)
@blp.problems(*_RECORDING_REFUSALS)
def post_review(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    review = decisions.record_review(contact, g.user, **_load(ReviewInSchema()))
    return _created(review_json(review, level_table()), contact)


@blp.route("/<contact_id>/information-request", methods=["POST"])
@blp.doc(summary="Ask the referrer for missing information (the deadline stands)",
         requestBody={"required": True, "content": {"application/json": {"schema": InformationRequestInSchema}}})
@blp.response(201, InformationRequestedSchema, description="Recorded; the contact is waiting on the referrer.",
              headers=LOCATION)
@blp.problems(*_RECORDING_REFUSALS)
def post_information_request(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    body = _load(InformationRequestInSchema())
    asked = decisions.request_information(contact, g.user, fields=body["asked_for"], message=body["message"])
    return _created({"id": asked.id, "fields": asked.fields, "message": asked.message,
                     "requested_by": g.user.label, "requested_at": rfc3339(asked.requested_at),
                     "decision_due_at": rfc3339(contact.decision_due_at)}, contact)


def event_json(event: Event) -> dict:
    return {"seq": event.seq, "kind": event.kind, "who": event.actor, "at": rfc3339(event.at), "what": event.data}


@blp.route("/<contact_id>/history", methods=["GET"])
@blp.doc(summary="Every event on the contact, oldest first, including who read it")
@blp.response(200, HistoryOutSchema, description="The contact's record.")
@blp.problems(401, 403, 404)
def get_history(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    audit.record("viewed", contact_id=contact.id, user=g.user, data={"via": "api", "what": "history"})
    db.session.commit()
    return {
        "contact_id": contact.id,
        "status": contact.status,
        "events": [event_json(e) for e in audit.history(contact.id)],
        "timeliness": timeliness.for_contact(contact).as_json(),
    }

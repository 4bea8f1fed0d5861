"""Schemas the API documents beyond the contract itself (responses and query strings)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from triage.engine.contract import SOURCE_CODES, ChildSchema, ContactSchema
from triage.record.workflow import Status


class ChildOutSchema(ChildSchema):
    """A child as the service answers it: never its identifiers, always the service's own child_id."""

    class Meta:
        exclude = ("identifiers",)

    child_id = fields.String(metadata={"description": "The service's own pseudonymous id for this child "
                                                      "(spec section 9): the same for every contact about them."})


class ContactOutSchema(ContactSchema):
    """A stored contact: what the partner sent, plus the front door's state and recommendation."""

    children = fields.List(fields.Nested(ChildOutSchema))

    id = fields.String(metadata={"description": "The front door's id for this contact."})
    accepted_at = fields.String(metadata={"description": "When the front door's clock started (spec section 8): "
                                                         "when the service first accepted a partner's contact, "
                                                         "or the call time a worker gave."})
    status = fields.String(metadata={"enum": [s.value for s in Status]})
    decision_due_at = fields.String(metadata={"description": "One working day after accepted_at."})
    urgency = fields.String(allow_none=True, metadata={"enum": ["red", "amber", "green"]})
    recommendation = fields.Dict(allow_none=True)
    decision = fields.Dict(allow_none=True)
    review = fields.Dict(allow_none=True)


class ContactQuerySchema(Schema):
    """Filters and pagination for ``GET /api/v1/contacts``."""

    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    source_code = fields.String(validate=validate.OneOf(SOURCE_CODES))
    received_from = fields.AwareDateTime(metadata={"description": "RFC 3339, inclusive."})
    received_to = fields.AwareDateTime(metadata={"description": "RFC 3339, exclusive."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ContactSummarySchema(Schema):
    id = fields.String()
    partner_reference = fields.String()
    organisation = fields.String()
    source_code = fields.String()
    primary_concern = fields.String()
    received_at = fields.String()
    accepted_at = fields.String()
    decision_due_at = fields.String()
    status = fields.String()
    urgency = fields.String(allow_none=True)
    recommended_level = fields.Integer(allow_none=True)
    floor_level = fields.Integer(allow_none=True)
    marac_recommended = fields.Boolean()
    dash_risk = fields.String(allow_none=True)
    children_ages = fields.List(fields.Raw())


class ContactPageSchema(Schema):
    items = fields.List(fields.Nested(ContactSummarySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()

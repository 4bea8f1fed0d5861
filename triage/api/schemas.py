"""Schemas the API documents beyond the contract itself (responses and query strings)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from triage.engine.contract import SOURCE_CODES, ContactSchema
from triage.record.workflow import Status


class ContactOutSchema(ContactSchema):
    """A stored contact: what the partner sent, plus the front door's state and recommendation."""

    id = fields.String(metadata={"description": "The front door's id for this contact."})
    status = fields.String(metadata={"enum": [s.value for s in Status]})
    decision_due_at = fields.String(metadata={"description": "One working day after received_at."})
    urgency = fields.String(allow_none=True, metadata={"enum": ["red", "amber", "green"]})
    recommendation = fields.Dict(allow_none=True)
    decision = fields.Dict(allow_none=True)
    review = fields.Dict(allow_none=True)


#: The deepest page a listing serves: 100,000 pages of up to 200 is twenty million contacts, far
#: more than a front door holds, and keeps the offset well inside every database's integer range
#: (a page of 10**18 used to overflow SQLite and PostgreSQL's bigint: a 500).
MAX_PAGE = 100_000
MAX_PER_PAGE = 200


class ContactQuerySchema(Schema):
    """Filters and pagination for ``GET /api/v1/contacts``."""

    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    source_code = fields.String(validate=validate.OneOf(SOURCE_CODES))
    received_from = fields.AwareDateTime(metadata={"description": "RFC 3339, inclusive."})
    received_to = fields.AwareDateTime(metadata={"description": "RFC 3339, exclusive."})
    page = fields.Integer(load_default=1, validate=validate.Range(
        min=1, max=MAX_PAGE, error=f"Enter a page number from 1 to {MAX_PAGE}."))
    per_page = fields.Integer(load_default=50, validate=validate.Range(
        min=1, max=MAX_PER_PAGE, error=f"Enter a page size (per_page) from 1 to {MAX_PER_PAGE}."))


class ContactSummarySchema(Schema):
    id = fields.String()
    partner_reference = fields.String()
    organisation = fields.String()
    source_code = fields.String()
    primary_concern = fields.String()
    received_at = fields.String()
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

"""A child across contacts: ``/api/v1/children`` (spec section 9).

``GET /<child_id>/history`` answers the child's contacts (and the siblings on them) with the
counts the threshold guidance asks about; reading it is recorded as a view of every contact
shown. ``POST /<child_id>/links`` says another record is the same child; ``POST
/<child_id>/links/<link_id>/undo`` takes that back. Both are events in the record.
"""

from __future__ import annotations

from datetime import datetime

from flask import g
from marshmallow import RAISE, Schema, ValidationError

from triage.api.contacts import level_table, read_json_body
from triage.api.openapi import Blueprint, non_blank
from triage.api.schemas import ChildHistorySchema, ChildLinkAnswerSchema
from triage.engine.contract import StrictString, flatten_errors, rfc3339
from triage.extensions import db
from triage.http.problems import Problem
from triage.record import audit
from triage.services import children

blp = Blueprint(
    "children", __name__, url_prefix="/api/v1/children",
    description="The service's own records of children across contacts: history and links.",
)


class LinkInSchema(Schema):
    class Meta:
        unknown = RAISE

    linked_child_id = StrictString(required=True, metadata={"description": "The existing child record.",
                                                            "minLength": 1})
    reason = StrictString(required=True, metadata={"description": "Why these are one child (10+ characters).",
                                                   "pattern": non_blank(children.MIN_REASON)})
    contact_id = StrictString(allow_none=True, load_default=None,
                              metadata={"description": "The contact the link was made from, if any."})


class UndoInSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = StrictString(required=True, metadata={"description": "Why the link was wrong (10+ characters).",
                                                   "pattern": non_blank(children.MIN_REASON)})
    contact_id = StrictString(allow_none=True, load_default=None)


def _load(schema: Schema) -> dict:
    try:
        return schema.load(read_json_body())
    except ValidationError as err:
        raise Problem(422, "Some fields are missing or of the wrong type; see errors.",
                      errors=flatten_errors(err.messages), title="Not recorded") from None


def _times(value):
    """Datetimes as the API writes them, at any depth."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        return {k: _times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v) for v in value]
    return value


def _levels() -> dict[int, str]:
    return {n: v["name"] for n, v in level_table().items()}


_CHANGE_REFUSALS = (400, 401, 403, 404, 409, 413, 415, 422)


@blp.route("/<child_id>/history", methods=["GET"])
@blp.doc(summary="The child's contacts, newest first, with contacts, referrals and MARAC in 12 months")
@blp.response(200, ChildHistorySchema, description="The child's history across every record linked to it.")
@blp.problems(401, 403, 404)
def get_child_history(child_id: str):
    children.get_record(child_id)
    history = children.child_history([child_id], _levels())
    audit.record_reads((item["contact_id"] for item in history["contacts"]), g.user,
                       {"via": "api", "what": "child_history", "child_id": child_id})
    db.session.commit()
    return _times({"child_id": child_id, **history})


@blp.route("/<child_id>/links", methods=["POST"])
@blp.doc(summary="Say another child record is the same child (a recorded event)",
         requestBody={"required": True, "content": {"application/json": {"schema": LinkInSchema}}})
@blp.response(201, ChildLinkAnswerSchema, description="Linked.")
@blp.problems(*_CHANGE_REFUSALS)
def post_link(child_id: str):
    body = _load(LinkInSchema())
    row = children.link(child_id, body["linked_child_id"], body["reason"], g.user, body["contact_id"])
    return _times(children.links_of([row.child_id])[-1] | {"group": sorted(children.group([child_id]))})


@blp.route("/<child_id>/links/<int:link_id>/undo", methods=["POST"])
@blp.doc(summary="Undo a link (recorded; the link stays in the record, marked undone)",
         requestBody={"required": True, "content": {"application/json": {"schema": UndoInSchema}}})
@blp.response(201, ChildLinkAnswerSchema, description="Undone.")
@blp.problems(*_CHANGE_REFUSALS)
def post_unlink(child_id: str, link_id: int):
    body = _load(UndoInSchema())
    children.unlink(child_id, link_id, body["reason"], g.user, body["contact_id"])
    link = next(item for item in children.links_of([child_id]) if item["id"] == link_id)
    return _times(link | {"group": sorted(children.group([child_id]))})

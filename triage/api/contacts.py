"""Intake and reading contacts: ``/api/v1/contacts`` (spec sections 1 and 2).

Thin on purpose: parse the request, call ``intake`` or the store, shape the JSON.
"""

from __future__ import annotations

from flask import current_app, g, json, jsonify, request
from marshmallow import ValidationError

from triage.api.openapi import LOCATION, Blueprint, rules
from triage.api.schemas import ContactOutSchema, ContactPageSchema, ContactQuerySchema
from triage.engine.contract import (
    ContactSchema,
    IdentifiersSchema,
    flatten_errors,
    rfc3339,
    unstorable_text,
    validate_contact,
)
from triage.extensions import db
from triage.http import access
from triage.http.current import level_table
from triage.http.problems import Problem
from triage.record import audit, paging
from triage.record.paging import COUNT_LIMIT, Ordering, keyset, rows_in_order, split
from triage.record.queries import (
    LISTED_CONTACTS,
    get_visible_contact,
    latest_decision,
    latest_review,
    visible_contacts,
)
from triage.record.tables import Contact, Decision, Review, User
from triage.services import checks, partner_view
from triage.services.intake import fill_partner_organisation, submit_answered

# The contract's rule across fields (contact-v1.schema.json's allOf), in the document as in the contract.
rules(ContactSchema, allOf=[{
    "if": {"properties": {"primary_concern": {"const": "domestic_abuse"}}, "required": ["primary_concern"]},
    "then": {"required": ["domestic_abuse"]},
}])
rules(IdentifiersSchema, minProperties=1)

blp = Blueprint(
    "contacts", __name__, url_prefix="/api/v1/contacts",
    description="Contacts from the police and partner agencies, and the front door's recommendation.",
)


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON value")


def read_json_body() -> object:
    """The body as JSON, or the right problem: 415 not JSON, 400 malformed or unstorable."""
    if not request.is_json:
        raise Problem(415, "Send the contact as JSON with Content-Type: application/json.")
    raw = request.get_data(cache=False)
    try:
        # parse_constant: NaN and Infinity are Python's extension, not JSON (RFC 8259).
        document = json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise Problem(400, "The body is not valid JSON: it is nested too deeply.") from None
    errors = unstorable_text(document)
    if errors:
        raise Problem(400, "Some text in the body cannot be stored; see errors.", errors=errors)
    return document


def decision_json(decision: Decision | None, levels: dict) -> dict | None:
    if decision is None:
        return None
    return {
        "id": decision.id,
        "level": decision.level,
        "level_name": levels.get(decision.level, {}).get("name"),
        "rationale": decision.rationale,
        "marac_referral": decision.marac_referral,
        "next_steps": decision.next_steps,
        "override_reason": decision.override_reason,
        "recommended_level": decision.recommended_level,
        "floor_level": decision.floor_level,
        "model_version": decision.model_version,
        "recommendation_stage": decision.recommendation_stage,
        "consent": decision.consent,
        "consent_reason": decision.consent_reason,
        "decided_by": decision.decided_by.label,
        "decided_at": rfc3339(decision.decided_at),
        "corrects": decision.corrects_id,
    }


def review_json(review: Review | None, levels: dict) -> dict | None:
    if review is None:
        return None
    return {
        "id": review.id,
        "decision_id": review.decision_id,
        "outcome": review.outcome,
        "level": review.level,
        "level_name": levels.get(review.level, {}).get("name"),
        "rationale": review.rationale,
        "reviewed_by": review.reviewed_by.label,
        "reviewed_at": rfc3339(review.reviewed_at),
        "corrects": review.corrects_id,
    }


def contact_json(contact: Contact, viewer: User, *, new: bool = False) -> dict:
    """The stored contact with the front door's state; what else depends on who asks.

    Staff see the recommendation, checks, decision and review. A partner sees its own document,
    the status and the decision deadline, and the outcome only as released feedback: never the
    recommendation or urgency, which are advice to the front door (``services.partner_view``).
    ``new``: stored by this transaction a moment ago, so nothing can refer to it yet (no feedback,
    checks, decision or review) and none is looked up: the intake's answer, made holding SQLite's
    write lock.
    """
    levels = level_table()
    doc = dict(contact.payload)
    ids = {child.position: child.child_id for child in contact.children}
    doc["children"] = [{**child, "child_id": ids.get(i)} for i, child in enumerate(doc.get("children") or [])]
    doc.update(
        id=contact.id,
        accepted_at=rfc3339(contact.accepted_at),
        status=contact.status,
        decision_due_at=rfc3339(contact.decision_due_at),
        recommendation=None,
        decision=None,
        review=None,
    )
    if not partner_view.sees_recommendation(viewer):
        doc["feedback"] = None if new else partner_view.partner_view(contact)["feedback"]
        return doc
    doc["urgency"] = contact.urgency
    doc["recommendation"] = contact.recommendation
    doc["screening_recommendation"] = contact.screening_recommendation or (
        contact.recommendation if (contact.recommendation or {}).get("stage") != "after_checks" else None)
    if not new:
        doc["checks"] = [checks.check_json(row) for row in checks.checks_on(contact.id)]
        doc["decision"] = decision_json(latest_decision(contact.id), levels)
        doc["review"] = review_json(latest_review(contact.id), levels)
    else:
        doc["checks"] = []
    doc["version"] = contact.version  # send back as expected_version when acting on it
    return doc


#: A list row's fields that carry the front door's recommendation: null in a partner's list.
RECOMMENDATION_FIELDS = ("urgency", "recommended_level", "floor_level", "marac_recommended", "dash_risk",
                         "next_step", "stage")


def summary(contact: Contact, viewer: User) -> dict:
    """A contact in one line of a list: enough to show a row and link to it, no narrative.

    A partner's row leaves the recommendation's fields null (``services.partner_view``).
    """
    row = {
        "id": contact.id,
        "partner_reference": contact.partner_reference,
        "organisation": contact.organisation.name,
        "source_code": contact.source_code,
        "primary_concern": contact.primary_concern,
        "received_at": rfc3339(contact.received_at),
        "accepted_at": rfc3339(contact.accepted_at),
        "decision_due_at": rfc3339(contact.decision_due_at),
        "status": contact.status,
        "urgency": contact.urgency,
        "recommended_level": contact.recommended_level,
        "floor_level": contact.floor_level,
        "marac_recommended": contact.marac_recommended,
        "dash_risk": contact.dash_risk,
        "next_step": (contact.recommendation or {}).get("next_step"),
        "stage": (contact.recommendation or {}).get("stage"),
        "children_ages": ["unborn" if child.unborn else child.age_years for child in contact.children],
    }
    if not partner_view.sees_recommendation(viewer):
        row.update(dict.fromkeys(RECOMMENDATION_FIELDS))
    return row


@blp.route("", methods=["POST"])
@blp.doc(
    summary="Send a contact",
    description="A partner's token may leave source.organisation out: it is filled from the token's "
                "organisation (and must be that organisation when given).",
    requestBody={"required": True, "content": {"application/json": {"schema": ContactSchema}}},
)
# The contact is documented, not dumped: it is the partner's stored document passed through.
@blp.alt_response(201, schema=ContactOutSchema, description="Stored; the body is the contact with its recommendation.",
                  headers=LOCATION, success=True)
@blp.alt_response(200, schema=ContactOutSchema, description="A retry: this partner_reference was already stored.",
                  headers=LOCATION, success=True)
@blp.problems(400, 401, 403, 413, 415, 422)
def create_contact():
    document = read_json_body()
    fill_partner_organisation(document, g.user)
    contact, errors = validate_contact(document)
    if errors:
        raise Problem(422, "Some fields do not match the contact contract; see errors.", errors=errors)
    user = g.user
    # scored before the write lock is taken (SQLite); the rate count is added just before the commit
    body, contact_id, created = submit_answered(contact, user, current_app.extensions["recommender"],
                                                lambda stored, new: contact_json(stored, user, new=new),
                                                access.count_held)
    response = jsonify(body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/contacts/{contact_id}"
    return response


#: The contact list's one order: newest received first (an index on received_at, id serves it).
CONTACT_LIST_ORDER = Ordering("contacts", ((Contact.received_at, True), (Contact.id, True)))


def _parse_query() -> dict:
    try:
        return ContactQuerySchema().load(request.args.to_dict())
    except ValidationError as err:
        raise Problem(422, "Some query parameters are not valid; see errors.",
                      errors=flatten_errors(err.messages), title="Invalid query") from None


@blp.route("", methods=["GET"])
@blp.doc(summary="List contacts, newest first",
         parameters=[{"in": "query", "schema": ContactQuerySchema}])
@blp.response(200, ContactPageSchema, description="One page of contacts.")
@blp.problems(401, 403, 422)
def list_contacts():
    args = _parse_query()
    if "cursor" in args and args["page"] != 1:
        raise Problem(422, "Some query parameters are not valid; see errors.", title="Invalid query",
                      errors={"page": ["Give either page or cursor, not both."]})
    query = visible_contacts(g.user)
    if "status" in args:
        query = query.where(Contact.status == args["status"])
    if "source_code" in args:
        query = query.where(Contact.source_code == args["source_code"])
    if "received_from" in args:
        query = query.where(Contact.received_at >= args["received_from"])
    if "received_to" in args:
        query = query.where(Contact.received_at < args["received_to"])
    # Counted up to COUNT_LIMIT (the index, never the whole table); the page's ids read after the
    # cursor (or past earlier pages, by number) from the list's index, then only those contacts.
    query = query.with_only_columns(Contact.id)
    counted = paging.count(query, up_to=COUNT_LIMIT)
    page, per_page = args["page"], args["per_page"]
    ids = keyset(query, CONTACT_LIST_ORDER, args.get("cursor"), per_page)
    keyed, next_cursor = split(db.session.execute(ids.offset((page - 1) * per_page)).all(),
                               CONTACT_LIST_ORDER, per_page)
    rows = rows_in_order(LISTED_CONTACTS, Contact.id, [contact_id for (contact_id,) in keyed])
    return {"items": [summary(c, g.user) for (c,) in rows], "page": page, "per_page": per_page,
            **paging.capped_total(counted), "next_cursor": next_cursor}


@blp.route("/<contact_id>", methods=["GET"])
@blp.doc(summary="Read one contact with its recommendation, decision and review")
@blp.alt_response(200, schema=ContactOutSchema, description="The contact.", success=True)
@blp.problems(401, 403, 404)
def get_contact(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    checks.settle(contact, current_app.extensions["recommender"])  # checks past due: lazily, on read
    audit.record("viewed", contact_id=contact.id, user=g.user, data={"via": "api"})
    db.session.commit()
    return jsonify(contact_json(contact, g.user))

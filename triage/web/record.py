"""Record a contact taken by phone: a form that builds the same document a partner would send.

The form's fields map one-to-one onto paths in the contact contract, so the page validates
with ``validate_contact`` (the API's own validation, nothing page-specific) and each of its
errors, keyed by JSON path (``children.1.age_years``), links to the field that produced it.
Numbers the person typed are passed through as typed when they are not whole numbers, so the
contract's message ("Must be a whole number.") is the one they see.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

from flask import current_app, flash, g, redirect, render_template, request, url_for

from triage.engine.contract import (
    CONSENT,
    FACTOR_CODES,
    PRIMARY_CONCERNS,
    REFERRER_REQUESTS,
    SOURCE_CODES,
    validate_contact,
)
from triage.engine.errors import Invalid
from triage.engine.words import FACTOR_NAMES
from triage.engine.workdays import LONDON
from triage.extensions import db
from triage.services.intake import submit
from triage.web.present import SOURCE_NAMES, label
from triage.web.views import bp

CHILD_ROWS = 3
TIME_FORMAT = "%d/%m/%Y %H:%M"
TRI_STATE = (("yes", "Yes"), ("no", "No"), ("", "Not known"))
GRADINGS = (("", "No grading given"), ("standard", "Standard"), ("medium", "Medium"), ("high", "High"))

# Contract path -> form field id, for the paths that are not a field's own name.
PATH_TO_FIELD = {
    "source.code": "source_code", "source.organisation": "organisation", "source.team": "team",
    "source.referrer.name": "referrer_name", "source.referrer.role": "referrer_role",
    "source.referrer.phone": "referrer_phone", "source.referrer.email": "referrer_email",
    "domestic_abuse": "da_incidents_12m", "domestic_abuse.incidents_12m": "da_incidents_12m",
    "domestic_abuse.dash.officer_grading": "da_grading", "domestic_abuse.weapon_used": "da_weapon_used",
    "domestic_abuse.strangulation": "da_strangulation",
    "domestic_abuse.perpetrator_in_household": "da_perpetrator_in_household",
    "children": "children-0-child_reference", "$": "partner_reference",
}
LABELS = {
    "partner_reference": "Reference", "source_code": "Who made the contact", "organisation": "Organisation",
    "team": "Team", "referrer_name": "Caller's name", "referrer_role": "Caller's role",
    "referrer_phone": "Caller's phone number", "referrer_email": "Caller's email address",
    "received_at": "Date and time of the call", "primary_concern": "Main concern",
    "narrative": "What the caller said", "referrer_request": "What the caller asks for", "consent": "Consent",
    "da_incidents_12m": "Incidents in the last 12 months", "da_grading": "DASH risk graded by the officer",
    "da_weapon_used": "Weapon used", "da_strangulation": "Strangulation",
    "da_perpetrator_in_household": "Perpetrator lives in the household",
}
CHILD_LABELS = {"child_reference": "reference", "age_years": "age", "unborn": "unborn",
                "present_at_incident": "present at the incident", "injured": "injured",
                "disclosed_harm": "said they were harmed", "nhs_number": "NHS number",
                "upn": "unique pupil number"}
DA_FLAGS = ("weapon_used", "strangulation", "perpetrator_in_household")
CHILD_FLAGS = ("present_at_incident", "injured", "disclosed_harm")
#: A UK phone number as people write it: 10 to 13 digits, with spaces, brackets, dashes or a leading +.
PHONE = re.compile(r"^\+?[0-9 ()-]+$")
#: What the page asks for where the contract's own message is about JSON, not the person.
REQUIRED = {
    "source_code": "Select who made the contact",
    "primary_concern": "Select the main concern",
    "consent": "Select whether the family has agreed to this contact",
    "narrative": "Enter what the caller said: what happened, who was there and what worries them",
}


class Choices:
    """The option lists the template needs, from the contract's own code lists."""

    sources = [("", "Choose who made the contact")] + [(code, SOURCE_NAMES.get(code, code)) for code in SOURCE_CODES]
    concerns = [("", "Choose the main concern")] + [(value, label(value)) for value in PRIMARY_CONCERNS]
    factors = [(code, FACTOR_NAMES[code]) for code in FACTOR_CODES]
    consent = [(value, label(value)) for value in CONSENT]
    requests = [("", "Not said")] + [(value, label(value)) for value in REFERRER_REQUESTS]
    tri_state = TRI_STATE
    gradings = GRADINGS
    child_rows = CHILD_ROWS


def _text(form, name: str) -> str:
    return (form.get(name) or "").strip()


def _number(raw: str) -> int | str:
    """A whole number when it is one; otherwise the text as typed, for the contract to refuse."""
    return int(raw) if raw.isdigit() else raw


def _flag(raw: str) -> bool | None:
    return {"yes": True, "no": False}.get(raw)


def _list(form, name: str) -> list[str]:
    return form.getlist(name) if hasattr(form, "getlist") else list(form.get(name) or [])


def page_errors(form) -> dict[str, list[str]]:
    """What a phone call must give that a partner's system may leave out, in the words of the page."""
    errors: dict[str, list[str]] = {}
    for name, message in REQUIRED.items():
        if not _text(form, name):
            errors[name] = [message]
    phone = _text(form, "referrer_phone")
    digits = re.sub(r"\D", "", phone)
    if phone and (not PHONE.match(phone) or not 10 <= len(digits) <= 13):
        errors["referrer_phone"] = ["Enter a phone number, like 01632 960 001 or +44 808 157 0192"]
    for i in range(CHILD_ROWS):
        nhs = re.sub(r"[\s-]", "", _text(form, f"children-{i}-nhs_number"))
        if nhs and not (nhs.isdigit() and len(nhs) == 10):
            errors[f"children-{i}-nhs_number"] = ["Enter the child's NHS number as 10 digits, like 485 777 3456"]
    return errors


def parse_received(raw: str) -> str | None:
    """"20/11/2026 08:05" (London) -> RFC 3339 with its offset; None when it is not a date and time."""
    try:
        local = datetime.strptime(raw.strip(), TIME_FORMAT)
    except ValueError:
        return None
    return local.replace(tzinfo=LONDON).isoformat(timespec="seconds")


def _put(target: dict, key: str, value) -> None:
    if value not in ("", None):
        target[key] = value


def _referrer(form) -> dict:
    referrer: dict = {}
    for key in ("name", "role", "phone", "email"):
        _put(referrer, key, _text(form, f"referrer_{key}"))
    return referrer


def _children(form) -> list[dict]:
    children = []
    for i in range(CHILD_ROWS):
        ref, age = _text(form, f"children-{i}-child_reference"), _text(form, f"children-{i}-age_years")
        unborn = form.get(f"children-{i}-unborn") == "yes"
        if not (ref or age or unborn) and i > 0:
            continue
        child: dict = {"child_reference": ref}
        _put(child, "age_years", _number(age) if age else None)
        if unborn:
            child["unborn"] = True
        for flag in CHILD_FLAGS:
            _put(child, flag, _flag(_text(form, f"children-{i}-{flag}")))
        identifiers: dict = {}
        _put(identifiers, "nhs_number", re.sub(r"[\s-]", "", _text(form, f"children-{i}-nhs_number")))
        _put(identifiers, "upn", _text(form, f"children-{i}-upn").upper())
        if identifiers:
            child["identifiers"] = identifiers
        children.append(child)
    return children


def _domestic_abuse(form) -> dict:
    block: dict = {}
    incidents = _text(form, "da_incidents_12m")
    _put(block, "incidents_12m", _number(incidents) if incidents else None)
    if grading := _text(form, "da_grading"):
        block["dash"] = {"officer_grading": grading}
    for flag in DA_FLAGS:
        _put(block, flag, _flag(_text(form, f"da_{flag}")))
    return block


def build_document(form, received_at: str) -> dict:
    """The contract document the form describes (before validation)."""
    source: dict = {"code": _text(form, "source_code"), "organisation": _text(form, "organisation")}
    _put(source, "team", _text(form, "team"))
    if referrer := _referrer(form):
        source["referrer"] = referrer
    document: dict = {
        "partner_reference": _text(form, "partner_reference"),
        "source": source,
        "received_at": received_at,
        "primary_concern": _text(form, "primary_concern"),
        "children": _children(form),
        "consent": _text(form, "consent"),
    }
    _put(document, "narrative", _text(form, "narrative"))
    if factors := [code for code in FACTOR_CODES if code in _list(form, "factors")]:
        document["factors"] = factors
    _put(document, "referrer_request", _text(form, "referrer_request"))
    if document["primary_concern"] == "domestic_abuse" or any(
            _text(form, f"da_{name}") for name in ("incidents_12m", "grading", *DA_FLAGS)):
        document["domestic_abuse"] = _domestic_abuse(form)
    return document


def field_for(path: str) -> str:
    """The form field that answers a contract path: ``children.1.age_years`` -> ``children-1-age_years``."""
    if path in PATH_TO_FIELD:
        return PATH_TO_FIELD[path]
    parts = path.split(".")
    if parts[0] == "children" and len(parts) >= 3 and parts[1].isdigit() and parts[2] == "identifiers":
        return f"children-{parts[1]}-{parts[3] if len(parts) > 3 else 'nhs_number'}"
    if parts[0] == "children" and len(parts) >= 3 and parts[1].isdigit():
        return f"children-{parts[1]}-{parts[2]}"
    if parts[0] == "factors":
        return "factors"
    if parts[0] == "children" and len(parts) == 2:
        return f"children-{parts[1]}-child_reference"
    return PATH_TO_FIELD.get(".".join(parts[:2]), parts[0])


def field_label(field_id: str) -> str:
    """How the error summary names a field: "Child 2 age", "Organisation"."""
    parts = field_id.split("-")
    if parts[0] == "children" and len(parts) == 3 and parts[1].isdigit():
        return f"Child {int(parts[1]) + 1} {CHILD_LABELS.get(parts[2], parts[2].replace('_', ' '))}"
    return LABELS.get(field_id, field_id.replace("_", " ").capitalize())


def field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    by_field: dict[str, list[str]] = {}
    for path, messages in errors.items():
        by_field.setdefault(field_for(path), []).extend(messages)
    return by_field


def _defaults() -> dict:
    now = datetime.now(timezone.utc).astimezone(LONDON)
    return {
        "partner_reference": f"PHONE-{now:%Y%m%d}-{secrets.token_hex(2).upper()}",
        "received_at": now.strftime(TIME_FORMAT),
    }


def _page(values: dict, errors: dict[str, list[str]], status: int = 200):
    order = list(values) + [k for k in errors if k not in values]
    summary = [{"text": f"{field_label(name)}: {msg}", "href": f"#{name}"}
               for name in order for msg in errors.get(name, [])]
    return render_template("record.html", values=values, errors=errors, error_list=summary,
                           choices=Choices(), page_title="Record a contact", nav_active="record"), status


@bp.route("/contacts/new", methods=["GET", "POST"])
def record_contact():
    if request.method == "GET":
        return _page(_defaults(), {})
    values = {key: value for key, value in request.form.items() if key not in ("csrf_token", "step")}
    values["factors"] = request.form.getlist("factors")
    step = request.form.get("step", "")
    if step == "change":  # back from "Check your answers" to the form, everything kept
        return _page(values, {})
    received = parse_received(values.get("received_at", ""))
    document = build_document(request.form, received or "")
    contact, errors = validate_contact(document)
    errors = field_errors(errors)
    errors.update(page_errors(request.form))  # the page's own words replace the contract's for these
    if received is None:
        errors["received_at"] = ["Enter the date and time of the call like 20/11/2026 08:05"]
    if errors:
        return _page(values, errors, 422)
    if step != "confirm":  # GOV.UK "Check your answers": nothing is stored until the person confirms
        return render_template("record_check.html", values=values, document=contact, choices=Choices(),
                               page_title="Check the contact before you save it", nav_active="record")
    try:
        stored, created = submit(contact, g.user, current_app.extensions["recommender"])
    except Invalid as exc:  # a call time in the future: shown on its field, nothing recorded
        db.session.rollback()
        return _page(values, field_errors(exc.errors or {}), 422)
    if created:
        flash(f"Contact {stored.partner_reference} recorded. The recommendation is below.")
    else:
        flash(f"A contact with reference {stored.partner_reference} from {stored.organisation.name} "
              "was already recorded; this is it.")
    return redirect(url_for("web.contact", contact_id=stored.id))

"""Record a contact taken by phone: the API's validation, errors linked to each bad field."""

from __future__ import annotations

import re

from triage.web.record import build_document, field_for, parse_received

GOOD = {
    "partner_reference": "PHONE-TEST-1", "source_code": "1A", "organisation": "Member of the public",
    "referrer_name": "A neighbour", "referrer_phone": "01632 960000", "received_at": "20/11/2026 08:05",
    "primary_concern": "domestic_abuse", "consent": "not_sought",
    "narrative": "Shouting next door most nights; a small child crying; a man's voice threatening.",
    "children-0-child_reference": "PH-C-1", "children-0-age_years": "3", "children-0-present_at_incident": "yes",
    "da_incidents_12m": "4", "da_perpetrator_in_household": "yes",
    "step": "confirm",  # as sent from "Check your answers"
}


def test_the_form_builds_the_contract_document_a_partner_would_send():
    document = build_document(GOOD, parse_received(GOOD["received_at"]))
    assert document["source"] == {"code": "1A", "organisation": "Member of the public",
                                  "referrer": {"name": "A neighbour", "phone": "01632 960000"}}
    assert document["received_at"] == "2026-11-20T08:05:00+00:00"
    assert document["children"] == [{"child_reference": "PH-C-1", "age_years": 3, "present_at_incident": True}]
    assert document["domestic_abuse"] == {"incidents_12m": 4, "perpetrator_in_household": True}


def test_summer_times_are_read_as_london_time():
    assert parse_received("15/07/2026 09:00") == "2026-07-15T09:00:00+01:00"
    assert parse_received("yesterday") is None


def test_contract_paths_map_to_the_form_fields():
    assert field_for("children.1.age_years") == "children-1-age_years"
    assert field_for("source.organisation") == "organisation"
    assert field_for("domestic_abuse") == "da_incidents_12m"
    assert field_for("children") == "children-0-child_reference"


def test_recording_a_phone_contact_stores_it_with_its_recommendation(app, signed_in):
    client = signed_in("practitioner")
    assert "Record a contact" in client.get("/contacts/new").get_data(as_text=True)
    response = client.post("/contacts/new", data=GOOD)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Contact PHONE-TEST-1" in page and "Recommended level" in page
    from sqlalchemy import select

    from triage.extensions import db
    from triage.record.tables import Contact

    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.partner_reference == "PHONE-TEST-1"))
        assert contact.source_code == "1A" and contact.recommendation is not None


def test_bad_fields_get_an_error_summary_linking_to_each_one(signed_in):
    data = dict(GOOD, **{"children-0-age_years": "three", "organisation": "", "received_at": "today",
                         "children-1-age_years": "40"})
    response = signed_in("practitioner").post("/contacts/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<a href="#children-0-age_years">Child 1 age: Must be a whole number\.</a>', page)
    assert '<a href="#organisation">Organisation: ' in page
    assert '<a href="#received_at">Date and time of the call: Enter the date and time' in page
    assert '<a href="#children-1-child_reference">Child 2 reference: ' in page
    assert '<a href="#children-1-age_years">Child 2 age: ' in page
    assert 'id="children-0-age_years-error"' in page
    assert 'value="three"' in page  # what they typed is kept


def test_a_call_time_in_the_future_is_refused_on_its_field(signed_in):
    from datetime import datetime, timedelta

    from triage.engine.workdays import LONDON

    tomorrow = (datetime.now(LONDON) + timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
    response = signed_in("practitioner").post("/contacts/new", data=dict(GOOD, received_at=tomorrow))
    assert response.status_code == 422
    assert '<a href="#received_at">Date and time of the call: Must not be in the future' in response.get_data(as_text=True)


def test_the_same_reference_again_opens_the_contact_already_recorded(signed_in):
    client = signed_in("practitioner")
    first = client.post("/contacts/new", data=GOOD)
    second = client.post("/contacts/new", data=GOOD)
    assert second.status_code == 302 and second.location == first.location
    assert "was already recorded" in client.get(second.location).get_data(as_text=True)


def test_text_no_database_can_store_is_refused_before_anything_is_recorded(app, signed_in):
    response = signed_in("practitioner").post("/contacts/new", data=dict(GOOD, narrative="bad \x00 byte"))
    assert response.status_code == 400
    assert "narrative" in response.get_data(as_text=True)
    from sqlalchemy import func, select

    from triage.extensions import db
    from triage.record.tables import Contact

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_nothing_is_chosen_for_the_caller_before_they_say_it(signed_in):
    """Issue 15 item 6: no source, concern or consent preselected; codes never shown in the choices."""
    page = signed_in("practitioner").get("/contacts/new").get_data(as_text=True)
    for name in ("source_code", "primary_concern"):
        select = page[page.index(f'name="{name}"'):]
        select = select[: select.index("</select>")]
        assert re.findall(r'<option value="([^"]*)" selected', select) == [""], name  # only "Choose ..."
    consent = page[page.index('name="consent"') - 200:]
    consent = consent[: consent.index("</fieldset>")]
    assert "checked" not in consent
    assert "(1A)" not in page and "11A" not in page.replace('value="11A"', "")


def test_a_phone_contact_must_say_who_called_about_what_with_an_account_and_a_real_phone_number(signed_in):
    data = dict(GOOD, source_code="", primary_concern="", consent="", narrative="", referrer_phone="abc")
    response = signed_in("practitioner").post("/contacts/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<a href="#source_code">Who made the contact: Select who made the contact</a>' in page
    assert '<a href="#primary_concern">Main concern: Select the main concern</a>' in page
    assert '<a href="#consent">Consent: Select whether the family has agreed to this contact</a>' in page
    assert '<a href="#narrative">What the caller said: Enter what the caller said' in page
    assert ('<a href="#referrer_phone">Caller\'s phone number: Enter a phone number, like 01632 960 001'
            in page.replace("&#39;", "'"))
    assert "Must be one of" not in page  # the contract's words for a JSON value are not the page's


def test_the_form_records_factors_a_disclosure_and_a_childs_identifiers(app, signed_in):
    data = dict(GOOD, **{"partner_reference": "PHONE-ID-1", "children-0-disclosed_harm": "yes",
                         "children-0-nhs_number": "943 476 5919", "factors": ["3B", "11A"]})
    document = build_document(_multi(data), parse_received(GOOD["received_at"]))
    assert document["factors"] == ["3B", "11A"]
    assert document["children"][0]["disclosed_harm"] is True
    assert document["children"][0]["identifiers"] == {"nhs_number": "9434765919"}
    response = signed_in("practitioner").post("/contacts/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    from sqlalchemy import select

    from triage.extensions import db
    from triage.record.tables import Contact

    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.partner_reference == "PHONE-ID-1"))
        assert contact.payload["factors"] == ["3B", "11A"]
        assert contact.children[0].child_id  # the identifier became the service's own child record
        assert "9434765919" not in str(contact.payload)  # the value itself is never stored
    bad = signed_in("practitioner").post("/contacts/new", data=dict(data, **{"children-0-nhs_number": "12345"}))
    assert bad.status_code == 422
    assert "Enter the child&#39;s NHS number as 10 digits" in bad.get_data(as_text=True)


def _multi(data: dict):
    from werkzeug.datastructures import MultiDict

    return MultiDict([(k, v) for k, vs in data.items() for v in (vs if isinstance(vs, list) else [vs])])


def test_nothing_is_stored_until_the_person_has_checked_their_answers(app, signed_in):
    from sqlalchemy import func, select

    from triage.extensions import db
    from triage.record.tables import Contact

    client = signed_in("practitioner")
    first = dict(GOOD, step="", factors=["3B"])
    check = client.post("/contacts/new", data=first)
    page = check.get_data(as_text=True)
    assert check.status_code == 200 and "Check the contact before you save it" in page
    assert "Domestic abuse: concerns about a parent or carer" in page and "Member of the public" in page
    assert '<input type="hidden" name="factors" value="3B">' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    back = client.post("/contacts/new", data=dict(first, step="change")).get_data(as_text=True)
    assert "Record a contact" in back and 'value="PH-C-1"' in back and "There is a problem" not in back
    saved = client.post("/contacts/new", data=dict(first, step="confirm"))
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 1

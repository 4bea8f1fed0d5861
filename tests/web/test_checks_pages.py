"""Checks on the pages: request them from the contact page, answer as an agency, follow them on the queue."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tests.api.test_checks import agency_worker
from tests.factories import example
from tests.web.conftest import sign_in


def _stored(store) -> str:
    doc = example("school-neglect")
    doc["received_at"] = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    return store(doc)


def _csrf_free(app):
    app.config["WTF_CSRF_ENABLED"] = False


def test_request_checks_answer_them_and_see_the_contact_come_back(app, client, runner, people, store):
    _csrf_free(app)
    agency_worker(runner, "hub@police.test.invalid", "Demo Police", "police", password="correct horse battery staple")
    contact_id = _stored(store)
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert 'id="request-checks"' in page and "as a precaution" not in page
    assert re.search(r'value="health"\s+checked', page)  # preselected from the recommendation
    consent = page[page.index('name="checks-consent"') - 200:page.index("checks-without_consent_reason")]
    assert "checked" not in consent and "The referrer recorded:" in page  # consent is answered, never assumed
    refused = client.post(f"/contacts/{contact_id}/checks", data={"checks-agencies": ["police"],
                                                                  "checks-consent": "not_sought",
                                                                  "checks-reason": "Is the household known for violence?"})
    assert refused.status_code == 422 and "Say why the agencies are asked without" in refused.get_data(as_text=True)
    asked = client.post(f"/contacts/{contact_id}/checks", data={"checks-agencies": ["police"],
                                                                "checks-consent": "obtained",
                                                                "checks-reason": "Is the household known for violence?"})
    assert asked.status_code == 302
    queue = client.get("/awaiting-checks").get_data(as_text=True)
    assert "STJ-DSL-0042" in queue and "Police: waiting" in queue
    client.post("/logout")

    sign_in(client, type("P", (), {"email": "hub@police.test.invalid", "password": "correct horse battery staple"}))
    due = client.get("/checks").get_data(as_text=True)
    assert "SCH-8812 (age 8)" in due and "Arrives hungry" not in due  # never the narrative
    check_id = re.search(r'href="/checks/(\d+)"', due).group(1)
    answered = client.post(f"/checks/{check_id}", data={"known": "yes", "findings": ["adult_known_for_violence"],
                                                        "summary": "One conviction for assault in 2024."})
    assert answered.status_code == 302
    client.post("/logout")

    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert 'id="checks-panel"' in page and "An adult in the household is known for violence" in page
    assert "Next step:" in page and 'id="screening-recommendation"' in page

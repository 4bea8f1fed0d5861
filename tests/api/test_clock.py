"""When the front door's clock starts (spec section 8).

A partner's system starts it when the service first accepts the contact; a worker taking a
call gives the call time. The partner's ``received_at`` is kept as when the partner recorded
it, so a notification sent days late shows as late instead of arriving already overdue.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import contact_payload
from tests.web.conftest import sign_in
from triage.engine.workdays import add_working_days, last_working_day_start


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ago(**delta) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat(timespec="seconds")


def test_a_partners_contact_starts_the_clock_when_accepted_not_when_recorded(client, people):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    response = client.post("/api/v1/contacts", json=contact_payload(received_at=ago(days=8)),
                           headers=people["partner"].headers)
    after = datetime.now(timezone.utc)
    assert response.status_code == 201
    body = response.get_json()
    accepted = when(body["accepted_at"])
    assert before <= accepted <= after
    assert when(body["received_at"]) < accepted - timedelta(days=7)  # kept as the partner gave it
    assert when(body["decision_due_at"]) == add_working_days(accepted, 1)

    read = client.get(f"/api/v1/contacts/{body['id']}", headers=people["practitioner"].headers).get_json()
    assert read["accepted_at"] == body["accepted_at"]
    queue = client.get("/api/v1/queues/awaiting-decision", headers=people["practitioner"].headers).get_json()
    assert queue["items"][0]["time"]["overdue"] is False


def test_a_call_recorded_by_a_worker_starts_the_clock_at_the_call(client, people):
    call = ago(hours=2)
    body = client.post("/api/v1/contacts", json=contact_payload(organisation="A neighbour", received_at=call),
                       headers=people["practitioner"].headers).get_json()
    assert when(body["accepted_at"]) == when(call)
    assert when(body["decision_due_at"]) == add_working_days(when(call), 1)


@pytest.mark.parametrize(("minutes_ahead", "status"), [(4, 201), (6, 422), (60 * 24 * 365 * 4, 422)])
def test_a_received_at_more_than_five_minutes_ahead_is_refused(client, people, minutes_ahead, status):
    ahead = (datetime.now(timezone.utc) + timedelta(minutes=minutes_ahead)).isoformat(timespec="seconds")
    response = client.post("/api/v1/contacts", json=contact_payload(received_at=ahead),
                           headers=people["partner"].headers)
    assert response.status_code == status
    if status == 422:
        assert list(response.get_json()["errors"]) == ["received_at"]
        assert client.get("/api/v1/contacts", headers=people["manager"].headers).get_json()["total"] == 0


def test_a_late_police_notification_is_on_todays_triage_list_and_shown_as_late(client, people):
    body = client.post("/api/v1/contacts", json=contact_payload(received_at=ago(days=6)),
                       headers=people["partner"].headers).get_json()
    assert when(body["accepted_at"]) >= last_working_day_start(datetime.now(timezone.utc))
    sign_in(client, people["practitioner"])
    triage = client.get("/contacts?view=police-da").get_data(as_text=True)
    assert body["partner_reference"] in triage
    page = client.get(f"/contacts/{body['id']}").get_data(as_text=True)
    assert "Sent late" in page and "6 days" in page
    assert "Reached the front door" in page


def test_a_notification_sent_in_time_is_not_marked_late(client, people):
    body = client.post("/api/v1/contacts", json=contact_payload(received_at=ago(minutes=20)),
                       headers=people["partner"].headers).get_json()
    sign_in(client, people["practitioner"])
    assert "Sent late" not in client.get(f"/contacts/{body['id']}").get_data(as_text=True)


def test_the_partner_report_counts_late_notifications(client, people):
    partner = people["partner"]
    for received in (ago(days=6), ago(days=5), ago(minutes=30)):
        assert client.post("/api/v1/contacts", json=contact_payload(received_at=received),
                           headers=partner.headers).status_code == 201
    from triage.engine.workdays import london_date
    month = london_date(datetime.now(timezone.utc)).strftime("%Y-%m")
    organisations = client.get("/api/v1/reports/partners", headers=people["manager"].headers).get_json()["items"]
    organisation_id = next(o["id"] for o in organisations if o["name"] == "Demo Police")
    report = client.get(f"/api/v1/reports/partners/{organisation_id}?month={month}",
                        headers=people["manager"].headers)
    assert report.status_code == 200, report.get_json()
    figures = report.get_json()["figures"]
    assert (figures["contacts"], figures["late_notifications"]) == (3, 2)
    csv = client.get(f"/api/v1/reports/partners/{organisation_id}?month={month}&format=csv",
                     headers=people["manager"].headers).get_data(as_text=True)
    assert "Sent more than a working day after the partner recorded them,2" in csv

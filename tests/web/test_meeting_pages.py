"""The domestic-abuse meeting on the pages: start it, decide and act on an item, close it, print the minutes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from tests.factories import contact_payload
from tests.web.conftest import sign_in
from triage.extensions import db
from triage.record import audit
from triage.record.tables import Contact, Event

RATIONALE = ("Repeat police call with the children present; the meeting agreed an assessment is needed and "
             "the mother accepts support.")
ATTENDANCE = {"attendee-0-agency": "front_door", "attendee-0-role": "Team manager", "attendee-0-organisation": "Front door",
              "attendee-1-agency": "police", "attendee-1-role": "Domestic abuse officer",
              "attendee-1-organisation": "Demo Police"}


def test_run_a_meeting_on_the_pages_and_print_its_minutes(app, client, people, store):
    app.config["WTF_CSRF_ENABLED"] = False
    now = datetime.now(timezone.utc)
    ids = [store(contact_payload(received_at=(now - timedelta(minutes=30 + i)).isoformat(timespec="seconds")))
           for i in range(3)]
    store(contact_payload(received_at=(now - timedelta(minutes=5)).isoformat(timespec="seconds"),
                          source={"code": "2A", "organisation": "Demo Primary School"}))  # not police: not on the agenda
    sign_in(client, people["practitioner"])
    assert "Domestic abuse meeting" in client.get("/meetings").get_data(as_text=True)

    refused = client.post("/meetings", data={k: v for k, v in ATTENDANCE.items() if not k.startswith("attendee-1")})
    assert refused.status_code == 422 and "police attending" in refused.get_data(as_text=True)

    started = client.post("/meetings", data=ATTENDANCE)
    assert started.status_code == 302
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        refs = {cid: db.session.get(Contact, cid).partner_reference for cid in ids}
    assert all(ref in page for ref in refs.values())
    items = re.findall(r'href="(/meetings/\d+/items/\d+)"', page)
    assert len(items) == 3

    bad = client.post(items[0] + "/decision", data={"level": "3", "rationale": "too short"})
    assert bad.status_code == 422 and "at least 40 characters" in bad.get_data(as_text=True)
    good = client.post(items[0] + "/decision", data={"level": "3", "rationale": RATIONALE,
                                                     "override_reason": "The meeting's shared view of risk.",
                                                     "consent": "not_sought", "consent_reason": "Police contact."})
    assert good.status_code == 302, good.get_data(as_text=True)[:2000]
    action = client.post(items[0] + "/actions", data={"kind": "safety_planning", "description": "Safety plan today.",
                                                      "owner": "Domestic abuse officer, Demo Police"})
    assert action.status_code == 302
    no_owner = client.post(items[1] + "/actions", data={"kind": "checks", "description": "Ask health.", "owner": ""})
    assert no_owner.status_code == 422 and "Choose who owns the action" in no_owner.get_data(as_text=True)

    meeting_id = items[0].split("/")[2]
    closed = client.post(f"/meetings/{meeting_id}/close")
    assert closed.status_code == 302 and closed.headers["Location"].endswith("/minutes")
    minutes = client.get(closed.headers["Location"]).get_data(as_text=True)
    assert all(ref in minutes for ref in refs.values())
    assert "Safety plan today. (Domestic abuse officer, Demo Police)" in minutes
    assert "1 decided in the meeting, 0 discussed, 2 not reached" in minutes
    assert "@media print" in minutes
    assert client.get(f"/meetings/{meeting_id}/agenda").status_code == 200
    with app.app_context():
        reads = db.session.scalars(select(Event).where(Event.kind == "viewed")).all()
        assert {e.contact_id for e in reads if e.data.get("what") == "minutes"} == set(ids)
        assert audit.verify().ok


def test_partners_cannot_open_the_meeting(client, people):
    sign_in(client, people["partner"])
    assert client.get("/meetings").status_code == 403

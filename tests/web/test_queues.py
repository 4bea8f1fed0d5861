"""The queues as pages: most urgent first, the daily police domestic-abuse triage, a printable view."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tests.factories import child, contact_payload
from tests.web.conftest import hours_ago
from triage.engine.workdays import last_working_day_start
from triage.extensions import db
from triage.record.tables import Contact

HIGH_RISK = {"dash": {"version": "police-27", "officer_grading": "high",
                      "answers": {str(q): "yes" for q in range(1, 28)}},
             "incidents_12m": 4, "weapon_used": True, "strangulation": True, "perpetrator_in_household": True}


def _references(page: str) -> list[str]:
    return re.findall(r'govuk-!-font-weight-bold" href="/contacts/[^"]+">([^<]+)</a>', page)


def _on_the_last_working_day(hour: int) -> str:
    """``hour`` o'clock (London) on the last working day before today: a deadline counts from a working
    day's own time, so two contacts received that day keep their order in their deadlines. Received a
    few hours ago, they did not after a weekend: a contact received on Sunday night counts from Monday
    09:00, after one received at 01:00 on Monday."""
    return (last_working_day_start(datetime.now(timezone.utc)) + timedelta(hours=hour)).isoformat(timespec="seconds")


def test_the_queue_puts_red_before_amber_before_green_then_the_earliest_deadline(signed_in, store):
    store(partner_reference="GREEN-OLD", received_at=_on_the_last_working_day(10), consent="obtained")
    store(partner_reference="RED-NEW", received_at=_on_the_last_working_day(14), domestic_abuse=HIGH_RISK)
    store(partner_reference="RED-OLD", received_at=_on_the_last_working_day(12), domestic_abuse=HIGH_RISK)
    page = signed_in("practitioner").get("/contacts").get_data(as_text=True)
    refs = _references(page)
    assert refs.index("RED-OLD") < refs.index("RED-NEW") < refs.index("GREEN-OLD")


def test_each_row_says_its_urgency_in_words_and_the_facts_a_worker_triages_on(signed_in, store):
    store(partner_reference="RED-1", received_at=hours_ago(1), domestic_abuse=HIGH_RISK,
          children=[child(age_years=3), child(age_years=7)])
    page = signed_in("practitioner").get("/contacts").get_data(as_text=True)
    row = page[page.index("RED-1") - 2000: page.index("RED-1") + 2500]
    assert "govuk-tag--red" in row and re.search(r">\s*Red\s*</strong>", row)
    assert "MARAC criteria met" in row
    assert "3, 7" in row
    assert "High" in row
    assert "Child protection (level 4)" in row
    # the time left in words: "1 day 3 hours", or "1 day 50 minutes" on a Sunday morning (no hours)
    assert re.search(r"\d+ (?:day|hour|minute)s? [^<]*left", row)
    assert "Police (Demo Police)" in row and "Domestic abuse" in row


def test_the_police_triage_lists_only_police_domestic_abuse_since_the_last_working_day(signed_in, store):
    store(partner_reference="POLICE-DA", received_at=hours_ago(1))
    store(partner_reference="POLICE-DA-OLD", received_at="2020-01-06T09:00:00+00:00")
    store(contact_payload(partner_reference="POLICE-NEGLECT", received_at=hours_ago(1),
                          primary_concern="neglect"))
    school = contact_payload(organisation="Demo Primary School", partner_reference="SCHOOL-DA",
                             received_at=hours_ago(1), source={"code": "2A", "organisation": "Demo Primary School"})
    store(school)
    client = signed_in("practitioner")
    everything = _references(client.get("/contacts").get_data(as_text=True))
    triage = client.get("/contacts?view=police-da").get_data(as_text=True)
    assert set(everything) == {"POLICE-DA", "POLICE-DA-OLD", "POLICE-NEGLECT", "SCHOOL-DA"}
    assert _references(triage) == ["POLICE-DA"]
    assert "<h1 class=\"govuk-heading-l\">Police domestic abuse triage</h1>" in triage


def test_the_printable_view_keeps_the_filter_and_the_print_styles_hide_navigation(signed_in, store):
    store(partner_reference="POLICE-DA", received_at=hours_ago(1))
    page = signed_in("practitioner").get("/contacts?view=police-da&print=1").get_data(as_text=True)
    assert _references(page) == ["POLICE-DA"]
    assert "@media print" in page and ".govuk-service-navigation" in page
    assert "laid out for printing" in page


def test_the_last_working_day_reaches_back_over_weekends_and_bank_holidays():
    monday = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    assert last_working_day_start(monday) == datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)  # Friday
    after_christmas = datetime(2026, 12, 29, 9, 0, tzinfo=timezone.utc)  # Tuesday; 25th and 28th are holidays
    assert last_working_day_start(after_christmas) == datetime(2026, 12, 24, 0, 0, tzinfo=timezone.utc)
    summer = datetime(2026, 7, 15, 8, 0, tzinfo=timezone.utc)  # Wednesday, London on BST
    assert last_working_day_start(summer) == datetime(2026, 7, 13, 23, 0, tzinfo=timezone.utc)


def test_a_manager_sees_decisions_by_others_to_review_and_where_they_departed(app, client, people, store):
    from tests.web.conftest import sign_in

    contact_id = store(partner_reference="TO-REVIEW", received_at=hours_ago(2))
    sign_in(client, people["practitioner"])
    with app.app_context():
        recommended = db.session.get(Contact, contact_id).recommended_level
    chosen = recommended + 1 if recommended < 4 else recommended
    client.post(f"/contacts/{contact_id}/decision", data={
        "level": chosen, "rationale": "A full rationale that says what I weighed and why I chose it.",
        "override_reason": "The children were present and the caller is frightened."})
    client.post("/logout")
    sign_in(client, people["manager"])
    page = client.get("/reviews").get_data(as_text=True)
    assert _references(page) == ["TO-REVIEW"]
    # more protective than recommended: said, but not flagged as a departure that needs a look
    assert ("Above the recommendation" in page) == (chosen > recommended)
    assert "Below the recommendation" not in page and "Differs from recommendation" not in page


def test_awaiting_my_review_puts_child_protection_and_red_first_then_the_review_due_soonest(
        app, client, people, store):
    """A child protection decision is red in the review queue even when the contact came in green."""
    from tests.decision_support import OVERRIDE, RATIONALE, decide, pin
    from tests.web.conftest import sign_in

    made = {}
    for reference, recommended, level, urgency in (("EH-OLDEST", 2, 2, "green"), ("CP-NEWER", 2, 4, "green"),
                                                   ("CIN-AMBER", 3, 3, "amber"), ("EH-NEWEST", 2, 2, "green")):
        pin(app, level=recommended, floor=1, urgency=urgency)
        made[reference] = store(partner_reference=reference, received_at=hours_ago(3))
        body = {"level": level, "rationale": RATIONALE}
        if level != recommended:
            body["override_reason"] = OVERRIDE
        assert decide(client, people["practitioner"], made[reference], **body).status_code == 201
    sign_in(client, people["manager"])
    page = client.get("/reviews").get_data(as_text=True)
    assert _references(page) == ["CP-NEWER", "CIN-AMBER", "EH-OLDEST", "EH-NEWEST"]
    first = page[page.index("CP-NEWER") - 1500: page.index("CP-NEWER")]
    assert "govuk-tag--red" in first
    api = client.get("/api/v1/queues/awaiting-my-review", headers=people["manager"].headers).get_json()
    assert [item["partner_reference"] for item in api["items"]] == _references(page)


def test_a_decision_below_the_recommendation_or_the_floor_is_flagged_for_the_manager(
        app, client, people, store):
    from tests.decision_support import OVERRIDE, RATIONALE, decide, pin
    from tests.web.conftest import sign_in

    pin(app, level=3, floor=1)
    below = store(partner_reference="BELOW-REC", received_at=hours_ago(2))
    assert decide(client, people["practitioner"], below, level=2, rationale=RATIONALE,
                  override_reason=OVERRIDE).status_code == 201
    sign_in(client, people["manager"])
    page = client.get("/reviews").get_data(as_text=True)
    row = page[page.index("BELOW-REC"):]
    assert "Below the recommendation" in row and "govuk-tag--orange" in row


def test_awaiting_my_review_shows_when_each_review_is_due_and_warns_when_one_is_late(
        app, client, people, store, monkeypatch):
    from tests.decision_support import decide, pin
    from tests.web.conftest import sign_in
    from triage.web import views

    pin(app, level=2, floor=1)
    contact_id = store(partner_reference="REVIEW-DUE", received_at=hours_ago(2))
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    sign_in(client, people["manager"])
    page = client.get("/reviews").get_data(as_text=True)
    assert "Review due" in page and "due one working day after the decision" in page
    row = page[page.index("REVIEW-DUE"):]
    assert re.search(r"(hours?|days?|minutes?)[^<]* left", row) and "overdue" not in page

    class TwelveDaysLater(datetime):
        """Past any review deadline (at most ten days after a decision) by days, whatever day this runs: four
        days after a decision made just after midnight on a Saturday, it was overdue by hours only."""

        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(days=12)

    monkeypatch.setattr(views, "datetime", TwelveDaysLater)
    page = client.get("/reviews").get_data(as_text=True)
    assert "1 review overdue." in page
    assert re.search(r"Overdue by \d+ days?", page)

"""The feedback and reporting pages render for the right people, and only for them.

A partner reads feedback on its own contacts once a manager has released it; a manager
previews and releases it, opens any partner's report and the dashboard; charts carry text
alternatives; nobody else gets in.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest

from tests.decision_support import decide, review, submit
from triage.engine.workdays import LONDON
from triage.extensions import db
from triage.record.tables import Contact, User
from triage.reporting.exports import LIST_1_HEADINGS


def sign_in(app, person):
    """A fresh browser signed in as ``person``."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": person.email, "password": person.password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def page(browser, url: str, status: int = 200) -> str:
    response = browser.get(url, headers={"Accept": "text/html"})
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def confirmed_contact(app, client, people, **overrides) -> str:
    contact_id = submit(client, people["partner"], **overrides)
    with app.app_context():
        level = db.session.get(Contact, contact_id).recommended_level
    assert decide(client, people["practitioner"], contact_id, level=level).status_code == 201
    assert review(client, people["manager"], contact_id).status_code == 201
    return contact_id


def organisation_of(app, person) -> int:
    with app.app_context():
        return db.session.get(User, person.id).organisation_id


def this_month(app, contact_id: str) -> str:
    with app.app_context():
        return db.session.get(Contact, contact_id).accepted_at.astimezone(LONDON).strftime("%Y-%m")


def test_manager_previews_then_releases_and_the_partner_reads_it(app, client, people):
    contact_id = confirmed_contact(app, client, people)
    partner, manager = sign_in(app, people["partner"]), sign_in(app, people["manager"])
    assert "There is no feedback" in page(partner, "/feedback")

    preview = page(manager, f"/contacts/{contact_id}/feedback")
    assert "What the partner will read" in preview and "Release feedback to Demo Police" in preview
    released = manager.post(f"/contacts/{contact_id}/feedback/release")
    assert released.status_code == 302
    assert "Released to Demo Police" in page(manager, f"/contacts/{contact_id}/feedback")

    feed = page(partner, "/feedback")
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        reference, level = contact.partner_reference, contact.recommended_level
    assert reference in feed and f"Level {level}:" in feed
    assert "What you could do differently next time" in feed
    assert "INTERNAL" not in feed and people["practitioner"].email not in feed


def test_feedback_is_not_ready_before_a_manager_reviews(app, client, people):
    contact_id = submit(client, people["partner"])
    manager = sign_in(app, people["manager"])
    assert "Feedback is not ready" in page(manager, f"/contacts/{contact_id}/feedback", status=409)
    refused = manager.post(f"/contacts/{contact_id}/feedback/release")
    assert refused.status_code == 409


def test_a_partner_never_sees_another_organisations_feedback(app, client, people, make_person):
    contact_id = confirmed_contact(app, client, people)
    manager = sign_in(app, people["manager"])
    assert manager.post(f"/contacts/{contact_id}/feedback/release").status_code == 302
    school = sign_in(app, make_person("partner", organisation="Demo Primary School"))
    assert "There is no feedback" in page(school, "/feedback")


def test_feedback_date_filter_reports_a_bad_date_on_the_field(app, people):
    partner = sign_in(app, people["partner"])
    body = page(partner, "/feedback?from=yesterday", status=400)
    assert "There is a problem" in body and 'href="#from"' in body


def test_partner_report_page_with_accessible_charts_csv_and_print(app, client, people, make_person):
    contact_id = confirmed_contact(app, client, people)
    org, month = organisation_of(app, people["partner"]), this_month(app, contact_id)
    manager = sign_in(app, people["manager"])
    body = page(manager, f"/reports/partners/{org}?month={month}")
    assert f"Demo Police, {month}" in body
    charts = re.findall(r'<svg[^>]*role="img"[^>]*aria-labelledby="([\w-]+)-title \1-desc"', body)
    assert set(charts) >= {"levels", "threshold", "trend"}
    assert '<desc id="levels-desc">Level 1' in body
    assert "Save as PDF" in body
    download = manager.get(f"/reports/partners/{org}/report.csv?month={month}")
    assert download.mimetype == "text/csv"
    rows = dict(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows["Contacts sent"] == "1"

    partner = sign_in(app, people["partner"])
    assert f"Demo Police, {month}" in page(partner, f"/reports/partners/{org}?month={month}")
    assert partner.get("/reports/partners").headers["Location"].endswith(f"/reports/partners/{org}")
    school = sign_in(app, make_person("partner", organisation="Demo Primary School"))
    page(school, f"/reports/partners/{org}", status=404)
    page(sign_in(app, people["practitioner"]), f"/reports/partners/{org}", status=403)
    bad = page(manager, f"/reports/partners/{org}?month=November", status=400)
    assert 'href="#month"' in bad


def test_partner_list_links_each_organisation(app, client, people):
    submit(client, people["partner"])
    body = page(sign_in(app, people["manager"]), "/reports/partners")
    org = organisation_of(app, people["partner"])
    assert f'href="/reports/partners/{org}?month=' in body and "Demo Police" in body
    assert f"Contacts in {datetime.now(LONDON):%B %Y}" in body  # the month each link opens at


def test_dashboard_for_managers_with_date_filter_charts_and_exports(app, client, people):
    contact_id = confirmed_contact(app, client, people)
    with app.app_context():
        day = db.session.get(Contact, contact_id).accepted_at.astimezone(LONDON).date().isoformat()
    manager = sign_in(app, people["manager"])
    body = page(manager, f"/reports/dashboard?from={day}&to={day}")
    assert "Front door dashboard" in body and f"Contacts received {day} to {day}" in body
    assert 'aria-labelledby="per-day-title per-day-desc"' in body and f'<desc id="per-day-desc">{day}: 1.' in body
    assert "Ofsted Annex A List 1" in body
    export = manager.get(f"/reports/exports/annex-a-list-1.csv?from={day}&to={day}")
    assert export.status_code == 200
    assert tuple(next(csv.reader(io.StringIO(export.get_data(as_text=True))))) == LIST_1_HEADINGS
    assert manager.get("/reports/exports/confirmed-decisions.jsonl").status_code == 200
    assert 'href="#from"' in page(manager, "/reports/dashboard?from=2026-11-20&to=2026-11-01", status=400)
    history = page(manager, f"/contacts/{contact_id}")
    assert "Opened in an export (annex-a-list-1)" in history
    assert "Opened in an export (confirmed-decisions)" in history


@pytest.mark.parametrize("url", ["/reports/dashboard", "/reports/exports/annex-a-list-1.csv",
                                 "/reports/exports/annex-a-list-3.csv", "/reports/exports/confirmed-decisions.jsonl"])
@pytest.mark.parametrize("role", ["practitioner", "partner", "admin"])
def test_dashboard_and_exports_are_for_managers_only(app, people, url, role):
    assert sign_in(app, people[role]).get(url, headers={"Accept": "text/html"}).status_code == 403


@pytest.mark.parametrize("role", ["practitioner", "manager", "admin"])
def test_feedback_page_is_for_partners_only(app, people, role):
    assert sign_in(app, people[role]).get("/feedback", headers={"Accept": "text/html"}).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/reports/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_dashboards_size_does_not_grow_with_the_contacts_and_its_range_is_checked(app, client, people,
                                                                                       monkeypatch):
    """Issue 15 item 5: the lists of departures are capped (and say so), both ends and the length are checked."""
    from tests.decision_support import OVERRIDE, RATIONALE
    from triage.web import feedback as feedback_pages

    monkeypatch.setattr(feedback_pages, "DASHBOARD_TABLE_ROWS", 2)
    for n in range(3):
        contact_id = submit(client, people["partner"], partner_reference=f"DEPART-{n}")
        with app.app_context():
            level = db.session.get(Contact, contact_id).recommended_level
        assert decide(client, people["practitioner"], contact_id, level=level % 4 + 1, rationale=RATIONALE,
                      override_reason=OVERRIDE, consent="obtained").status_code == 201
    manager = sign_in(app, people["manager"])
    body = page(manager, "/reports/dashboard")
    table = body[body.index("Decisions that departed"):]
    table = table[: table.index("</table>")]
    assert table.count('<tr class="govuk-table__row">') == 2 + 1  # two rows and the heading row
    assert "the most recent 2 of 3" in table
    assert "At most 366 days before the end date" in body
    year = page(manager, "/reports/dashboard?from=2025-12-03&to=2026-12-03")
    assert "Contacts per week" in year and "Contacts per day" not in year
    assert year.count('<th scope="row" class="govuk-table__header">Week of ') == 53

    both_bad = page(manager, "/reports/dashboard?from=yesterday&to=2026-13-01", status=400)
    assert 'href="#from"' in both_bad and 'href="#to"' in both_bad
    too_long = page(manager, "/reports/dashboard?from=1990-01-01&to=2100-01-01", status=400)
    assert 'href="#from"' in too_long and 'href="#to"' in too_long
    assert "at most 366 days" in page(manager, "/reports/dashboard?from=2024-01-01&to=2026-01-01", status=400)

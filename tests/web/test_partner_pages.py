"""Partners' pages (issue 15 item 8): their own report linked, feedback a page at a time, refusals in their terms."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.decision_support import decide, review, submit
from tests.web.conftest import sign_in
from triage.engine.workdays import LONDON
from triage.extensions import db
from triage.record.tables import Contact


def _released(app, client, people, n: int) -> list[str]:
    from triage.record.tables import User
    from triage.services import feedback

    ids = []
    for i in range(n):
        contact_id = submit(client, people["partner"], partner_reference=f"FB-{i:02d}")
        with app.app_context():
            level = db.session.get(Contact, contact_id).recommended_level
        assert decide(client, people["practitioner"], contact_id, level=level, consent="obtained").status_code == 201
        assert review(client, people["manager"], contact_id).status_code == 201
        with app.app_context():
            feedback.release(db.session.get(Contact, contact_id), db.session.get(User, people["manager"].id),
                             app.extensions["recommender"].guidance)
        ids.append(contact_id)
    return ids


def test_a_partners_home_and_navigation_link_their_own_monthly_report(client, people):
    sign_in(client, people["partner"])
    page = client.get("/").get_data(as_text=True)
    assert page.count('href="/reports/partners"') >= 2  # in the navigation and on the page
    assert "Our monthly report" in page
    report = client.get("/reports/partners", follow_redirects=True)
    assert report.status_code == 200 and "Demo Police" in report.get_data(as_text=True)


def test_feedback_on_our_contacts_comes_a_page_at_a_time_and_filters_by_level(app, client, people, monkeypatch):
    from triage.web import feedback as pages

    monkeypatch.setattr(pages, "FEEDBACK_PAGE_SIZE", 2)
    _released(app, client, people, 3)
    sign_in(client, people["partner"])
    first = client.get("/feedback").get_data(as_text=True)
    assert first.count('class="govuk-summary-card"') == 2
    assert "3 contacts; showing 1 to 2, newest first" in first
    assert 'href="/feedback?page=2"' in first
    second = client.get("/feedback?page=2").get_data(as_text=True)
    assert second.count('class="govuk-summary-card"') == 1 and "FB-00" in second
    with app.app_context():
        levels = {db.session.get(Contact, c).recommended_level for c in db.session.scalars(
            db.select(Contact.id))}
    level = sorted(levels)[0]
    filtered = client.get(f"/feedback?level={level}").get_data(as_text=True)
    assert "There is no feedback" not in filtered
    bad = client.get("/feedback?page=x&level=9")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "Enter a page number, like 2" in text and "Select a level from the list" in text


def test_feedback_past_what_is_counted_says_more_than_and_pages_only_that_far(app, client, people, monkeypatch):
    """A police force's years of feedback are counted up to a limit (counting them all cost their
    number on every page); past it the page says "more than", lists only those pages, and says
    how to find older ones."""
    from triage.web import feedback as pages

    monkeypatch.setattr(pages, "FEEDBACK_PAGE_SIZE", 1)
    monkeypatch.setattr(pages, "FEEDBACK_COUNTED_UP_TO", 2)
    _released(app, client, people, 3)
    sign_in(client, people["partner"])
    first = client.get("/feedback").get_data(as_text=True)
    assert "More than 2 contacts; showing 1 to 1, newest first." in first
    assert "To see older feedback, choose the dates it was released." in first
    assert 'href="/feedback?page=2"' in first and 'href="/feedback?page=3"' not in first
    past = client.get("/feedback?page=3").get_data(as_text=True)
    assert "showing 2 to 2" in past and "FB-01" in past  # the last counted page, not the third contact
    today = datetime.now(LONDON).date()
    assert f'href="/feedback?to={today.isoformat()}">Older feedback: released on or before {today:%-d %B %Y}' in past
    assert "Older feedback" not in first  # only on the last page counted
    monkeypatch.setattr(pages, "FEEDBACK_COUNTED_UP_TO", 3)
    assert "3 contacts; showing 1 to 1" in client.get("/feedback").get_data(as_text=True)


def test_page_links_list_the_ends_and_the_pages_near_this_one_with_a_gap_marked():
    from triage.web.present import page_links

    assert page_links(1, 1) == [1]
    assert page_links(2, 3) == [1, 2, 3]
    assert page_links(1, 8000) == [1, 2, 3, None, 8000]
    assert page_links(50, 8000) == [1, None, 48, 49, 50, 51, 52, None, 8000]
    assert page_links(4, 7) == [1, 2, 3, 4, 5, 6, 7]
    assert page_links(8000, 8000) == [1, None, 7998, 7999, 8000]


@pytest.mark.parametrize(("role", "says", "never"), [
    ("partner", "This page is for the council's front door staff", "ask your team manager"),
    ("agency", "Your checks are on the Checks due page", "ask your team manager"),
    ("practitioner", "ask your team manager", "front door staff"),
])
def test_a_refusal_page_speaks_to_the_person_refused(client, people, role, says, never):
    sign_in(client, people[role])
    url = "/reviews" if role == "practitioner" else "/contacts"
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 403
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert says in page and never not in page


def test_an_impossible_month_is_refused_once_in_gov_uk_words(client, people):
    sign_in(client, people["partner"])
    response = client.get("/reports/partners", follow_redirects=True)
    url = response.request.path
    page = client.get(f"{url}?month=2026-13", headers={"Accept": "text/html"})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "Enter a month written YYYY-MM, for example 2026-11." in text
    assert "1..12" not in text


def _recommended_name(app, contact_id: str) -> str:
    with app.app_context():
        level = db.session.get(Contact, contact_id).recommended_level
        return app.extensions["recommender"].guidance.levels[level]["name"]


def test_a_partners_contact_page_shows_status_and_deadline_and_no_recommendation_until_released(
        app, client, people):
    from tests.decision_support import pin

    pin(app, level=4, floor=4, urgency="red")
    contact_id = submit(client, people["partner"], partner_reference="NP-OWN-1")
    sign_in(client, people["partner"])
    listing = client.get("/our-contacts").get_data(as_text=True)
    assert f'href="/our-contacts/{contact_id}"' in listing and "Not released yet" in listing
    page = client.get(f"/our-contacts/{contact_id}").get_data(as_text=True)
    assert "Waiting for the front door&#39;s decision" in page and "Decision due" in page
    for internal in ("Child protection", "Red", "Recommend", "level 4"):
        assert internal not in page and internal not in listing, internal
    assert "Not released yet" in page


def test_a_partners_contact_page_shows_the_outcome_once_released(app, client, people):
    contact_id = _released(app, client, people, 1)[0]
    sign_in(client, people["partner"])
    page = client.get(f"/our-contacts/{contact_id}").get_data(as_text=True)
    assert "Decision confirmed by a team manager" in page and "Feedback released" in page
    assert _recommended_name(app, contact_id) in page and "Not released yet" not in page


def test_a_partner_cannot_open_another_organisations_contact_and_staff_use_their_own_pages(
        client, people, make_person):
    school = make_person("partner", organisation="Demo Primary School")
    contact_id = submit(client, people["partner"])
    sign_in(client, school)
    assert client.get(f"/our-contacts/{contact_id}").status_code == 404
    assert contact_id not in client.get("/our-contacts").get_data(as_text=True)
    for role in ("practitioner", "manager", "admin"):
        sign_in(client, people[role])
        assert client.get(f"/our-contacts/{contact_id}").status_code == 403, role

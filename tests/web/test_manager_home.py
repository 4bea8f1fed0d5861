"""A manager's home says what needs them now, and feedback release can be found (issue 15 items 3 and 4)."""

from __future__ import annotations

import re

from tests.decision_support import OVERRIDE, RATIONALE, REVIEW_RATIONALE, decide, pin, review
from tests.web.conftest import hours_ago, sign_in
from triage.record.paging import DEFAULT_PER_PAGE


def _count(page: str, what: str) -> int:
    """The number in the home's table row headed ``what`` (the navigation may name it too)."""
    return int(re.search(re.escape(what) + r'</a></th>\s*<td class="govuk-table__cell govuk-table__cell--numeric">(\d+)<',
                         page).group(1))


def test_the_managers_home_counts_reviews_due_red_ones_and_feedback_waiting(app, client, people, store):
    pin(app, level=2, floor=1, urgency="green")
    ids = [store(partner_reference=f"HOME-{i}", received_at=hours_ago(3)) for i in range(3)]
    assert decide(client, people["practitioner"], ids[0], level=4, rationale=RATIONALE,
                  override_reason=OVERRIDE).status_code == 201
    assert decide(client, people["practitioner"], ids[1]).status_code == 201
    assert review(client, people["manager"], ids[1], rationale=REVIEW_RATIONALE).status_code == 201
    sign_in(client, people["manager"])
    page = client.get("/").get_data(as_text=True)
    assert "What needs you now" in page
    assert _count(page, "Decisions awaiting your review") == 1
    assert "1 red (child protection or urgent); 0 overdue" in page
    assert _count(page, "Feedback to release") == 1
    assert _count(page, "Contacts awaiting decision") == 1
    assert "HOME-0" in page  # the one to review next


def test_feedback_to_release_lists_confirmed_outcomes_until_released(app, client, people, store):
    pin(app, level=2, floor=1)
    contact_id = store(partner_reference="TO-RELEASE", received_at=hours_ago(3))
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    sign_in(client, people["manager"])
    assert "TO-RELEASE" not in client.get("/feedback/to-release").get_data(as_text=True)  # not yet confirmed
    assert review(client, people["manager"], contact_id, rationale=REVIEW_RATIONALE).status_code == 201
    page = client.get("/feedback/to-release").get_data(as_text=True)
    assert "TO-RELEASE" in page and f'href="/contacts/{contact_id}/feedback"' in page
    assert 'href="/feedback/to-release"' in client.get("/reviews").get_data(as_text=True)  # in the navigation
    contact_page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert f'href="/contacts/{contact_id}/feedback"' in contact_page
    assert client.post(f"/contacts/{contact_id}/feedback/release").status_code == 302
    client.get(f"/contacts/{contact_id}/feedback")  # the page the release leads to shows its notice
    page = client.get("/feedback/to-release").get_data(as_text=True)
    assert "TO-RELEASE" not in page and "There is no feedback waiting" in page


def test_practitioners_and_partners_cannot_open_the_release_list(client, people):
    sign_in(client, people["practitioner"])
    assert client.get("/feedback/to-release").status_code == 403
    assert client.get("/").status_code == 302  # a practitioner starts at the queue


def test_feedback_to_release_comes_a_page_at_a_time_and_home_counts_all_of_it(app, client, people, store):
    pin(app, level=2, floor=1)
    ids = [store(partner_reference=f"WAITING-{i}", received_at=hours_ago(3)) for i in range(3)]
    for contact_id in ids:
        assert decide(client, people["practitioner"], contact_id).status_code == 201
    sign_in(client, people["manager"])
    for contact_id in ids:
        assert review(client, people["manager"], contact_id, rationale=REVIEW_RATIONALE).status_code == 201
    assert "3 contacts waiting for feedback" in client.get("/feedback/to-release").get_data(as_text=True)
    first = client.get("/feedback/to-release?per_page=2").get_data(as_text=True)
    assert "WAITING-0" in first and "WAITING-1" in first and "WAITING-2" not in first  # longest waiting first
    cursor = re.search(r'href="/feedback/to-release\?cursor=([^&"]+)', first).group(1)
    second = client.get(f"/feedback/to-release?per_page=2&cursor={cursor}").get_data(as_text=True)
    assert "WAITING-2" in second and "WAITING-0" not in second and "3 contacts waiting for feedback" in second
    home = client.get("/").get_data(as_text=True)
    assert re.search(r"Feedback to release</a></th>\s*<td[^>]*>3</td>", home)


def test_the_managers_home_counts_whole_queues_not_their_first_page(app, client, people, store):
    pin(app, level=2, floor=1, urgency="green")
    waiting = [store(partner_reference=f"BACKLOG-{i}", received_at=hours_ago(24 * 6)) for i in range(DEFAULT_PER_PAGE + 2)]
    assert decide(client, people["practitioner"], waiting[0], level=4, rationale=RATIONALE,
                  override_reason=OVERRIDE).status_code == 201
    sign_in(client, people["manager"])
    page = client.get("/").get_data(as_text=True)
    assert _count(page, "Contacts awaiting decision") == DEFAULT_PER_PAGE + 1  # more than a page: one decided
    assert f"{DEFAULT_PER_PAGE + 1} contacts past the decision deadline." in page
    assert _count(page, "Decisions awaiting your review") == 1
    assert "1 red (child protection or urgent); 0 overdue" in page


def test_the_managers_home_counts_a_backlog_only_so_far(app, client, people, store, monkeypatch):
    """Past ``paging.COUNT_LIMIT`` a count stops (one past it) and says so: counting a backlog whole cost its length."""
    from triage.services import queues

    monkeypatch.setattr(queues, "COUNT_LIMIT", 2)
    pin(app, level=2, floor=1, urgency="green")
    for i in range(4):
        store(partner_reference=f"FAR-{i}", received_at=hours_ago(24 * 6))
    sign_in(client, people["manager"])
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'Contacts awaiting decision</a></th>\s*<td[^>]*>More than 2</td>', page)
    assert "More than 2 contacts past the decision deadline." in page
    assert "more than 2 past the deadline" in page
    assert _count(page, "Decisions awaiting your review") == 0

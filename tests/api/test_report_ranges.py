"""Report ranges are bounded: both ends are checked and a range longer than MAX_RANGE_DAYS is refused.

Issue 18: ``/api/v1/reports/dashboard?from=0410-06-26&to=8450-09-08`` built 376 MB in 41 s and
stalled every other request; a bad ``from`` must be named, never quietly replaced by a default.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import sign_in
from triage.http.args import MAX_RANGE_DAYS
from triage.reporting.exports import TRAINING_DAYS as MAX_TRAINING_DAYS

DASHBOARD = "/api/v1/reports/dashboard"
EXPORTS = ["/api/v1/exports/annex-a/list-1.csv", "/api/v1/exports/annex-a/list-3.csv"]


def problem(client, person, url: str) -> dict:
    response = client.get(url, headers=person.headers)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    return response.get_json()


@pytest.mark.parametrize("url", [DASHBOARD, *EXPORTS])
def test_the_issues_range_is_refused_naming_both_ends(client, people, url):
    body = problem(client, people["manager"], f"{url}?from=0410-06-26&to=8450-09-08")
    assert set(body["errors"]) == {"from", "to"}


@pytest.mark.parametrize("url", [DASHBOARD, *EXPORTS])
def test_a_range_longer_than_the_maximum_is_refused_with_the_maximum_named(client, people, url):
    body = problem(client, people["manager"], f"{url}?from=2020-01-01&to=2026-11-20")
    assert f"{MAX_RANGE_DAYS} days" in body["errors"]["from"][0]


def test_the_training_export_keeps_ten_years_and_no_more(client, people):
    body = problem(client, people["manager"], "/api/v1/exports/training.jsonl?from=2000-01-01&to=2026-11-20")
    assert f"{MAX_TRAINING_DAYS} days" in body["errors"]["from"][0]


def test_a_bad_from_is_an_error_even_with_a_good_to(client, people):
    body = problem(client, people["manager"], f"{DASHBOARD}?from=yesterday&to=2026-11-20")
    assert set(body["errors"]) == {"from"}


def test_both_bad_ends_are_named_together(client, people):
    body = problem(client, people["manager"], f"{DASHBOARD}?from=yesterday&to=2026-13-01")
    assert set(body["errors"]) == {"from", "to"}


def test_the_longest_allowed_range_is_answered(client, people):
    response = client.get(f"{DASHBOARD}?from=2025-11-21&to=2026-11-20", headers=people["manager"].headers)
    assert response.status_code == 200  # 2025-11-21..2026-11-20 is 365 days, both included
    assert client.get(f"{DASHBOARD}?from=2025-11-19&to=2026-11-20",
                      headers=people["manager"].headers).status_code == 422  # 367 days


@pytest.mark.parametrize("query", ["?to=9999-12-31", "?from=0001-01-01&to=0001-01-02", "?from=9999-12-31"])
def test_far_off_years_are_refused_not_a_500(client, people, query):
    problem(client, people["manager"], DASHBOARD + query)


def test_the_dashboard_page_names_a_too_long_range(app, client, people):
    sign_in(client, people["manager"])
    response = client.get("/reports/dashboard?from=2020-01-01&to=2026-11-20")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'href="#from"' in page and f"{MAX_RANGE_DAYS} days" in page


# Found by the fuzzing (issue 18 item 12): the document and the service disagreed on these.

@pytest.mark.parametrize("query", ["to=20261120", "to=2026-W47-5", "from=2026-11-2"])
def test_a_day_is_written_yyyy_mm_dd_and_nothing_else(client, people, query):
    """``date.fromisoformat`` also takes the basic and week forms; the document says YYYY-MM-DD."""
    body = problem(client, people["manager"], f"{DASHBOARD}?{query}")
    assert set(body["errors"]) == {query.split("=")[0]}


@pytest.mark.parametrize("month", ["٢٠٢٦-11", "1999-12", "2100-01", "2026-13"])
def test_a_month_is_yyyy_mm_in_ascii_digits_within_the_years_reported_on(client, people, month):
    body = problem(client, people["partner"], f"/api/v1/reports/partners/1?month={month}")
    assert set(body["errors"]) == {"month"}


def test_a_partner_report_in_an_unknown_format_is_refused_not_answered_as_json(client, people):
    body = problem(client, people["partner"], "/api/v1/reports/partners/1?format=xml")
    assert set(body["errors"]) == {"format"}


@pytest.mark.parametrize("url", ["/api/v1/feedback?form=2026-11-01", f"{DASHBOARD}?form=2026-11-01",
                                 "/api/v1/reports/partners/1?monht=2026-11", f"{EXPORTS[0]}?from=2026-11-01&x=1"])
def test_a_misspelt_query_parameter_is_refused_not_ignored(client, people, url):
    who = people["partner"] if "feedback" in url or "partners" in url else people["manager"]
    body = problem(client, who, url)
    assert set(body["errors"]) <= {"form", "monht", "x"} and body["errors"]


@pytest.mark.parametrize("query", ["from=&to=", "month=&format="])
def test_an_empty_value_is_the_same_as_leaving_it_out_as_the_document_says(client, people, query):
    url = DASHBOARD if query.startswith("from") else "/api/v1/reports/partners/1"
    who = people["manager"]
    assert client.get(f"{url}?{query}", headers=who.headers).status_code in (200, 404)

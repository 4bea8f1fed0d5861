"""Spec section 7 and the report and export endpoints, through the API with real tokens.

A partner sees feedback only on its own organisation's contacts, only once a manager has
confirmed the decision and released the feedback, and never the front door's own notes.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from tests.decision_support import decide, review, submit
from triage.engine.workdays import LONDON
from triage.extensions import db
from triage.record.tables import Contact, FeedbackRelease
from triage.reporting.exports import LIST_1_HEADINGS, LIST_3_HEADINGS

SECRET = "INTERNAL-RATIONALE: the worker's own reasoning, which only the front door may read."


def recommended(app, contact_id: str) -> int:
    with app.app_context():
        return db.session.get(Contact, contact_id).recommended_level


def decide_and_confirm(app, client, people, contact_id: str, *, level: int | None = None) -> None:
    level = level or recommended(app, contact_id)
    made = decide(client, people["practitioner"], contact_id, level=level, rationale=SECRET,
                  override_reason="A different level after checks." if level != recommended(app, contact_id) else None)
    assert made.status_code == 201, made.get_json()
    assert review(client, people["manager"], contact_id).status_code == 201


def release(client, manager, contact_id: str):
    return client.post(f"/api/v1/contacts/{contact_id}/feedback/release", headers=manager.headers)


def feed(client, partner, **query):
    response = client.get("/api/v1/feedback", query_string=query, headers=partner.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_feedback_reaches_the_partner_only_after_confirmation_and_release(app, client, people):
    partner, manager = people["partner"], people["manager"]
    contact_id = submit(client, partner)
    assert release(client, manager, contact_id).status_code == 409  # not decided yet
    made = decide(client, people["practitioner"], contact_id, level=recommended(app, contact_id), rationale=SECRET)
    assert made.status_code == 201
    refused = release(client, manager, contact_id)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert review(client, manager, contact_id).status_code == 201
    assert feed(client, partner) == []  # confirmed but not released

    preview = client.get(f"/api/v1/contacts/{contact_id}/feedback/preview", headers=manager.headers)
    assert preview.status_code == 200 and preview.get_json()["released"] is False
    released = release(client, manager, contact_id)
    assert released.status_code == 201, released.get_json()
    assert release(client, manager, contact_id).status_code == 409  # the same text again

    items = feed(client, partner)
    assert [i["contact_id"] for i in items] == [contact_id]
    item = items[0]
    assert item["level"] == recommended(app, contact_id)
    assert item["level_name"] and item["reason"] and "consent" in item and "information_gaps" in item
    assert "INTERNAL" not in str(item) and people["manager"].email not in str(item)
    history = client.get(f"/api/v1/contacts/{contact_id}/history", headers=manager.headers).get_json()
    assert "feedback_released" in [e["kind"] for e in history["events"]]


def test_another_organisations_feedback_is_never_shown(app, client, people, make_person):
    school = make_person("partner", organisation="Demo Primary School")
    contact_id = submit(client, people["partner"])
    decide_and_confirm(app, client, people, contact_id)
    assert release(client, people["manager"], contact_id).status_code == 201
    assert feed(client, school) == []
    assert len(feed(client, people["partner"])) == 1


@pytest.mark.parametrize("role", ["practitioner", "partner", "admin"])
def test_only_managers_preview_and_release(app, client, people, role):
    contact_id = submit(client, people["partner"])
    decide_and_confirm(app, client, people, contact_id)
    person = people[role]
    assert client.get(f"/api/v1/contacts/{contact_id}/feedback/preview", headers=person.headers).status_code == 403
    assert release(client, person, contact_id).status_code == 403


@pytest.mark.parametrize("role", ["practitioner", "manager", "admin"])
def test_only_partners_read_the_feedback_list(client, people, role):
    assert client.get("/api/v1/feedback", headers=people[role].headers).status_code == 403


def test_feedback_is_newest_first_and_filtered_by_release_day(app, client, people):
    first, second = submit(client, people["partner"]), submit(client, people["partner"])
    for contact_id in (first, second):
        decide_and_confirm(app, client, people, contact_id)
        assert release(client, people["manager"], contact_id).status_code == 201
    with app.app_context():  # move the first release back a week (a copy of the row, as if released then)
        row = db.session.query(FeedbackRelease).filter_by(contact_id=first).one()
        week_ago = datetime.now(timezone.utc) - timedelta(days=7)
        db.session.add(FeedbackRelease(contact_id=first, content=row.content, released_by_id=row.released_by_id,
                                       released_at=week_ago))
        db.session.commit()
    today = datetime.now(timezone.utc).astimezone(LONDON).date()
    assert [i["contact_id"] for i in feed(client, people["partner"])] == [second, first]
    assert [i["contact_id"] for i in feed(client, people["partner"], **{"from": today.isoformat()})] == [second]
    earlier = (today - timedelta(days=2)).isoformat()
    assert [i["contact_id"] for i in feed(client, people["partner"], to=earlier)] == [first]
    bad = client.get("/api/v1/feedback?from=20-11-2026", headers=people["partner"].headers)
    assert bad.status_code == 422 and "from" in bad.get_json()["errors"]


def test_partner_report_is_for_managers_and_the_partners_own_organisation(app, client, people, make_person):
    contact_id = submit(client, people["partner"])
    decide_and_confirm(app, client, people, contact_id)
    with app.app_context():
        org_id = db.session.get(Contact, contact_id).organisation_id
        month = db.session.get(Contact, contact_id).accepted_at.astimezone(LONDON).strftime("%Y-%m")
    url = f"/api/v1/reports/partners/{org_id}?month={month}"
    report = client.get(url, headers=people["manager"].headers)
    assert report.status_code == 200
    body = report.get_json()
    assert body["organisation"]["name"] == "Demo Police" and body["month"] == month
    assert body["figures"]["contacts"] == 1 and body["figures"]["decided"] == 1
    assert client.get(url, headers=people["partner"].headers).status_code == 200
    school = make_person("partner", organisation="Demo Primary School")
    assert client.get(url, headers=school.headers).status_code == 404
    assert client.get(url, headers=people["practitioner"].headers).status_code == 403
    as_csv = client.get(url + "&format=csv", headers=people["manager"].headers)
    assert as_csv.mimetype == "text/csv"
    assert next(csv.reader(io.StringIO(as_csv.get_data(as_text=True)))) == ["Measure", "Value"]
    assert client.get(f"/api/v1/reports/partners/{org_id}?month=11-2026",
                      headers=people["manager"].headers).status_code == 422
    listed = client.get("/api/v1/reports/partners", headers=people["manager"].headers).get_json()["items"]
    assert listed == [{"id": org_id, "name": "Demo Police", "contacts": 1}]


def test_the_partner_list_names_every_sender_and_counts_the_month_asked(app, client, people, make_person):
    """Every organisation that ever sent a contact is listed; its count is the month's (this month by
    default), not every contact it ever sent (which cost the size of the store to count)."""
    school = make_person("partner", organisation="Riverside Primary")
    submit(client, people["partner"])
    old = submit(client, school, organisation="Riverside Primary",
                 source={"code": "2A", "organisation": "Riverside Primary"})
    earlier = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
    with app.app_context():
        db.session.get(Contact, old).accepted_at = earlier
        db.session.commit()
    headers = people["manager"].headers
    now = client.get("/api/v1/reports/partners", headers=headers).get_json()
    assert now["month"] == datetime.now(LONDON).strftime("%Y-%m")
    assert [(i["name"], i["contacts"]) for i in now["items"]] == [("Demo Police", 1), ("Riverside Primary", 0)]
    march = client.get("/api/v1/reports/partners?month=2026-03", headers=headers).get_json()
    assert [(i["name"], i["contacts"]) for i in march["items"]] == [("Demo Police", 0), ("Riverside Primary", 1)]
    bad = client.get("/api/v1/reports/partners?month=2026-13", headers=headers)
    assert bad.status_code == 422 and "month" in bad.get_json()["errors"]


def test_dashboard_counts_the_stored_decisions(app, client, people):
    ids = [submit(client, people["partner"]) for _ in range(3)]
    decide_and_confirm(app, client, people, ids[0])
    with app.app_context():
        received = db.session.get(Contact, ids[0]).accepted_at.astimezone(LONDON).date().isoformat()
    response = client.get(f"/api/v1/reports/dashboard?from={received}&to={received}",
                          headers=people["manager"].headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["contacts"] == 3
    assert body["per_day"]["days"] == [{"date": received, "total": 3, "by_source": {"6": 3}}]
    assert body["conversion"]["decided"] == 1
    assert body["timeliness"]["decisions"]["made"] == 1
    assert client.get("/api/v1/reports/dashboard", headers=people["partner"].headers).status_code == 403
    empty = client.get("/api/v1/reports/dashboard?from=2026-11-20&to=2026-11-19", headers=people["manager"].headers)
    assert empty.status_code == 422


def test_annex_a_exports_have_the_lists_headings_and_one_row_per_child(app, client, people):
    from tests.factories import child

    two = submit(client, people["partner"], children=[child(sex="male"), child(sex="female", ethnicity="WBRI")])
    decide_and_confirm(app, client, people, two, level=3)
    with app.app_context():
        day = db.session.get(Contact, two).accepted_at.astimezone(LONDON).date().isoformat()
    query = f"?from={day}&to={day}"
    list_1 = client.get("/api/v1/exports/annex-a/list-1.csv" + query, headers=people["manager"].headers)
    assert list_1.status_code == 200 and list_1.mimetype == "text/csv"
    assert "attachment" in list_1.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(list_1.get_data(as_text=True))))
    assert tuple(rows[0]) == LIST_1_HEADINGS and len(rows) == 3
    assert [r[1] for r in rows[1:]] == ["1", "2"] and rows[2][2] == "WBRI" and rows[1][6] == "6"
    list_3 = client.get("/api/v1/exports/annex-a/list-3.csv" + query, headers=people["manager"].headers)
    rows = list(csv.reader(io.StringIO(list_3.get_data(as_text=True))))
    assert tuple(rows[0]) == LIST_3_HEADINGS and len(rows) == 3
    assert all(r[7] == "No" and r[8] == "1" for r in rows[1:])


@pytest.mark.parametrize("path", ["/api/v1/exports/annex-a/list-1.csv", "/api/v1/exports/annex-a/list-3.csv",
                                  "/api/v1/exports/training.jsonl", "/api/v1/reports/partners"])
@pytest.mark.parametrize("role", ["practitioner", "partner", "admin"])
def test_exports_are_for_managers_only(client, people, path, role):
    assert client.get(path, headers=people[role].headers).status_code == 403


def test_training_export_reads_back_with_the_training_reader(app, client, people, tmp_path):
    from training.train import read_records

    confirmed, pending = submit(client, people["partner"]), submit(client, people["partner"])
    decide_and_confirm(app, client, people, confirmed, level=3)
    response = client.get("/api/v1/exports/training.jsonl", headers=people["manager"].headers)
    assert response.status_code == 200
    path = tmp_path / "confirmed.jsonl"
    path.write_bytes(response.get_data())
    records = read_records(path)
    assert [r["expert_level"] for r in records] == [3]
    assert records[0]["contact"]["partner_reference"] != pending
    with app.app_context():
        assert records[0]["contact"] == db.session.get(Contact, confirmed).payload


def test_two_managers_releasing_at_once_make_one_release(app, client, people, make_person):
    from tests.decision_support import race

    contact_id = submit(client, people["partner"])
    decide_and_confirm(app, client, people, contact_id)
    other = make_person("manager")
    path = f"/api/v1/contacts/{contact_id}/feedback/release"
    statuses = race(app, [(path, people["manager"].headers, {}), (path, other.headers, {})])
    assert sorted(statuses) == [201, 409]
    with app.app_context():
        assert db.session.query(FeedbackRelease).filter_by(contact_id=contact_id).count() == 1


def _export_reads(app, contact_id: str) -> list[tuple[str, str]]:
    """The exports the contact's history shows it was in (each export is one event naming its contacts)."""
    from triage.record import audit

    with app.app_context():
        events = [e for e in audit.history(contact_id) if e.kind == "viewed"]
        return [(e.data.get("what"), e.actor) for e in events if e.data.get("via") == "export"]


def test_every_export_is_recorded_as_a_read_of_each_contact_in_it(app, client, people):
    referral, early_help, undecided = (submit(client, people["partner"]) for _ in range(3))
    decide_and_confirm(app, client, people, referral, level=3)
    decide_and_confirm(app, client, people, early_help, level=2)
    with app.app_context():
        day = db.session.get(Contact, referral).accepted_at.astimezone(LONDON).date().isoformat()
    manager = people["manager"]
    for path in ("annex-a/list-1.csv", "annex-a/list-3.csv", "training.jsonl"):
        assert client.get(f"/api/v1/exports/{path}?from={day}&to={day}", headers=manager.headers).status_code == 200
    label = _export_reads(app, referral)[0][1]
    assert label.startswith(manager.email)
    assert _export_reads(app, referral) == [("annex-a-list-1", label), ("annex-a-list-3", label),
                                            ("confirmed-decisions", label)]
    assert _export_reads(app, early_help) == [("annex-a-list-1", label), ("confirmed-decisions", label)]
    assert _export_reads(app, undecided) == [("annex-a-list-1", label)]
    with app.app_context():
        from triage.record import audit

        assert audit.verify().ok


def test_the_feedback_list_comes_a_page_at_a_time_and_the_pages_are_the_whole_list(app, client, people, monkeypatch):
    partner = people["partner"]
    ids = [submit(client, partner) for _ in range(5)]
    for contact_id in ids:
        decide_and_confirm(app, client, people, contact_id)
        assert release(client, people["manager"], contact_id).status_code == 201
    with app.app_context():  # the first contact's feedback released again, later: it is read once, first
        row = db.session.query(FeedbackRelease).filter_by(contact_id=ids[0]).one()
        db.session.add(FeedbackRelease(contact_id=ids[0], content=row.content, released_by_id=row.released_by_id,
                                       released_at=datetime.now(timezone.utc) + timedelta(seconds=1)))
        db.session.commit()
    newest_first = [ids[0], *reversed(ids[1:])]

    seen, cursor, sizes = [], None, []
    while True:
        response = client.get("/api/v1/feedback", query_string={"per_page": 2, **({"cursor": cursor} if cursor else {})},
                              headers=partner.headers)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert (page["total"], page["total_capped"], page["per_page"]) == (5, False, 2)
        seen += [i["contact_id"] for i in page["items"]]
        sizes.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first and sizes == [2, 2, 1]
    whole = client.get("/api/v1/feedback", headers=partner.headers).get_json()
    assert [i["contact_id"] for i in whole["items"]] == newest_first and whole["next_cursor"] is None

    import triage.record.paging as paging
    import triage.services.feedback as service
    monkeypatch.setattr(paging, "COUNT_LIMIT", 3)  # the answer's cap
    monkeypatch.setattr(service, "COUNT_LIMIT", 3)  # how far the service counts
    capped = client.get("/api/v1/feedback", headers=partner.headers).get_json()
    assert (capped["total"], capped["total_capped"], len(capped["items"])) == (3, True, 5)


@pytest.mark.parametrize("query, named", [
    ("cursor=not-a-page-link", "cursor"),
    ("per_page=0", "per_page"),
    ("per_page=201", "per_page"),
    ("page=2", "page"),
])
def test_a_bad_page_of_feedback_is_a_clear_422(client, people, query, named):
    response = client.get(f"/api/v1/feedback?{query}", headers=people["partner"].headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert named in response.get_json()["errors"]

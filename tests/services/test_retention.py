"""The retention rule (issue 18 item 13): contacts that led to no further action, past the council's
period, lose their personal content; the record still verifies, and nothing else is touched.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests.decision_support import decision_body, pin, review_body
from tests.factories import contact_payload
from triage.extensions import db
from triage.record.tables import Child, Contact, Event, utcnow
from triage.services import retention
from triage.settings import SettingsError, load_settings

NARRATIVE = "Neighbour heard shouting at 14 Acacia Avenue; Jo Bloggs (mother) said the child was asleep."
SIX_YEARS = 72


def contact(client, people, app, level: int, *, confirm: bool = True) -> str:
    pin(app, level=level, floor=None)
    body = contact_payload(narrative=NARRATIVE, source={"code": "6", "organisation": "Demo Police",
                                                          "team": "Safeguarding Hub",
                                                          "referrer": {"name": "PC Sam Smith", "email": "s@p.example"}})
    contact_id = client.post("/api/v1/contacts", json=body, headers=people["partner"].headers).get_json()["id"]
    assert client.post(f"/api/v1/contacts/{contact_id}/decision", json=decision_body(level=level, consent="obtained"),
                       headers=people["practitioner"].headers).status_code == 201
    if confirm:
        assert client.post(f"/api/v1/contacts/{contact_id}/review", json=review_body(),
                           headers=people["manager"].headers).status_code == 201
    return contact_id


@pytest.fixture
def contacts(app, client, people) -> dict[str, str]:
    return {"nfa": contact(client, people, app, 1), "early_help": contact(client, people, app, 2),
            "unconfirmed": contact(client, people, app, 1, confirm=False)}


def stored(app, contact_id: str) -> tuple[dict, list[str]]:
    with app.app_context():
        row = db.session.get(Contact, contact_id)
        return dict(row.payload), [c.child_reference for c in row.children]


def verify(runner) -> str:
    result = runner.invoke(args=["triage", "audit-verify"])
    assert result.exit_code == 0, result.output
    return result.output


def later(years: float):
    return utcnow() + timedelta(days=365.25 * years)


def test_past_retention_an_nfa_contact_loses_its_personal_content_and_the_record_verifies(app, contacts, runner):
    untouched = {name: stored(app, contacts[name]) for name in ("early_help", "unconfirmed")}
    with app.app_context():
        outcome = retention.apply(later(6.1), SIX_YEARS)
        assert (outcome.due, outcome.applied) == (1, 1)
    payload, references = stored(app, contacts["nfa"])
    assert NARRATIVE not in str(payload) and "PC Sam Smith" not in str(payload) and "Safeguarding Hub" not in str(payload)
    assert set(payload) <= {"partner_reference", "received_at", "primary_concern", "factors", "consent",
                            "referrer_request", "source", "children"}
    assert payload["source"] == {"code": "6", "organisation": "Demo Police"}
    assert references == ["removed"] and all(set(c) <= {"child_reference", "age_years", "unborn", "current_status"}
                                             for c in payload["children"])
    for name, before in untouched.items():  # not level 1, or not confirmed: kept whole
        assert stored(app, contacts[name]) == before
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.kind == "retention_applied"))
        assert event.contact_id == contacts["nfa"] and event.data["content_digest"]
        assert NARRATIVE not in str(event.data)
    assert "intact" in verify(runner)


def test_within_retention_nothing_is_removed(app, contacts):
    before = stored(app, contacts["nfa"])
    with app.app_context():
        assert retention.apply(later(5.9), SIX_YEARS).due == 0
    assert stored(app, contacts["nfa"]) == before


def test_a_second_run_changes_nothing(app, contacts, runner):
    with app.app_context():
        retention.apply(later(7), SIX_YEARS)
        events = db.session.scalar(select(db.func.count()).select_from(Event))
        assert retention.apply(later(7), SIX_YEARS).due == 0
        assert db.session.scalar(select(db.func.count()).select_from(Event)) == events
    verify(runner)


def test_an_edit_after_retention_is_still_named_by_audit_verify(app, contacts, runner):
    with app.app_context():
        retention.apply(later(7), SIX_YEARS)
        child = db.session.scalar(select(Child).where(Child.contact_id == contacts["nfa"]))
        db.session.execute(text("UPDATE children SET child_reference = 'Jo Bloggs' WHERE id = :id"), {"id": child.id})
        db.session.commit()
    result = runner.invoke(args=["triage", "audit-verify"])
    assert result.exit_code == 1 and contacts["nfa"] in result.output


def test_the_command_dry_run_counts_and_changes_nothing_then_applies(app, contacts, runner, monkeypatch):
    monkeypatch.setattr(retention, "utcnow", lambda: later(6.5))
    before = stored(app, contacts["nfa"])
    dry = runner.invoke(args=["triage", "apply-retention", "--dry-run"])
    assert dry.exit_code == 0 and "1 contact(s)" in dry.output and "would be pseudonymised" in dry.output
    assert stored(app, contacts["nfa"]) == before
    done = runner.invoke(args=["triage", "apply-retention"])
    assert done.exit_code == 0 and "1 contact(s)" in done.output and "pseudonymised" in done.output
    assert NARRATIVE not in str(stored(app, contacts["nfa"])[0])
    verify(runner)


def test_a_pseudonymised_contact_still_reads_as_the_document_says(app, client, contacts, people):
    with app.app_context():
        retention.apply(later(7), SIX_YEARS)
    answer = client.get(f"/api/v1/contacts/{contacts['nfa']}", headers=people["practitioner"].headers)
    assert answer.status_code == 200
    assert answer.get_json()["children"][0]["child_reference"] == "removed"
    assert answer.get_json()["review"]["level"] == 1  # the outcome and its reasons are kept


@pytest.mark.parametrize("value", ["0", "-1", "six years", "1201"])
def test_the_period_must_be_a_sensible_number_of_months(monkeypatch, value):
    monkeypatch.setenv("TRIAGE_RETENTION_NFA_MONTHS", value)
    with pytest.raises(SettingsError, match="TRIAGE_RETENTION_NFA_MONTHS"):
        load_settings("test")


def test_a_pseudonymised_contact_page_still_opens_without_the_removed_content(app, client, contacts, people):
    from tests.web.conftest import sign_in

    with app.app_context():
        retention.apply(later(7), SIX_YEARS)
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contacts['nfa']}")
    assert page.status_code == 200
    assert NARRATIVE not in page.get_data(as_text=True)

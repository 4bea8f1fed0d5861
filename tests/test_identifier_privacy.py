"""A child's NHS number and UPN never leave the request that brought them (spec section 9).

One full journey (intake with identifiers, a retry, a refused one, the contact through the API
and the pages, the child's history, the decision and review, feedback, reports and every
export) with every response body and every log line captured, then searched for the
identifiers' characters; and the whole store dumped and searched the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import inspect, text

from tests.decision_support import RATIONALE, REVIEW_RATIONALE
from tests.factories import child, contact_payload
from tests.web.conftest import sign_in
from triage.extensions import db

NHS = "9434765919"
UPN = "B801200005001"
WRONG_NHS = "9434765911"
SECRETS = (NHS, UPN, WRONG_NHS, UPN[1:])  # the UPN's digits alone too


class Recorder:
    """Every response body the journey receives."""

    def __init__(self, client):
        self.client = client
        self.bodies: list[str] = []

    def __call__(self, method: str, path: str, person=None, **kwargs):
        headers = person.headers if person is not None else {}
        response = getattr(self.client, method)(path, headers=headers, **kwargs)
        self.bodies.append(f"{method.upper()} {path} {response.status_code}\n" + response.get_data(as_text=True)
                           + "\n" + str(dict(response.headers)))
        return response


def test_no_response_log_line_or_stored_row_holds_an_identifier(app, client, people, caplog):
    caplog.set_level(logging.DEBUG)
    call = Recorder(client)
    partner, worker, manager = people["partner"], people["practitioner"], people["manager"]
    payload = contact_payload(children=[child(identifiers={"nhs_number": NHS, "upn": UPN})])

    created = call("post", "/api/v1/contacts", partner, json=payload)
    assert created.status_code == 201
    contact_id, child_id = created.get_json()["id"], created.get_json()["children"][0]["child_id"]
    assert call("post", "/api/v1/contacts", partner, json=payload).status_code == 200  # a retry
    refused = contact_payload(children=[child(identifiers={"nhs_number": WRONG_NHS})])
    assert call("post", "/api/v1/contacts", partner, json=refused).status_code == 422
    second = call("post", "/api/v1/contacts", partner,
                  json=contact_payload(children=[child(identifiers={"nhs_number": NHS})])).get_json()["id"]

    for path in (f"/api/v1/contacts/{contact_id}", "/api/v1/contacts", f"/api/v1/contacts/{contact_id}/history",
                 f"/api/v1/children/{child_id}/history", "/api/v1/queues/awaiting-decision"):
        assert call("get", path, worker).status_code == 200
    decided = call("post", f"/api/v1/contacts/{contact_id}/decision", worker,
                   json={"level": 3, "rationale": RATIONALE, "marac_referral": False,
                         "override_reason": "The test states the level it is about, whatever the model says."})
    assert decided.status_code == 201
    assert call("post", f"/api/v1/contacts/{contact_id}/review", manager,
                json={"outcome": "confirmed", "rationale": REVIEW_RATIONALE}).status_code == 201
    assert call("post", f"/api/v1/contacts/{contact_id}/feedback/release", manager).status_code == 201
    assert call("get", "/api/v1/feedback", partner).status_code == 200
    assert call("get", f"/api/v1/contacts/{contact_id}", partner).status_code == 200

    day = datetime.now(timezone.utc).date().isoformat()
    for path in (f"/api/v1/exports/annex-a/list-1.csv?from={day}&to={day}",
                 f"/api/v1/exports/annex-a/list-3.csv?from={day}&to={day}",
                 "/api/v1/exports/training.jsonl", "/api/v1/reports/partners", "/api/v1/reports/dashboard"):
        assert call("get", path, manager).status_code == 200, path
    list_3 = call.bodies[-4]
    assert child_id in list_3  # the service's own id stands for the child in Annex A

    sign_in(client, worker)
    for path in (f"/contacts/{second}", f"/contacts/{contact_id}", "/contacts",
                 f"/children?child={child_id}&contact={second}", "/children?q=" + contact_id):
        assert call("get", path).status_code == 200, path
    assert "Known to us" in call.bodies[-5]

    for secret in SECRETS:
        for body in call.bodies:
            assert secret not in body, body.splitlines()[0]
        assert secret not in caplog.text
    with app.app_context():
        for table in inspect(db.engine).get_table_names():
            dump = " ".join(str(row) for row in db.session.execute(text(f"SELECT * FROM {table}")).all())
            for secret in SECRETS:
                assert secret not in dump, table

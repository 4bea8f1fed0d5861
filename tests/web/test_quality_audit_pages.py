"""The quality audit on the pages: draw a month, audit an assigned decision, read the results and the CSV."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from tests.decision_support import pin
from tests.services.test_quality_audit import LEARNING, _decided_month
from tests.web.conftest import sign_in
from triage.extensions import db
from triage.record import audit
from triage.record.tables import AuditAssignment, Event


def test_draw_audit_and_read_the_results(app, client, people):
    app.config["WTF_CSRF_ENABLED"] = False
    pin(app, level=3, floor=2)
    with app.app_context():
        month = _decided_month(app, people)
        label = month["label"]
    sign_in(client, people["manager"])
    home = client.get("/quality-audit").get_data(as_text=True)
    assert "Draw the sample" in home
    bad = client.post("/quality-audit", data={"month": "November", "per_practitioner": "2"})
    assert bad.status_code == 422 and "YYYY-MM" in bad.get_data(as_text=True)
    drawn = client.post("/quality-audit", data={"month": label, "per_practitioner": "2", "seed": "77"})
    assert drawn.status_code == 302
    page = client.get(drawn.headers["Location"]).get_data(as_text=True)
    assert "seed 77" in page and page.count('class="govuk-table__row"') == 7  # heading and six decisions

    with app.app_context():
        mine = db.session.scalars(select(AuditAssignment).where(AuditAssignment.auditor_id == people["manager"].id)).all()
        assert mine, "the test manager took no part, so has audits"
        target = mine[0].id
    form = client.get(f"/quality-audit/audits/{target}").get_data(as_text=True)
    assert "Record the audit" in form
    refused = client.post(f"/quality-audit/audits/{target}", data={"level": "", "grade": "", "learning": ""})
    assert refused.status_code == 422 and "Choose a grade" in refused.get_data(as_text=True)
    done = client.post(f"/quality-audit/audits/{target}", data={"level": "3", "grade": "good", "learning": LEARNING})
    assert done.status_code == 302

    results = client.get(f"/quality-audit/results?from={label}&to={label}").get_data(as_text=True)
    assert re.search(r"1 of 6 drawn decisions audited", results)
    assert LEARNING in results
    download = client.get(f"/quality-audit/results.csv?from={label}&to={label}")
    table = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert table[0][0] == "Month" and len(table) == 7 and sum(1 for r in table[1:] if r[11] == "Good") == 1
    with app.app_context():
        assert db.session.scalars(select(Event).where(Event.kind == "viewed")).all()
        assert audit.verify().ok


def test_practitioners_cannot_open_the_quality_audit(client, people):
    sign_in(client, people["practitioner"])
    assert client.get("/quality-audit").status_code == 403

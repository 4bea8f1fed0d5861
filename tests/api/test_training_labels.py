"""The training export marks audited labels: the quality audit's level wins over the practice decision."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.decision_support import pin
from tests.services.test_quality_audit import _decided_month
from triage.extensions import db
from triage.record.tables import AuditAssignment, Contact, User
from triage.services import quality_audit


def test_the_training_export_uses_and_marks_audited_levels(app, client, people):
    pin(app, level=3, floor=2)
    with app.app_context():
        month = _decided_month(app, people)
        sample = quality_audit.draw_sample(month["label"], month["mB"], seed=9, per_practitioner=1)
        audited = sample.assignments[0]
        quality_audit.record_finding(audited, db.session.get(User, audited.auditor_id), level=2,
                                     grade="requires_improvement",
                                     learning="The indicators met point to early help with consent, not assessment.")
        reference = db.session.get(Contact, audited.contact_id).partner_reference
        decided = audited.decision.level
        not_audited = db.session.scalars(select(AuditAssignment)).all()[1].contact.partner_reference
    response = client.get("/api/v1/exports/training.jsonl", headers=people["manager"].headers)
    assert response.status_code == 200
    records = {r["contact"]["partner_reference"]: r for r in map(json.loads, response.get_data(as_text=True).splitlines())}
    assert len(records) == 12
    assert (records[reference]["expert_level"], records[reference]["label_source"],
            records[reference]["practice_level"]) == (2, "audited", decided)
    assert records[not_audited]["label_source"] == "practice"
    assert sum(1 for r in records.values() if r["label_source"] == "audited") == 1

"""The guidance pages (issue 16): versions with what changed, and the manager's what-if with its report."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from tests.api.test_guidance_versions import restart_with, version_b
from tests.decision_support import submit
from tests.services.test_whatif import raised_draft, seeded  # noqa: F401 - the fixture
from tests.web.conftest import sign_in
from triage.extensions import db
from triage.record.tables import Event, ExportContact, ExportList, GuidanceDraft, WhatIfRun
from triage.web import guidance as guidance_pages


def _count(app, table) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(table))


def test_the_versions_page_lists_each_version_and_what_changed(app, client, people, tmp_path):
    submit(client, people["partner"])
    restart_with(app, version_b(tmp_path))
    sign_in(client, people["practitioner"])
    page = client.get("/guidance")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "From 2026.1 to 2026.2" in text and "In force" in text
    assert "<del>guidance_version: &#34;2026.1&#34;</del>" in text or "<del>guidance_version: \"2026.1\"</del>" in text
    assert "<ins>      Domestic abuse in a child&#39;s home (version B wording).</ins>" in text
    assert "unchanged lines" in text
    contact_id = submit(client, people["partner"])
    contact_page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "Threshold guidance" in contact_page and "Version 2026.2" in contact_page


def test_a_manager_uploads_a_draft_runs_it_and_downloads_the_moved_contacts(app, client, people, seeded, tmp_path):  # noqa: F811
    app.config["WTF_CSRF_ENABLED"] = False
    sign_in(client, people["manager"])
    assert client.get("/guidance/what-if").status_code == 200
    draft = raised_draft(tmp_path)
    before = _count(app, Event)
    response = client.post("/guidance/what-if", data={
        "draft": (io.BytesIO(draft.read_bytes()), "draft.yaml"), "from": "2026-10-01", "to": "2026-10-31",
        "model": ""}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    run_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    guidance_pages.RUNNING[run_id].join(timeout=120)
    assert client.get(f"/guidance/what-if/{run_id}/progress").get_json() == {"status": "done", "done": 9, "total": 9}
    page = client.get(f"/guidance/what-if/{run_id}").get_data(as_text=True)
    assert "1 Oct 2026 to 31 Oct 2026" in page
    assert "5 (5 raised, 0 lowered)" in page  # floors changed, as the hand count in tests/services found
    assert "Decisions that would sit below the draft's floor (3)" in page
    assert 'role="img"' in page and "<desc" in page  # charts with their text
    # The draft kept with its hash, and the run recorded (who, which file, which window): nothing else.
    with app.app_context():
        kinds = [e.kind for e in db.session.scalars(select(Event).where(Event.seq > before))]
        assert kinds == ["guidance_draft_kept", "what_if_run"]
        kept = db.session.scalar(select(GuidanceDraft))
        assert kept.text == draft.read_text(encoding="utf-8") and kept.filename == "draft.yaml"
    csv_response = client.get(f"/guidance/what-if/{run_id}/moved-contacts.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(csv_response.get_data(as_text=True))))
    assert len(rows) >= 5
    with app.app_context():  # the download is a read of each contact in it
        export = db.session.scalars(select(Event).where(Event.kind == "exported")).all()[-1]
        assert export.data["what"] == f"what-if-run-{run_id}"
        listed = db.session.scalars(select(ExportContact.contact_id).join(ExportList, ExportList.id == ExportContact.list_id)
                                    .where(ExportList.export_id == export.data["export_id"])).all()
        assert set(listed) == {r["Contact"] for r in rows}


def test_a_draft_that_fails_the_checks_is_refused_with_the_start_up_message(app, client, people, tmp_path):
    app.config["WTF_CSRF_ENABLED"] = False
    sign_in(client, people["manager"])
    bad = raised_draft(tmp_path).read_text(encoding="utf-8").replace("equals: sexual_abuse}", "equals: rude}", 1)
    response = client.post("/guidance/what-if", data={
        "draft": (io.BytesIO(bad.encode()), "my-draft.yaml"), "from": "2026-10-01", "to": "2026-10-31"},
        content_type="multipart/form-data")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "my-draft.yaml, line " in text and "&#39;rude&#39; is not a value the contact contract allows" in text
    assert _count(app, GuidanceDraft) == 0 and _count(app, WhatIfRun) == 0
    missing = client.post("/guidance/what-if", data={"from": "31 October", "to": ""},
                          content_type="multipart/form-data")
    assert missing.status_code == 400
    assert "Choose a draft" in missing.get_data(as_text=True) and "Enter a date" in missing.get_data(as_text=True)
    ancient = client.post("/guidance/what-if", data={"from": "0001-01-01", "to": "2026-10-31"},
                          content_type="multipart/form-data")
    assert ancient.status_code == 400 and "Must be a day from 2000-01-01" in ancient.get_data(as_text=True)


def test_only_managers_run_what_ifs(client, people):
    sign_in(client, people["practitioner"])
    assert client.get("/guidance").status_code == 200
    assert client.get("/guidance/what-if").status_code == 403
    assert client.get("/guidance/what-if/1").status_code == 403

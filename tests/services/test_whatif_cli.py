"""``flask triage what-if`` (issue 16): the report on the command line, the CSV, the run recorded, a bad draft."""

from __future__ import annotations

import csv
import hashlib
import io

from sqlalchemy import func, select

from tests.services.test_whatif import DEFAULT, raised_draft, seeded  # noqa: F401 - the fixture
from triage.engine.guidance import GuidanceConfigError, load_guidance
from triage.extensions import db
from triage.record.tables import Event


def events(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event))


def test_the_command_reports_writes_the_csv_and_records_only_the_run(app, runner, seeded, people, tmp_path):  # noqa: F811
    draft = raised_draft(tmp_path)
    out = tmp_path / "moved.csv"
    before = events(app)
    result = runner.invoke(args=["triage", "what-if", "--guidance", str(draft), "--from", "2026-10-01",
                                 "--to", "2026-10-31", "--csv", str(out), "--as", people["manager"].email])
    assert result.exit_code == 0, result.output
    assert "Contacts: 9 (9 with a recommendation to compare, 0 never scored)" in result.output
    assert "Floors changed: 5 (5 raised, 0 lowered)" in result.output
    assert "Decided contacts whose decision would be below the draft's floor: 3" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) >= 5 and all(r["Floor under the draft"] == "3" for r in rows if r["Floor now"] == "2")
    assert events(app) == before + 1
    with app.app_context():
        run = db.session.scalar(select(Event).where(Event.kind == "what_if_run"))
        assert run.actor_id == people["manager"].id
        assert run.data["guidance_sha256"] == hashlib.sha256(draft.read_bytes()).hexdigest()
        assert (run.data["file"], run.data["guidance_version"]) == ("draft.yaml", "2026.2 draft")
        assert run.data["from"].startswith("2026-09-30T23:00") and run.data["to"].startswith("2026-11-01T00:00")  # GMT from 25 October
        assert run.data["contacts"] == 9


def test_the_guidance_in_force_moves_nothing_on_the_command_line(runner, seeded, tmp_path):  # noqa: F811
    out = tmp_path / "moved.csv"
    result = runner.invoke(args=["triage", "what-if", "--guidance", str(DEFAULT), "--from", "2026-10-01",
                                 "--to", "2026-10-31", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "Floors changed: 0 (0 raised, 0 lowered)" in result.output
    assert "Recommendations changed: 0" in result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1  # the headings only


def test_a_draft_that_fails_the_checks_gets_the_start_up_error_and_nothing_is_recorded(app, runner, tmp_path):
    bad = tmp_path / "draft.yaml"
    bad.write_text(DEFAULT.read_text(encoding="utf-8").replace("equals: sexual_abuse}", "equals: rude}", 1))
    try:
        load_guidance(bad)
    except GuidanceConfigError as exc:
        expected = str(exc)
    before = events(app)
    result = runner.invoke(args=["triage", "what-if", "--guidance", str(bad), "--from", "2026-10-01",
                                 "--to", "2026-10-31"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {expected}"
    assert events(app) == before


def test_a_bad_window_or_model_is_refused(runner, tmp_path):
    for args, words in ((["--from", "2026-10-31", "--to", "2026-10-01"], "must start before it ends"),
                        (["--from", "1 Oct", "--to", "2026-10-01"], "YYYY-MM-DD"),
                        (["--from", "0001-01-01", "--to", "2026-10-01"], "from 2000 to 2099"),
                        (["--from", "2026-10-01", "--to", "2026-10-31", "--model", "no-such"], "--model")):
        result = runner.invoke(args=["triage", "what-if", "--guidance", str(DEFAULT), *args])
        assert result.exit_code != 0 and words in result.output, result.output

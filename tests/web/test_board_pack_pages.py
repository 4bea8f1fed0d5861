"""The board pack on the pages and as a PDF, over the seeded demo: figures against a hand count, the PDF renders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.web.conftest import sign_in
from triage.engine.workdays import london_date, london_days
from triage.extensions import db
from triage.record.tables import Contact
from triage.reporting import board_pack
from triage.services import demo


@pytest.fixture
def seeded(app):
    with app.app_context():
        demo.seed(app.extensions["recommender"], count=30)


def test_the_pack_counts_the_demo_as_a_hand_count_does_and_renders_a_pdf(app, client, people, seeded, tmp_path):
    first = london_date(datetime.now(timezone.utc)) - timedelta(days=board_pack.PERIOD_DAYS - 1)
    with app.app_context():
        start, end = london_days(first, first + timedelta(days=board_pack.PERIOD_DAYS - 1))
        contacts = [c for c in db.session.scalars(select(Contact)) if start <= c.accepted_at < end]
        hand = {"demand": len(contacts),
                "police_da": sum(1 for c in contacts if c.source_code == "6" and c.primary_concern == "domestic_abuse"),
                "late": sum(1 for c in contacts if c.accepted_at - c.received_at > timedelta(days=2))}
        spans = board_pack.periods(first)
        pack = board_pack.board_pack(board_pack.load(spans[0], spans[-1]), first, datetime.now(timezone.utc))
    assert pack["demand"][-1] == hand["demand"] > 0
    figures = {f["key"]: f["points"][-1] for f in pack["figures"]}
    assert (figures["police_da"]["count"], figures["police_da"]["of"]) == (hand["police_da"], hand["demand"])
    assert figures["late_notifications"]["count"] == hand["late"] >= 2  # the demo day's two late police notifications

    api = client.get(f"/api/v1/reports/board-pack?from={first.isoformat()}", headers=people["manager"].headers)
    assert api.status_code == 200
    assert [f["points"] for f in api.get_json()["figures"]] == [f["points"] for f in pack["figures"]]
    assert api.get_json()["summary"] == pack["summary"]

    sign_in(client, people["manager"])
    page = client.get(f"/reports/board-pack?from={first.isoformat()}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Demand:" in text and 'role="img"' in text and "Police domestic abuse contacts" in text
    bad = client.get("/reports/board-pack?from=not-a-day")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    pdf = client.get(f"/reports/board-pack.pdf?from={first.isoformat()}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data[:5] == b"%PDF-"

    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(pdf.data)
    assert len(document) >= 2
    first_page_text = document[0].get_textpage().get_text_range()
    assert "Improvement board pack" in first_page_text and "Demand:" in first_page_text
    document[0].render(scale=1).to_pil().save(tmp_path / "board-pack-page-1.png")
    assert (tmp_path / "board-pack-page-1.png").stat().st_size > 10_000


def test_partners_and_practitioners_cannot_see_the_pack(client, people):
    for role in ("practitioner", "partner"):
        sign_in(client, people[role])
        assert client.get("/reports/board-pack").status_code == 403
        assert client.get("/reports/board-pack.pdf").status_code == 403
        client.post("/logout")

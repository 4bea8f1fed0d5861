"""Every kind of event the code can write has a plain-English name, and the contact's history shows it.

The names live beside the kinds (``triage.record.audit.EVENT_NAMES``, which ``record`` checks every
kind against); this reads the source for every kind a call writes, so a new kind written anywhere
without a name fails here, and the contact page shows each name instead of a fallback made from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from markupsafe import escape

from tests.web.conftest import sign_in
from triage.record.audit import EVENT_KINDS, EVENT_NAMES

SOURCE = Path(__file__).resolve().parents[2] / "triage"
#: A kind as the code writes it: audit.record("kind", ...), record("kind", ...) inside the audit
#: module, _append("kind", ...), decisions' _record(contact, target, row, "kind", user, ...), and
#: intake's opening events, audit.record_opening(id, [("kind", user, {...}), ("kind", None, {...})]).
WRITES = re.compile(r"""(?:\brecord|_append)\(\s*"([a-z_]+)"|_record\([^()]*?"([a-z_]+)",\s*user"""
                    r"""|^\s*\(\s*"([a-z_]+)",\s*(?:user|None)\b""", re.MULTILINE)


def written_kinds() -> set[str]:
    kinds = set()
    for path in SOURCE.rglob("*.py"):
        for match in WRITES.finditer(path.read_text(encoding="utf-8")):
            kinds.add(next(group for group in match.groups() if group))
    return kinds


def test_every_kind_the_code_writes_has_a_name():
    written = written_kinds()
    # The scan finds the kinds of each wave of work, so it cannot silently find nothing.
    assert {"received", "decided", "information_requested", "meeting_item_taken", "quality_audited",
            "retention_applied", "exported", "checks_requested"} <= written
    assert written <= set(EVENT_NAMES), f"kinds written without a name: {sorted(written - set(EVENT_NAMES))}"


def test_every_name_is_words_and_no_two_kinds_share_one():
    assert tuple(EVENT_NAMES) == EVENT_KINDS
    for kind, name in EVENT_NAMES.items():
        assert name and "_" not in name and name[0].isupper(), kind
    assert len(set(EVENT_NAMES.values())) == len(EVENT_NAMES)


def test_the_contact_history_names_every_kind_of_event_on_a_contact(app, client, people, store):
    from triage.extensions import db
    from triage.record import audit
    from triage.record.tables import User

    contact_id = store()
    data = {"decided": {"level": 2}, "reviewed": {"outcome": "confirmed", "level": 2}, "scored": {"level": 2},
            "meeting_item_taken": {"outcome": "discussed"}, "quality_audited": {"grade": "good"},
            "checks_requested": {"agency": "health"}}
    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        for kind in EVENT_KINDS:
            audit.record(kind, contact_id=contact_id, user=manager, data=data.get(kind, {}))
        db.session.commit()
    sign_in(client, people["manager"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    history = page[page.index('id="history"'):]
    for kind, name in EVENT_NAMES.items():
        assert str(escape(name)) in history, kind
        assert "_" not in kind or kind not in history, kind  # never the code itself
    assert "Taken at the domestic abuse meeting: discussed, no decision made in the meeting" in history
    assert "Decision audited for quality: good" in history

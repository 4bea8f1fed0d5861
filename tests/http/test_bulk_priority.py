"""Reports and exports are served at a lower CPU priority, and the thread takes its own back (issue 19).

The thread serving a path under ``BULK_PATHS`` runs at the ``BULK_NICE`` setting for the whole answer, its
streamed rows included; every other request runs at the thread's own priority; once the answer
is closed the thread has its own again. A process that could not take it back lowers nothing.
"""

from __future__ import annotations

import pytest
from flask import Flask, Response, stream_with_context

from tests.record.test_priority import _now as _priority
from tests.record.test_priority import own as _ends_at_own_priority  # noqa: F401 - the autouse fixture
from triage.http import bulk_priority
from triage.record import priority
from triage.reporting import exports
from triage.settings import load_settings

needs_the_right = pytest.mark.skipif(not priority.can_restore(),
                                     reason="this process may not raise a thread's priority again")


def _lowered(own: int) -> int:
    return min(own + 19, 19)  # the default setting, TRIAGE_BULK_NICE=19


def _service() -> tuple[Flask, list[int]]:
    """A bare app with a streamed report and an ordinary request, each noting the priority it ran at."""
    app = Flask(__name__)
    app.config["BULK_NICE"] = load_settings("test")["BULK_NICE"]
    bulk_priority.init_app(app)
    seen: list[int] = []

    def rows():
        for row in ("a,b\n", "1,2\n"):
            seen.append(_priority())
            yield row

    app.add_url_rule("/reports/streamed", "streamed", lambda: Response(stream_with_context(rows())))
    app.add_url_rule("/api/v1/contacts", "ordinary", lambda: (seen.append(_priority()), "ok")[1])
    return app, seen


@needs_the_right
def test_a_streamed_report_runs_lowered_to_its_last_row_then_the_thread_has_its_own_back():
    app, seen = _service()
    own = _priority()
    with app.test_client().get("/reports/streamed") as answer:  # closed, as a server closes it
        assert answer.get_data(as_text=True) == "a,b\n1,2\n"
    assert seen == [_lowered(own)] * 2
    assert _priority() == own


@needs_the_right
def test_an_ordinary_request_runs_at_the_threads_own_priority():
    app, seen = _service()
    own = _priority()
    client = app.test_client()
    with client.get("/reports/streamed") as answer:
        answer.get_data()
    assert client.get("/api/v1/contacts").get_data(as_text=True) == "ok"
    assert seen[-1] == own and _priority() == own


@pytest.mark.parametrize("why", ["cannot take its priority back", "TRIAGE_BULK_NICE=0"])
def test_a_process_that_cannot_take_its_priority_back_or_is_told_not_to_lowers_nothing(monkeypatch, why):
    if why == "TRIAGE_BULK_NICE=0":
        monkeypatch.setenv("TRIAGE_BULK_NICE", "0")
    else:
        monkeypatch.setattr(priority, "can_restore", lambda: False)
    app, seen = _service()
    own = _priority()
    with app.test_client().get("/reports/streamed") as answer:
        assert answer.get_data(as_text=True) == "a,b\n1,2\n"
    assert seen == [own, own] and _priority() == own


@needs_the_right
def test_the_annex_a_export_streams_lowered(client, people, monkeypatch):
    own, seen = _priority(), []

    def chunks(*_args):
        for row in ("heading\n", "row\n"):
            seen.append(_priority())
            yield row

    monkeypatch.setattr(exports, "annex_a_chunks", chunks)
    with client.get("/api/v1/exports/annex-a/list-1.csv", headers=people["manager"].headers) as answer:
        assert answer.status_code == 200 and answer.get_data(as_text=True) == "heading\nrow\n"
    assert seen == [_lowered(own)] * 2 and _priority() == own

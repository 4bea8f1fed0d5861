"""Every page of the demo day, as each role reaches it, in Chromium: axe finds nothing, and nothing
scrolls sideways on a 375 px phone (issue 15: "axe finds nothing on every page, at desktop and at
375 px width").

Each role's pages are found by following links from its home page (the test client is quick at
that), one address per route and set of query parameters: a second contact page is the same
template as the first. Chromium then opens each of them at 1280 px and at 375 px and measures
``document.documentElement.scrollWidth`` against the window's width; axe runs once per distinct
page and width (the first role to reach a page checks it), which keeps the run to about a minute.
The words on every page are searched by ``tests/web/test_plain_words.py``, which crawls the same way.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.web.test_plain_words import ROLES, links
from triage.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

#: Query parameters that only page through a list: the same page, not another kind of page.
PAGING = frozenset({"cursor", "page", "per_page"})
#: At most this many kinds of page per role (the demo day has far fewer): the crawl always ends.
MAX_KINDS = 80
WIDTHS = (1280, 375)


def page_kind(app, path: str) -> tuple[str, tuple[str, ...]] | None:
    """The route an address serves and its non-paging query parameters; None for no route."""
    parts = urlsplit(path)
    try:
        rule, _args = app.url_map.bind("localhost").match(parts.path, method="GET", return_rule=True)
    except Exception:  # noqa: BLE001 - a 404 or 405: not a page to check
        return None
    return rule.rule, tuple(sorted({k for k, _ in parse_qsl(parts.query)} - PAGING))


def pages_of(app, email: str) -> dict[tuple, str]:
    """One address for each kind of page ``email`` reaches from its home page, in the order found."""
    client = app.test_client()
    csrf, app.config["WTF_CSRF_ENABLED"] = app.config["WTF_CSRF_ENABLED"], False  # the live server turned it on
    try:
        assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = csrf
    found: dict[tuple, str] = {}
    queue = ["/"]
    while queue and len(found) < MAX_KINDS:
        path = queue.pop(0)
        response = client.get(path, follow_redirects=True)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        final = response.request.path + (f"?{response.request.query_string.decode()}"
                                         if response.request.query_string else "")
        kind = page_kind(app, final)
        if kind is None or kind in found:
            continue
        found[kind] = final
        for link in links(response.get_data(as_text=True), final):
            if (k := page_kind(app, link)) is not None and k not in found and link not in queue:
                queue.append(link)
    return found


@pytest.fixture
def demo_day(app):
    from triage.services.demo import seed

    with app.app_context():
        seed(app.extensions["recommender"], count=24)


def test_every_page_of_the_demo_day_is_axe_clean_and_fits_a_phone_for_every_role(app, demo_day, pages):
    problems: list[str] = []
    axed: set[tuple] = set()
    visited = 0
    for email in ROLES:
        kinds = pages_of(app, email)
        assert len(kinds) > 1, f"{email} reached no page beyond its home"
        page = pages.new_page()
        page.goto("/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        for kind, path in kinds.items():
            page.set_viewport_size({"width": WIDTHS[0], "height": 900})
            response = page.goto(path)
            visited += 1
            if response is None or response.status != 200:
                problems.append(f"{email} {path}: HTTP {response and response.status}")
                continue
            for width in WIDTHS:  # the same page made narrower: the layout follows, as on a turned phone
                page.set_viewport_size({"width": width, "height": 900})
                wide = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
                if wide[0] > wide[1]:
                    problems.append(f"{email} {path} at {width} px scrolls sideways: {wide[0]} px wide")
                if (kind, width) not in axed:
                    axed.add((kind, width))
                    try:
                        pages.check(page, f"{kind[0]} at {width} px", screenshot=False)
                    except AssertionError as exc:
                        problems.append(f"{email} at {width} px: {exc}")
        page.context.close()
    assert problems == [], "\n".join(problems)
    assert visited >= 2 * len(ROLES) and len(axed) >= 2 * 30  # the demo day has over 30 kinds of page

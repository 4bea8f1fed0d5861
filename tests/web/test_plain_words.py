"""Every page of the demo day, as each role reads it: no codes, JSON paths or model internals.

A social worker checks what a page says against what they know; a page that says
"(source.referrer)", "11A, 19B", "['1A']" or "intercept ... log-odds" asks them to know the
contract or the model instead. This crawls each role's pages from its home page and searches the
words a person sees or hears (tag text, and the SVG charts' titles and descriptions).
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest

from triage.services.demo import DEMO_PASSWORD

JARGON = {
    "a JSON path": re.compile(r"\b(?:children\.\d+\.|children\[\*\]|source\.referrer|domestic_abuse\.\w|"
                              r"\w+\.\w+_\w+\b)"),
    "a Python literal": re.compile(r"\[\s*'|'\s*\]|\{'"),
    "model internals": re.compile(r"intercept|log-odds|logit", re.IGNORECASE),
    "a bare factor code": re.compile(r"(?<![\w-])(?:[1-9]|1\d|2[0-4])[A-F](?![\w-])"),
    "a code with underscores": re.compile(r"\b[a-z]+_[a-z_]+\b"),
}
SKIP = ("/static/", "/assets/", "/api/", "/logout", ".csv", ".jsonl", ".pdf")
ROLES = ("practitioner@demo.invalid", "manager@demo.invalid", "police@demo.invalid", "admin@demo.invalid",
         "police-hub@demo.invalid")
MAX_PAGES = 70


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"<!--.*?-->", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def links(html: str, base: str) -> list[str]:
    out = []
    for href in re.findall(r'href="([^"#]+)"', html):
        url = urljoin(base, unescape(href))
        parts = urlsplit(url)
        if parts.netloc in ("", "localhost") and not any(s in parts.path for s in SKIP):
            out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


@pytest.fixture
def demo_day(app):
    from triage.services.demo import seed

    with app.app_context():
        seed(app.extensions["recommender"], count=24)


@pytest.mark.parametrize("email", ROLES)
def test_no_page_of_the_demo_day_shows_a_code_a_json_path_or_model_internals(app, demo_day, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    queue, seen, found = ["/"], set(), []
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, follow_redirects=True)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        text = visible_text(html)
        for what, pattern in JARGON.items():
            for match in pattern.finditer(text):
                context = " ".join(text[max(match.start() - 60, 0): match.end() + 40].split())
                found.append(f"{path}: {what} {match.group(0)!r} in '…{context}…'")
        queue += [link for link in links(html, path) if link not in seen]
    assert len(seen) > 1
    assert found == [], "\n".join(found[:40])

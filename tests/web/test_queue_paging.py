"""The queue pages are paged too: the whole count in the caption, one page of rows, a link to the next."""

from __future__ import annotations

import re
from html import unescape

from tests.web.conftest import hours_ago


def _references(page: str) -> list[str]:
    return re.findall(r'href="/contacts/[^"]+">(PAGED-[0-9]+)</a>', page)


def test_the_queue_page_shows_a_page_and_links_to_the_next(signed_in, store):
    for i in range(5):
        store(received_at=hours_ago(1 + i), partner_reference=f"PAGED-{i}")
    client = signed_in("practitioner")
    whole = client.get("/contacts").get_data(as_text=True)
    first = client.get("/contacts?per_page=2").get_data(as_text=True)
    assert "5 contacts, most urgent first (showing 2)" in first
    seen = _references(first)
    assert len(seen) == 2 and 'rel="prev"' not in first
    page = first
    while 'rel="next"' in page:
        link = unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))
        page = client.get(link).get_data(as_text=True)
        assert 'rel="prev"' in page  # back to the first page
        seen += _references(page)
    assert seen == _references(whole) and len(seen) == 5


def test_a_page_link_that_was_changed_is_refused_on_the_page(signed_in):
    client = signed_in("manager")
    response = client.get("/reviews?cursor=changed-by-hand")
    assert response.status_code == 422
    assert "This page link is not valid" in response.get_data(as_text=True)

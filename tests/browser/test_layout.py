"""Issue 15 item 7 in Chromium: a full-width queue, tables that reflow at 375 px, a print view for the meeting.

Each page is checked with axe at the width it is shown, and none scrolls sideways on a phone.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_queue_and_a_contact_fit_a_phone_and_the_queue_uses_a_wide_screen(app, people, seeded, pages):
    page = pages.new_page()
    pages.sign_in(page, people["practitioner"])
    page.goto("/contacts")
    table = page.locator("table.app-queue")
    assert table.bounding_box()["width"] > 1100  # not the 960 px column on a 1280 px screen
    assert _page_width(page) <= 1280
    pages.check(page, "40-queue-desktop")

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert _page_width(page) <= 375, "the queue scrolls sideways on a phone"
    first = page.locator("table.app-queue tbody tr").first
    expect(first).to_contain_text("NP-URGENT-1")
    pages.check(page, "41-queue-375")
    first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contact NP-URGENT-1")
    page.wait_for_load_state("load")  # the heading shows before the script that reflows tables has run
    assert _page_width(page) <= 375, "the contact page scrolls sideways on a phone"
    pages.check(page, "42-contact-375")
    page.goto("/awaiting-checks")
    assert _page_width(page) <= 375
    page.context.close()


def test_the_printable_view_is_one_line_per_contact_without_link_addresses_and_fits_the_page(
        app, people, seeded, pages):
    page = pages.new_page()
    pages.sign_in(page, people["practitioner"])
    page.goto("/contacts?print=1")
    pages.check(page, "43-printable-screen")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 1047, "height": 700})  # A4 landscape less 10 mm margins, at 96 dpi
    assert _page_width(page) <= 1047
    for hidden in (".govuk-service-navigation", ".govuk-footer", ".govuk-phase-banner"):
        assert not page.locator(hidden).first.is_visible()
    rows = page.locator("table.app-meeting tbody tr")
    assert rows.count() == 3
    line = page.evaluate("""() => {
        const cell = document.querySelector('table.app-meeting tbody td');
        return parseFloat(getComputedStyle(cell).lineHeight); }""")
    for i in range(rows.count()):
        box = rows.nth(i).bounding_box()
        assert box["height"] < 2.2 * line + 12, f"row {i} wraps onto more than one line"
    link = page.locator("table.app-meeting a").first
    assert link.evaluate("a => getComputedStyle(a, '::after').content") in ("none", "normal", '""')
    main, secondary = page.evaluate("""() => [
        parseFloat(getComputedStyle(document.querySelector('table.app-meeting td')).fontSize),
        Math.max(...[...document.querySelectorAll('table.app-meeting td *')].map(e => parseFloat(getComputedStyle(e).fontSize)))]""")
    assert secondary <= main
    page.screenshot(path=str(pages.shots / "44-printable-print.png"), full_page=True)
    page.context.close()

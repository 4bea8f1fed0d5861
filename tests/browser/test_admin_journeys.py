"""People and access in a real Chromium, with axe-core on every administrator's page.

An administrator creates a practitioner's account; the practitioner signs in and works; the
administrator issues a token, then deactivates the account, and the practitioner's next page
load sends them to sign in. Every page passes axe-core at WCAG 2.2 AA and leaves a screenshot
under ``screenshots/``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

EMAIL = "new.worker@council.example"
PASSWORD = "a long initial password"


def test_admin_creates_a_practitioner_who_signs_in_then_deactivates_them(app, people, pages):
    admin = pages.new_page()
    pages.sign_in(admin, people["admin"])
    expect(admin.get_by_role("heading", level=1)).to_have_text("Front door triage")
    pages.check(admin, "40-admin-home")

    # The administrator opens People and access from the service navigation ...
    admin.get_by_role("navigation", name="Main menu").get_by_role("link", name="People and access").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("People and access")
    expect(admin.get_by_role("table")).to_contain_text(people["practitioner"].email)
    pages.check(admin, "41-admin-people")

    # ... creates an account: first with mistakes, each linked from the summary to its field ...
    admin.get_by_role("button", name="Create an account").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Create an account")
    pages.check(admin, "42-admin-new-account")
    admin.get_by_label("Email address").fill("not-an-email")
    admin.get_by_label("Partner", exact=True).check()
    admin.get_by_label("Initial password").fill("short")
    admin.get_by_role("button", name="Create account").click()
    summary = admin.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link")).to_have_count(3)
    summary.get_by_role("link", name=re.compile("^Enter the partner's organisation")).click()
    expect(admin.get_by_label("Organisation")).to_be_focused()
    pages.check(admin, "43-admin-new-account-errors")

    # ... then right: a practitioner.
    admin.get_by_label("Email address").fill(EMAIL)
    admin.get_by_label("Practitioner").check()
    admin.get_by_label("Initial password").fill(PASSWORD)
    admin.get_by_role("button", name="Create account").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(EMAIL)
    expect(admin.locator(".govuk-notification-banner")).to_contain_text(f"Account created for {EMAIL}")
    pages.check(admin, "44-admin-account")

    # The practitioner signs in and works.
    worker = pages.new_page()
    worker.goto("/login")
    worker.get_by_label("Email address").fill(EMAIL)
    worker.get_by_label("Password").fill(PASSWORD)
    worker.get_by_role("button", name="Sign in").click()
    expect(worker.get_by_role("heading", level=1)).to_have_text("Contacts awaiting decision")

    # The administrator issues a token: shown once, on this page only ...
    admin.get_by_role("button", name="Issue an API token").click()
    banner = admin.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("copy it now; it will not be shown again")
    token = admin.locator("#new-token").inner_text()
    assert token.startswith("tri_")
    pages.check(admin, "45-admin-token-issued")
    admin.reload()  # the address is the account's page again: reloading never issues another token
    expect(admin.get_by_role("heading", level=1)).to_have_text(EMAIL)
    expect(admin.get_by_text(token)).to_have_count(0)
    expect(admin.get_by_role("table")).to_contain_text(token[:8])

    # ... and deactivates the account.
    admin.get_by_role("button", name="Deactivate account").click()
    # asked first: the page says what will happen; nothing has changed yet
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Deactivate {EMAIL}?")
    pages.check(admin, "45b-admin-confirm-deactivation")
    admin.get_by_role("button", name="Yes, deactivate this account").click()
    expect(admin.locator(".govuk-notification-banner")).to_contain_text(f"{EMAIL} is deactivated")
    expect(admin.get_by_text("No: the account is deactivated")).to_be_visible()
    expect(admin.get_by_role("button", name="Reactivate account")).to_be_visible()
    pages.check(admin, "46-admin-account-deactivated")
    admin.get_by_role("link", name="Back to people and access").click()
    row = admin.get_by_role("row", name=re.compile(re.escape(EMAIL)))
    expect(row).to_contain_text("Deactivated")

    # The practitioner's next page load sends them to sign in, and signing in is refused.
    worker.reload()
    expect(worker).to_have_url(re.compile(r"/login\?next="))
    expect(worker.get_by_role("heading", level=1)).to_have_text("Sign in")
    worker.get_by_label("Email address").fill(EMAIL)
    worker.get_by_label("Password").fill(PASSWORD)
    worker.get_by_role("button", name="Sign in").click()
    expect(worker.get_by_role("link", name="Enter a correct email address and password")).to_be_visible()

    # An administrator cannot deactivate themselves: their own page says so, with no button.
    admin.get_by_role("link", name=people["admin"].email).click()
    expect(admin.get_by_text("This is your own account")).to_be_visible()
    expect(admin.get_by_role("button", name="Deactivate account")).to_have_count(0)
    pages.check(admin, "47-admin-own-account")
    worker.context.close()
    admin.context.close()

    from sqlalchemy import select

    from triage.extensions import db
    from triage.record.tables import ApiToken, Event, User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        assert user.is_active is False
        assert len(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()) == 1
        actions = db.session.scalars(select(Event.data).where(Event.kind == "access_changed").order_by(Event.seq)).all()
        assert [a["action"] for a in actions] == ["user_created", "token_issued", "user_deactivated"]


def test_a_person_replaces_the_password_an_administrator_gave_them(people, pages):
    worker = pages.new_page()
    pages.sign_in(worker, people["practitioner"])
    worker.get_by_role("link", name="Your password").click()
    expect(worker.get_by_role("heading", level=1)).to_have_text("Change your password")
    pages.check(worker, "48-your-password")
    worker.get_by_label("Current password").fill("not my password")
    worker.get_by_label("New password", exact=True).fill("short")
    worker.get_by_label("New password again").fill("short")
    worker.get_by_role("button", name="Change password").click()
    summary = worker.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter your current password correctly")
    expect(summary).to_contain_text("Password must be 12 characters or more")
    pages.check(worker, "49-your-password-errors")
    worker.get_by_label("Current password").fill(people["practitioner"].password)
    worker.get_by_label("New password", exact=True).fill("a password only I know")
    worker.get_by_label("New password again").fill("a password only I know")
    worker.get_by_role("button", name="Change password").click()
    expect(worker.locator(".govuk-notification-banner")).to_contain_text("Your password has been changed.")

"""Email preferences in the browser: a person turns one category of email off on their profile
page, the others stay on; then the one-click unsubscribe link of an email, opened in a browser,
asks before it changes anything."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import EmailCategory, User
from accounts.unsubscribe import unsubscribe_token
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

CATEGORIES = ("email_notices", "email_reminders", "email_feedback", "email_updates")


@pytest.fixture
def person(transactional_db) -> User:
    return UserFactory(email="mia@example.com", display_name="Mia Member")


def prefs(user: User) -> dict[str, bool]:
    return User.objects.values(*CATEGORIES).get(pk=user.pk)


def test_a_person_turns_reminders_off_on_the_profile_page(
    page: Page, live_server, sign_in_as, console_errors, person
):
    sign_in_as(person)
    page.goto(f"{live_server.url}/accounts/profile/")
    email = page.get_by_role("region", name="Email")
    expect(email).to_contain_text("so their emails cannot be turned off")
    for label in ("Change notices", "Reminders to acknowledge", "Feedback updates"):
        expect(email.get_by_label(label)).to_be_checked()
    screenshot(page, "profile-email-preferences")
    assert axe_violations(page) == []

    email.get_by_label("Reminders to acknowledge").uncheck()
    email.get_by_role("button", name="Save email preferences").click()

    expect(page.get_by_text("Your email preferences have been saved.")).to_be_visible()
    expect(
        page.get_by_role("region", name="Email").get_by_label("Reminders to acknowledge")
    ).not_to_be_checked()
    expect(page.get_by_role("region", name="Email").get_by_label("Change notices")).to_be_checked()
    assert prefs(person) == {**dict.fromkeys(CATEGORIES, True), "email_reminders": False}
    assert console_errors == []


def test_an_unsubscribe_link_opened_in_a_browser_asks_first(
    page: Page, live_server, console_errors, person
):
    token = unsubscribe_token(person, EmailCategory.FEEDBACK)
    page.goto(f"{live_server.url}/email/unsubscribe/{token}/")  # signed out: the link suffices
    expect(page.get_by_role("heading", name="Stop these emails?")).to_be_visible()
    assert prefs(person)["email_feedback"] is True  # opening the link changed nothing
    screenshot(page, "email-unsubscribe-confirm")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Unsubscribe").click()

    expect(page.get_by_role("heading", name="Unsubscribed")).to_be_visible()
    expect(page.get_by_text("no longer gets feedback updates by email")).to_be_visible()
    screenshot(page, "email-unsubscribe-done")
    assert prefs(person) == {**dict.fromkeys(CATEGORIES, True), "email_feedback": False}

    page.goto(f"{live_server.url}/email/unsubscribe/{token[:-4]}/")
    expect(page.get_by_role("heading", name="This unsubscribe link does not work")).to_be_visible()
    screenshot(page, "email-unsubscribe-bad-link")
    assert prefs(person)["email_feedback"] is False
    # The 400 of the tampered link is the only console error: the page itself is fine.
    assert all("400" in error for error in console_errors)

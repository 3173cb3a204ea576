"""An ops leader sets how long personal data is kept, then erases someone who left."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Organisation, User
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_ops_leader_sets_retention_and_erases_a_person(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    leaver = UserFactory(email="leaver@example.com", display_name="Lee Leaver")
    make_workflow(name="Invoice coding", slug="invoice-coding", actor=ops, owner=leaver)
    sign_in_as(ops)

    page.goto(f"{live_server.url}/organisation/")
    page.get_by_label("Keep raw usage events (months)").fill("6")
    page.get_by_label("Keep feedback text (months)").fill("24")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Keep raw usage events (months): 13 → 6")).to_be_visible()
    organisation = Organisation.objects.get()
    assert (
        organisation.usage_events_retention_months,
        organisation.feedback_text_retention_months,
    ) == (6, 24)

    page.goto(f"{live_server.url}/people/?q=leaver")
    page.get_by_role("link", name="Erase…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Erase Lee Leaver")
    expect(page.get_by_role("link", name="Invoice coding")).to_be_visible()  # goes ownerless
    assert axe_violations(page) == []
    screenshot(page, "journey-erase")
    page.get_by_role("button", name="Erase Lee Leaver").click()
    # Nothing happens until the box is ticked.
    expect(page.get_by_role("alert")).to_contain_text("Tick the box to confirm")
    assert not User.objects.get(pk=leaver.pk).is_erased
    page.get_by_label(re.compile("I understand that erasing")).check()
    page.get_by_role("button", name="Erase Lee Leaver").click()

    expect(page).to_have_url(re.compile(r"/people/$"))
    expect(page.get_by_text("The person is erased.")).to_be_visible()
    erased = User.objects.get(pk=leaver.pk)
    assert erased.is_erased and erased.display_name == "Erased person"
    page.goto(f"{live_server.url}/people/?q=erased")
    expect(page.get_by_text("Erased", exact=True)).to_be_visible()
    assert console_errors == []

"""The people picker (rollout/forms/people.py) in the browser: adding a cohort member by typing
part of their name and choosing with the keyboard, handing a workflow over to a person chosen the
same way, the same form without JavaScript, and the cohorts page with the picker open checked by
axe at 1440 and 390 px."""

import re

import pytest
from playwright.sync_api import Page, expect

from rollout.models import CohortMember
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.browser.conftest import (
    axe_violations,
    patient,
    pick_person,
    screenshot,
    session_cookie_for,
)
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def cast(transactional_db) -> dict:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    cohort = cohort_create(workflow=workflow, name="EU tier-1 agents", actor=owner)
    member = UserFactory(email="marta.member@example.com", display_name="Marta Member")
    cohort_members_add(cohort=cohort, users=[member], actor=owner)
    for name in ("Maria Lopez", "Mario Rossi", "Amaru Quispe", "Ada Lovelace"):
        UserFactory(email=f"{name.split()[0].lower()}@example.com", display_name=name)
    UserFactory(email="marina.gone@example.com", display_name="Marina Gone", is_active=False)
    return {"ops": ops, "owner": owner, "workflow": workflow, "cohort": cohort}


def cohorts_url(live_server, cast) -> str:
    return f"{live_server.url}/workflows/{cast['workflow'].slug}/cohorts/"


def test_the_owner_adds_a_member_by_typing_and_the_keyboard(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    cohort = cast["cohort"]
    sign_in_as(cast["owner"])
    page.goto(cohorts_url(live_server, cast))
    section = page.locator(f"#cohort-{cohort.pk}")
    box = section.get_by_role("combobox", name="People to add")
    expect(box).to_have_attribute("aria-expanded", "false")

    # One letter is a hint, not everyone.
    box.press_sequentially("m")
    listbox = section.get_by_role("listbox")
    expect(listbox).to_contain_text("Type at least 2 letters")
    box.press_sequentially("ar")
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(4)  # Maria, Mario, Marta (a member), Amaru; never Marina
    expect(listbox.get_by_role("option", name=re.compile("Marta Member"))).to_contain_text(
        "Already a member"
    )
    expect(listbox).not_to_contain_text("Marina Gone")

    # Escape closes the list; the arrow key opens it again.
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true")
    first = listbox.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id") or "")
    expect(first).to_contain_text("Maria Lopez")
    box.press("Enter")  # chooses, does not submit
    chip = section.locator(".chip", has_text="Maria Lopez")
    expect(chip).to_be_visible()
    expect(box).to_have_value("")
    expect(box).to_be_focused()

    # A second person, then a change of mind: the chip's button removes them.
    pick_person(section, "People to add", "quis", "Amaru Quispe")
    section.get_by_role("button", name="Remove Amaru Quispe").click()
    expect(section.locator(".chip", has_text="Amaru Quispe")).to_have_count(0)

    section.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("Added 1 person to “EU tier-1 agents”.")).to_be_visible()
    expect(page.locator(f"#cohort-{cohort.pk}")).to_contain_text("maria@example.com")
    added = CohortMember.objects.filter(cohort=cohort).values_list("user__display_name", flat=True)
    assert sorted(added) == ["Maria Lopez", "Marta Member"]
    assert console_errors == []


def test_an_ops_leader_hands_over_to_a_person_found_by_their_address(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    sign_in_as(cast["ops"])
    page.goto(f"{live_server.url}/workflows/{cast['workflow'].slug}/handover/")
    box = page.get_by_role("combobox", name="New owner")
    box.press_sequentially("owner@")
    expect(page.get_by_role("option", name=re.compile("Owen Owner"))).to_contain_text(
        "The owner now"
    )
    box.fill("")
    pick_person(page, "New owner", "lovel", "Ada Lovelace")
    # A single choice: choosing another person replaces the first.
    pick_person(page, "New owner", "rossi", "Mario Rossi")
    expect(page.locator(".chip")).to_have_count(1)
    page.get_by_role("button", name="Hand over").click()
    expect(page.get_by_text("Mario Rossi now owns “Support reply drafting”.")).to_be_visible()
    assert console_errors == []


def test_without_javascript_people_are_added_by_typed_addresses(browser, live_server, cast):
    context = patient(browser.new_context(java_script_enabled=False, viewport=PHONE))
    context.add_cookies([session_cookie_for(cast["owner"], live_server.url)])
    page = context.new_page()
    page.goto(cohorts_url(live_server, cast))
    section = page.locator(f"#cohort-{cast['cohort'].pk}")
    field = section.get_by_label("People to add")

    field.fill("maria@example.com, nobody@example.com")
    section.get_by_role("button", name="Add", exact=True).click()
    section = page.locator(f"#cohort-{cast['cohort'].pk}")
    expect(section.get_by_text("Nobody has the email address nobody@example.com.")).to_be_visible()
    assert CohortMember.objects.filter(cohort=cast["cohort"]).count() == 1

    section.get_by_label("People to add").fill(
        "maria@example.com, MARIO@example.com, marta.member@example.com"
    )
    section.get_by_role("button", name="Add", exact=True).click()
    expect(
        page.get_by_text(
            "Added 2 people to “EU tier-1 agents”. Already members, so skipped: Marta Member."
        )
    ).to_be_visible()
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440", "390"])
def test_the_cohorts_page_with_the_picker_open_is_accessible_and_fits(
    page: Page, live_server, sign_in_as, console_errors, cast, viewport
):
    page.set_viewport_size(viewport)
    sign_in_as(cast["owner"])
    page.goto(cohorts_url(live_server, cast))
    section = page.locator(f"#cohort-{cast['cohort'].pk}")
    pick_person(section, "People to add", "lovel", "Ada Lovelace")
    box = section.get_by_role("combobox", name="People to add")
    box.press_sequentially("mar")
    # (The enrolment's <select> has options of its own: count the listbox's.)
    expect(section.get_by_role("listbox").get_by_role("option")).to_have_count(4)
    box.press("ArrowDown")
    box.scroll_into_view_if_needed()
    screenshot(page, f"cohorts-picker-{viewport['width']}")
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert console_errors == []

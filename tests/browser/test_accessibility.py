"""axe-core on every page, as the role that uses it: no "serious" or "critical" violation.

Each page is also kept as a screenshot under var/screenshots/ for people to look at.
"""

import pytest
from playwright.sync_api import Page

from accounts.models import User
from rollout.models import Workflow
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser

# (screenshot name, who looks, path); {slug} and {user_id} are filled in.
PAGES = [
    ("login", None, "/accounts/login/"),
    ("password-reset", None, "/accounts/password/reset/"),
    ("password-reset-sent", None, "/accounts/password/reset/sent/"),
    ("home-owner", "owner", "/"),
    ("home-ops", "ops", "/"),
    ("home-nobody", "nobody", "/"),
    ("portfolio-ops", "ops", "/workflows/"),
    ("portfolio-exec", "exec", "/workflows/"),
    ("portfolio-empty", "nobody", "/workflows/"),
    ("workflow-new", "ops", "/workflows/new/"),
    ("workflow-overview", "owner", "/workflows/{slug}/"),
    ("workflow-overview-ownerless", "ops", "/workflows/ownerless-flow/"),
    ("workflow-edit", "owner", "/workflows/{slug}/edit/"),
    ("workflow-handover", "ops", "/workflows/{slug}/handover/"),
    ("workflow-activity", "exec", "/workflows/{slug}/activity/"),
    ("workflow-configuration", "exec", "/workflows/{slug}/configuration/"),
    ("profile", "owner", "/accounts/profile/"),
    ("password-change", "owner", "/accounts/password/change/"),
    ("people", "ops", "/people/"),
    ("people-invite", "ops", "/people/invite/"),
    ("people-deactivate", "ops", "/people/{user_id}/deactivate/"),
]


@pytest.fixture
def cast(transactional_db) -> dict[str, User | Workflow]:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    gone = UserFactory(email="gone@example.com", display_name="Gina Gone")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_workflow(owner=gone, actor=ops, name="Ownerless flow", slug="ownerless-flow")
    from accounts.services import user_deactivate

    user_deactivate(actor=ops, user=gone)
    return {
        "ops": ops,
        "owner": owner,
        "exec": executive_user(email="exec@example.com", display_name="Erin Exec"),
        "nobody": UserFactory(email="nobody@example.com", display_name="Nico Nobody"),
        "workflow": workflow,
    }


@pytest.mark.parametrize(("name", "who", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_page_has_no_serious_accessibility_violations(
    page: Page, live_server, sign_in_as, console_errors, cast, name, who, path
):
    if who:
        sign_in_as(cast[who])
    url = path.format(slug=cast["workflow"].slug, user_id=cast["owner"].pk)

    response = page.goto(f"{live_server.url}{url}")

    assert response is not None and response.status == 200, (url, response and response.status)
    screenshot(page, name)
    assert axe_violations(page) == []
    assert console_errors == []


def test_pages_read_on_a_phone(page: Page, live_server, sign_in_as, cast):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(cast["ops"])
    for name, path in [
        ("phone-portfolio", "/workflows/"),
        ("phone-overview", "/workflows/{slug}/"),
    ]:
        page.goto(live_server.url + path.format(slug=cast["workflow"].slug))
        # Nothing wider than the screen: the page never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, name)

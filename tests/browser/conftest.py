"""Browser journeys in Debian's Chromium (see tests/conftest.py for the launch arguments).

`sign_in_as` gives the page a signed-in session (a real session cookie, no form); `console_errors`
collects what the browser reports as errors — a Content-Security-Policy violation shows up there.
Every wait in a page has minutes of patience (see `patient`).
"""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import BrowserContext, Locator, Page, expect

from accounts.models import User
from tests.waiting import PATIENCE

AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

pytestmark = pytest.mark.browser

# Navigations, actions and `expect(...)` wait minutes, not Playwright's default seconds, for the
# page to get there: on a loaded machine the live server and Chromium can both be slow. Each one
# still returns as soon as its condition holds.
PATIENCE_MS = int(PATIENCE * 1000)
expect.set_options(timeout=PATIENCE_MS)


def patient(context: BrowserContext) -> BrowserContext:
    """Give `context`'s pages the same patience (for a context a test opens itself)."""
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    return context


@pytest.fixture
def context(context: BrowserContext) -> BrowserContext:
    """pytest-playwright's browser context, and so its `page`, with minutes of patience."""
    return patient(context)


def session_cookie_for(user: User, live_server_url: str) -> dict[str, str]:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.UserBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": session.session_key,
        "url": live_server_url,
    }


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield errors


@pytest.fixture
def sign_in_as(context: BrowserContext, live_server) -> Callable[[User], None]:
    """Give the browser context a signed-in session for `user`."""

    def sign_in(user: User) -> None:
        context.clear_cookies()
        context.add_cookies([session_cookie_for(user, live_server.url)])

    return sign_in


def screenshot(page: Page, name: str) -> None:
    """Keep a full-page picture under var/screenshots/ for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core on the current page; return the violations of the given impacts.

    axe is injected by evaluating its source, which the page's strict CSP allows because it runs as
    a Playwright evaluation, not as a page <script>.
    """
    page.evaluate(AXE_JS.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def pick_person(scope: Page | Locator, label: str, typed: str, name: str) -> None:
    """Choose `name` in the people picker labelled `label` as a person would: type part of their
    name, move down the matches with the arrow key until theirs is active, press Enter."""
    box = scope.get_by_role("combobox", name=label)
    box.click()
    box.press_sequentially(typed)
    option = scope.get_by_role("option", name=re.compile(re.escape(name)))
    expect(option).to_be_visible()
    option_id = option.get_attribute("id")
    for _ in range(12):
        box.press("ArrowDown")
        if box.get_attribute("aria-activedescendant") == option_id:
            break
    expect(box).to_have_attribute("aria-activedescendant", option_id or "")
    box.press("Enter")
    expect(scope.locator(".chip", has_text=name)).to_be_visible()

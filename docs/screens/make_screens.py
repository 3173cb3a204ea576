"""Screenshots of the main pages at a desktop (1440 px) and a phone (390 px) width.

Run by hand against a live server holding the demo data (`make run`, or `manage.py seed_demo` and
`manage.py runserver`); not part of CI:

    python docs/screens/make_screens.py --base-url http://127.0.0.1:8000

It signs in through the login form with the demo logins (README.md, "Demo logins") and writes
docs/screens/<width>/<page>.png, full-page. Look at every picture after a change to the layout.
"""

import argparse
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

HERE = Path(__file__).resolve().parent
PASSWORD = "rollout-demo"  # the demo logins' password (README.md)
WIDTHS = {1440: 900, 390: 844}  # width: height of the first screen
SLUG = "support-reply-drafting"
# The demo's fan-out with cohorts and followers: its "Who it reached" table is the widest one.
NOTICE_TITLE = "New drafting prompt"

# (file name, demo login, path); "{notice}" is the notice page found on the notices list.
PAGES = [
    ("home-ops-leader", "ops@example.com", "/"),
    ("home-owner", "owner@example.com", "/"),
    ("home-executive", "exec@example.com", "/"),
    ("home-end-user", "member@example.com", "/"),
    ("portfolio", "ops@example.com", "/workflows/"),
    ("overview", "owner@example.com", f"/workflows/{SLUG}/"),
    ("plan", "owner@example.com", f"/workflows/{SLUG}/plan/"),
    ("briefing-owner", "owner@example.com", f"/workflows/{SLUG}/briefing/"),
    ("briefing-member", "member@example.com", f"/workflows/{SLUG}/briefing/"),
    ("cohorts", "owner@example.com", f"/workflows/{SLUG}/cohorts/"),
    ("configuration", "ops@example.com", "/workflows/invoice-coding/configuration/"),
    ("thresholds", "owner@example.com", f"/workflows/{SLUG}/thresholds/"),
    ("usage", "owner@example.com", f"/workflows/{SLUG}/usage/"),
    ("outcome-metrics", "owner@example.com", f"/workflows/{SLUG}/outcomes/"),
    ("review-queue", "owner@example.com", f"/workflows/{SLUG}/review-queue/"),
    ("approvals", "ops@example.com", "/approvals/"),
    ("api-tokens", "owner@example.com", f"/workflows/{SLUG}/tokens/"),
    ("feedback", "owner@example.com", f"/workflows/{SLUG}/feedback/"),
    ("notices", "owner@example.com", f"/workflows/{SLUG}/notices/"),
    ("notice-detail", "owner@example.com", "{notice}"),
    ("activity", "owner@example.com", f"/workflows/{SLUG}/activity/"),
    ("reviews", "owner@example.com", f"/workflows/{SLUG}/reviews/"),
    ("review-detail", "owner@example.com", "{review}"),
    ("evidence", "exec@example.com", "/evidence/"),
    ("board-pack", "exec@example.com", "/evidence/board-pack/"),
    ("organisation", "ops@example.com", "/organisation/"),
    ("webhooks", "owner@example.com", f"/workflows/{SLUG}/webhooks/"),
    ("org-webhooks", "ops@example.com", "/webhooks/"),
    ("profile", "owner@example.com", "/accounts/profile/"),
    ("people-tokens", "ops@example.com", "/people/tokens/"),
    ("api-docs", None, "/api/v1/docs"),
]


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/)"))


def notice_path(page: Page, base_url: str) -> str:
    page.goto(f"{base_url}/workflows/{SLUG}/notices/")
    href = page.get_by_role("link", name=re.compile(NOTICE_TITLE)).first.get_attribute("href")
    assert href, f"no notice called {NOTICE_TITLE!r} on the notices page"
    return href


def review_path(page: Page, base_url: str) -> str:
    """The demo's completed review, from the workflow's reviews page."""
    page.goto(f"{base_url}/workflows/{SLUG}/reviews/")
    link = page.locator(f'table a[href^="/workflows/{SLUG}/reviews/"]').first
    href = link.get_attribute("href")
    assert href, "no review on the reviews page"
    return href


def open_first_item(page: Page, width: int) -> None:
    """The feedback inbox as people use it: the first item selected (j), and on a wide screen
    open in the side panel beside the list."""
    page.keyboard.press("j")
    if width >= 1100:  # the panel's breakpoint (static/css/rollout.css, .triage.has-panel)
        page.locator("#triage-panel").get_by_role("heading", name="Triage").wait_for()
    page.wait_for_load_state("networkidle")


def shoot(browser: Browser, base_url: str, out: Path) -> list[Path]:
    written = []
    for width, height in WIDTHS.items():
        folder = out / str(width)
        folder.mkdir(parents=True, exist_ok=True)
        contexts: dict[str | None, Page] = {}
        for name, login, path in PAGES:
            if login not in contexts:
                context = browser.new_context(viewport={"width": width, "height": height})
                contexts[login] = context.new_page()
                if login:
                    sign_in(contexts[login], base_url, login)
            page = contexts[login]
            if path == "{notice}":
                path = notice_path(page, base_url)
            elif path == "{review}":
                path = review_path(page, base_url)
            page.goto(f"{base_url}{path}")
            page.wait_for_load_state("networkidle")
            if name == "feedback":
                open_first_item(page, width)
            target = folder / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
        for page in contexts.values():
            page.context.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        for path in shoot(browser, args.base_url.rstrip("/"), args.out):
            print(path)
        browser.close()


if __name__ == "__main__":
    main()

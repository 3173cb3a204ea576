"""The API's docs page (/api/v1/docs, Swagger UI) in Chromium: it renders every operation of the
published document, under the site's Content-Security-Policy, with no error in the console.

Before issue 13 the document held each 400 and 401 twice (an int and a string key), and Swagger UI
refused it: the page showed no operation at all.
"""

import json
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.waiting import PATIENCE

pytestmark = pytest.mark.browser

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def published_operations(base_url: str) -> list[tuple[str, str]]:
    with urllib.request.urlopen(f"{base_url}/api/v1/openapi.json", timeout=PATIENCE) as response:  # noqa: S310 — the test's own live server
        document = json.loads(response.read())
    return sorted(
        (method.upper(), path)
        for path, path_item in document["paths"].items()
        for method in path_item
        if method in METHODS
    )


def test_the_docs_page_lists_every_operation(page: Page, live_server, console_errors):
    expected = published_operations(live_server.url)
    assert len(expected) >= 4

    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]

    blocks = page.locator("#swagger-ui .opblock")
    expect(blocks).to_have_count(len(expected))
    shown = sorted(
        (
            block.locator(".opblock-summary-method").inner_text().strip().upper(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in blocks.all()
    )
    assert shown == expected
    expect(page.locator("#swagger-ui .errors-wrapper")).to_have_count(0)
    assert console_errors == []

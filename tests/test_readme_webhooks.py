"""The README's "Webhooks" receiver snippet, run as a reader would paste it, against requests
signed as Rollout signs them: it accepts a genuine one and refuses a tampered or stale one."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings

from rollout.lib.standard_webhooks import headers, secret_generate

README = Path(settings.BASE_DIR) / "README.md"
SECTION = "## Webhooks"


def snippet() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    (code,) = re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)
    return code


@pytest.fixture
def handle(monkeypatch: pytest.MonkeyPatch):
    secret = secret_generate()
    monkeypatch.setenv("ROLLOUT_WEBHOOK_SECRET", secret)
    handled: list[str] = []
    namespace = {"already_handled": lambda msg_id: msg_id in handled}
    exec(compile(snippet(), "README.md", "exec"), namespace)  # noqa: S102 — our own README
    return namespace["handle"], secret, handled


def test_the_snippet_accepts_a_signed_request_and_refuses_tampering_and_staleness(handle, capsys):
    receive, secret, handled = handle
    body = (
        b'{"type":"rollout.paused","timestamp":"2026-12-07T10:00:00+00:00","data":{"summary":"x"}}'
    )
    now = int(time.time())
    good = headers(secrets_in_use=[secret], msg_id="msg_1", timestamp=now, body=body)
    assert receive(body, good) == 204
    assert capsys.readouterr().out == "rollout.paused x\n"
    assert receive(body.replace(b"paused", b"resumed"), good) == 400
    stale = headers(secrets_in_use=[secret], msg_id="msg_1", timestamp=now - 600, body=body)
    assert receive(body, stale) == 400
    handled.append("msg_1")  # a retry of what was handled: accepted, not processed again
    assert receive(body, good) == 204
    assert capsys.readouterr().out == ""

"""The README's "Integrate in ten lines" snippets run as a reader would paste them: each in a fresh
Python process, configured only by the environment variables the README exports, against a live
server — the OpenFeature SDK with the OFREP provider, and the OpenTelemetry SDK exporting GenAI
spans.
"""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from rollout.models import UsageEvent, Workflow
from rollout.services import cohorts as cohort_svc
from tests.factories import UserFactory
from tests.rollout.api.conftest import issue_token
from tests.rollout.promotion_fixtures import make_plan

README = Path(settings.BASE_DIR) / "README.md"
SECTION = "## Integrate in ten lines"
# A fresh interpreter importing the SDKs, on a busy CI machine: minutes, not seconds.
PATIENCE_SECONDS = 300


def snippets() -> list[str]:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def run(code: str, *, url: str, token: str) -> str:
    env = {
        **os.environ,
        "ROLLOUT_URL": url,
        "ROLLOUT_TOKEN": token,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"{url}/otlp",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{token}",
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def a_closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def maya(workflow: Workflow, ops_leader):
    """In an enrolled cohort at 100 % of the limited phase, which is in progress: live."""
    make_plan(workflow, current="limited")
    person = UserFactory(email="maya@example.com", display_name="Maya")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[person], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    return person


def test_the_section_holds_both_snippets():
    openfeature, opentelemetry = snippets()
    assert "OFREPProvider" in openfeature
    assert "OTLPSpanExporter" in opentelemetry


@pytest.mark.django_db(transaction=True)
def test_openfeature_snippet_asks_rollout(live_server, workflow, workflow_owner, maya):
    token = issue_token(workflow, workflow_owner).plaintext
    openfeature, _ = snippets()
    assert run(openfeature + "\nprint(mode)", url=live_server.url, token=token) == "live"


@pytest.mark.django_db(transaction=True)
def test_openfeature_snippet_falls_back_when_rollout_is_unreachable(workflow, workflow_owner):
    token = issue_token(workflow, workflow_owner).plaintext
    openfeature, _ = snippets()
    unreachable = f"http://127.0.0.1:{a_closed_port()}"
    assert run(openfeature + "\nprint(mode)", url=unreachable, token=token) == "off"


@pytest.mark.django_db(transaction=True)
def test_opentelemetry_snippet_reports_the_model_call(live_server, workflow, workflow_owner, maya):
    token = issue_token(workflow, workflow_owner).plaintext
    openfeature, opentelemetry = snippets()
    code = f"{openfeature}\n{opentelemetry}\nprovider.shutdown()\n"
    run(code, url=live_server.url, token=token)
    # The GenAI span is the child of the span on which the flag's answer was noted: Rollout finds
    # Maya there and counts the call as hers.
    calls = UsageEvent.objects.filter(workflow=workflow, kind="invocation")
    assert [(call.user_id, call.attrs.get("input_tokens")) for call in calls] == [(maya.pk, 812)]
    assert calls.get().attrs.get("output_tokens") == 164

"""The README's "Automate it" script runs as a reader would paste it: in a fresh Python process,
configured by ROLLOUT_URL and ROLLOUT_TOKEN (an ops leader's write token), against a live server.
It sets up a workflow with its plan, a cohort with members and a threshold, and running it again
creates nothing twice (its Idempotency-Keys are derived from each request)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from rollout.models import ActivityEntry, Cohort, Phase, Threshold, Workflow
from tests.factories import UserFactory
from tests.rollout.api.manage.area_fixtures import token_headers

README = Path(settings.BASE_DIR) / "README.md"
SECTION = "## Automate it"
PATIENCE_SECONDS = 120


def script() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    (code,) = re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)
    return code


def run(code: str, *, url: str, token: str) -> str:
    env = {**os.environ, "ROLLOUT_URL": url, "ROLLOUT_TOKEN": token}
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


@pytest.mark.django_db(transaction=True)
def test_the_script_sets_up_a_workflow_and_runs_again_harmlessly(live_server, ops_leader):
    UserFactory(email="owner@example.com")
    UserFactory(email="maya@example.com")
    token = token_headers(ops_leader, name="Setup script")["Authorization"].removeprefix("Bearer ")
    printed = run(script(), url=live_server.url, token=token)
    workflow = Workflow.objects.get(slug="invoice-triage")
    assert "audit" in printed
    assert Phase.objects.filter(workflow=workflow).exists()
    cohort = Cohort.objects.get(workflow=workflow)
    assert cohort.name == "Accounts payable, Dublin"
    assert [u.email for u in cohort.members.all()] == ["maya@example.com"]  # liam is unknown
    threshold = Threshold.objects.get(workflow=workflow)
    assert (threshold.metric, threshold.limit, threshold.action) == (
        "error_rate",
        0.02,
        "block_promotion",
    )
    entries = ActivityEntry.objects.filter(workflow=workflow)
    assert entries.exists()
    assert all(entry.note.endswith("via token Setup script") for entry in entries)
    logged = entries.count()
    run(script(), url=live_server.url, token=token)
    assert ActivityEntry.objects.filter(workflow=workflow).count() == logged
    assert Cohort.objects.filter(workflow=workflow).count() == 1

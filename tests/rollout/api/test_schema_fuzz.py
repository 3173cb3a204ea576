"""Schemathesis: every operation of the published schema, with generated valid and invalid input.

No input may make a 5xx, and every response must be one the schema documents (status, content
type, headers, body shape). The schema is read from /api/v1/openapi.json while collecting, so an
operation added to the API becomes a test here (`test_...[POST /api/v1/events]`) by itself.
"""

import json

import hypothesis
import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck
from schemathesis.config import PositiveDataAcceptanceConfig, SchemathesisConfig

from accounts.models import User
from config.wsgi import application
from rollout.models import Workflow
from rollout.services import cohorts as cohort_svc
from rollout.services.briefings import BriefingText, briefing_publish
from tests.factories import UserFactory
from tests.rollout.api.conftest import IssuedToken
from tests.rollout.promotion_fixtures import make_plan

URL = "/api/v1/openapi.json"
# How an operation's description introduces the rules JSON Schema cannot say (an event at most 400
# days old, `from` on or before `to`, at most 366 days); each is answered with a 400 that says why.
RULES_BEYOND_THE_SCHEMA = "Rules beyond the schema"


def operations_with_documented_rules() -> list[str]:
    """The operations whose description states rules beyond the schema and that document a 400:
    only for them is a 400 to schema-valid input expected. Read from the published document."""
    document = json.loads(Client().get(URL).content)
    return [
        operation["operationId"]
        for path_item in document["paths"].values()
        for operation in path_item.values()
        if RULES_BEYOND_THE_SCHEMA in operation.get("description", "")
        and "400" in operation["responses"]
    ]


# A fixed seed and derandomized Hypothesis: the same cases every run, so a failure is a bug, not
# luck. max-examples is per operation and per mode; the coverage phase adds its own cases. Every
# check is on, among them: no 5xx, every status and body as documented, schema-invalid input
# rejected and schema-valid input accepted (or, where the description says why, a 400).
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261202,
        "generation": {
            "mode": "all",
            "deterministic": True,
            "database": "none",
            "max-examples": 150,
        },
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                "include-operation-id": operation_id,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [
                            *PositiveDataAcceptanceConfig().expected_statuses,
                            "400",
                        ]
                    }
                },
            }
            for operation_id in operations_with_documented_rules()
        ],
    }
)

# Loaded while collecting (the schema view needs no database), so every operation becomes a test.
# (schemathesis.pytest.from_fixture would load it lazily, but it breaks on pytest 9: `_nodeid`.)
# The management API (personal tokens) has a fuzz test of its own: tests/rollout/api/manage/.
schema = schemathesis.openapi.from_wsgi(URL, application, config=CONFIG).exclude(tag="Management")


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Schemathesis calls the WSGI app itself, which fires request_started/finished: Django then
    closes the database connection (CONN_MAX_AGE=0 in tests) in the middle of the test's
    transaction — on PostgreSQL every later query fails. Django's test client detaches this
    handler for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _plan(workflow: Workflow, ops_leader: User, settings) -> None:
    """The schema's example workflow in its limited phase with a live cohort, holding the
    schema's example person: decisions take their longest path."""
    settings.ROLLOUT_API_RATE_PER_MINUTE = 10**9  # rate limiting has tests of its own
    make_plan(workflow, current="limited")
    member = UserFactory(email="mia.member@example.com", external_id="EMP-7")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[member], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    # A briefing the example person has not acknowledged: their answer carries `reason` and
    # `briefing_url`, which the schema must describe.
    briefing_publish(
        workflow=workflow,
        actor=ops_leader,
        text=BriefingText("Drafts replies.", "A wrong refund.", "", "Report it."),
        material=True,
    )


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    derandomize=True,
    database=None,
    # The database fixtures are set up once per operation and shared by its examples, on purpose.
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_a_server_error(case, api_token: IssuedToken):
    # The token of the workflow above; schemathesis still sends its own cases without one.
    case.call_and_validate(headers=api_token.headers)

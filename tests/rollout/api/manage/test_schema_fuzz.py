"""Schemathesis over the management API's operations (tag "Management"), with an ops leader's
write token: no input makes a 5xx, and every answer is one the schema documents.

A few dozen examples per operation and mode in CI; for a full run by hand set
ROLLOUT_FUZZ_EXAMPLES (e.g. 1000). tests/rollout/api/test_schema_fuzz.py fuzzes the workflow-token
operations and leaves these to this file.
"""

import json
import os

import hypothesis
import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck
from schemathesis.config import PositiveDataAcceptanceConfig, SchemathesisConfig

from accounts.models import User
from config.wsgi import application
from rollout.models import Workflow
from rollout.services.phases import plan_create_default
from tests.rollout.api.manage.area_fixtures import AREA_OPERATIONS
from tests.rollout.api.manage.conftest import IssuedPersonalToken

URL = "/api/v1/openapi.json"
TAG = "Management"
RULES_BEYOND_THE_SCHEMA = "Rules beyond the schema"
EXAMPLES = int(os.environ.get("ROLLOUT_FUZZ_EXAMPLES", "30"))


def _operations(*, managed: bool = True) -> list[dict]:
    document = json.loads(Client().get(URL).content)
    return [
        operation
        for path_item in document["paths"].values()
        for operation in path_item.values()
        if (TAG in operation.get("tags", ())) == managed
    ]


def _accepted(operation: dict) -> list[str]:
    """What schema-valid input may answer besides schemathesis's defaults: a 400 where the
    description states rules beyond the schema, and 422 where an Idempotency-Key is taken (a
    generated key may come back with another body)."""
    extra = []
    if RULES_BEYOND_THE_SCHEMA in operation.get("description", ""):
        extra.append("400")
    if "422" in operation["responses"]:
        extra.append("422")
    return extra


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261207,
        "generation": {
            "mode": "all",
            "deterministic": True,
            "database": "none",
            "max-examples": EXAMPLES,
        },
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                "include-operation-id": operation["operationId"],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [
                            *PositiveDataAcceptanceConfig().expected_statuses,
                            *_accepted(operation),
                        ]
                    }
                },
            }
            for operation in _operations()
            if _accepted(operation)
        ],
    }
)

# Only the management operations. (include(tag=…) is lost when the config lists operations of its
# own, as above; excluding the others by id holds.)
# A workflow's parts (data sources, cohorts, …) are fuzzed against real ones in
# test_area_schema_fuzz.py.
schema = schemathesis.openapi.from_wsgi(URL, application, config=CONFIG).exclude(
    operation_id=[operation["operationId"] for operation in _operations(managed=False)]
    + list(AREA_OPERATIONS)
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As in tests/rollout/api/test_schema_fuzz.py: schemathesis calls the WSGI app, whose
    request signals would close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _plan(workflow: Workflow, ops_leader: User, settings) -> None:
    """The schema's example workflow, with its plan: updates take their longest path."""
    settings.ROLLOUT_API_RATE_PER_MINUTE = 10**9
    plan_create_default(workflow=workflow, start_date=workflow.created_at.date(), actor=ops_leader)


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_a_server_error(case, ops_token: IssuedPersonalToken):
    case.call_and_validate(headers=ops_token.headers)

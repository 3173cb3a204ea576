"""Schemathesis over the management operations on a workflow's parts (data sources, cohorts,
thresholds, escalation levels, notices), with an ops leader's write token.

No input may make a 5xx, and every response must be one the schema documents. The generated slug
and ids, when valid, are replaced by the example workflow's and its parts' own, so the cases
reach the services instead of stopping at a 404. A few dozen examples per operation in CI; raise
MAX_EXAMPLES by hand (ROLLOUT_FUZZ_EXAMPLES=1000) for a full run.
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
from core.acting import stop_acting_via_token
from rollout.api.manage.answers import MAX_ID
from rollout.models import Workflow
from rollout.models.workflow import SLUG_VALIDATOR
from tests.rollout.api.manage.area_fixtures import (
    AREA_OPERATIONS,
    Parts,
    make_parts,
    token_headers,
)

URL = "/api/v1/openapi.json"
MAX_EXAMPLES = int(os.environ.get("ROLLOUT_FUZZ_EXAMPLES", "30"))
RULES_BEYOND_THE_SCHEMA = "Rules beyond the schema"


def _document() -> dict:
    return json.loads(Client().get(URL).content)


def _all_operation_ids() -> list[str]:
    return [
        operation["operationId"]
        for item in _document()["paths"].values()
        for operation in item.values()
    ]


def _operations() -> dict[str, dict]:
    return {
        operation["operationId"]: operation
        for item in _document()["paths"].values()
        for operation in item.values()
        if operation["operationId"] in AREA_OPERATIONS
    }


def _accepting(operation: dict) -> list[str]:
    """Statuses schema-valid input may get beyond schemathesis's defaults: 400 where the
    description states rules beyond the schema; 422 for a create, whose generated
    Idempotency-Key may come back with another body."""
    statuses = []
    if RULES_BEYOND_THE_SCHEMA in operation.get("description", ""):
        statuses.append("400")
    if "422" in operation["responses"]:
        statuses.append("422")
    return statuses


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261207,
        "generation": {
            "mode": "all",
            "deterministic": True,
            "database": "none",
            "max-examples": MAX_EXAMPLES,
        },
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                "include-operation-id": operation_id,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [
                            *PositiveDataAcceptanceConfig().expected_statuses,
                            *_accepting(operation),
                        ]
                    }
                },
            }
            for operation_id, operation in _operations().items()
            if _accepting(operation)
        ],
    }
)

# Only these operations. (include(path_regex=…) is lost when the config lists operations of its
# own, as above; excluding the others by id holds.)
schema = schemathesis.openapi.from_wsgi(URL, application, config=CONFIG).exclude(
    operation_id=[name for name in _all_operation_ids() if name not in AREA_OPERATIONS]
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As in tests/rollout/api/test_schema_fuzz.py: schemathesis calls the WSGI app, whose
    request signals would close the test's database connection mid-transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzzed(workflow: Workflow, ops_leader: User, workflow_owner: User, settings) -> tuple:
    settings.ROLLOUT_API_RATE_PER_MINUTE = 10**9  # rate limiting has tests of its own
    # Schemathesis's WSGI client may leave the last response unclosed, so request_finished (which
    # ends acting through a token) has not run yet when the next operation's fixtures are made.
    stop_acting_via_token()
    return make_parts(workflow, ops_leader, workflow_owner), token_headers(ops_leader)


def _ids(parts: Parts) -> dict[str, int]:
    return {
        "source_id": parts.source.pk,
        "cohort_id": parts.cohort.pk,
        "threshold_id": parts.threshold.pk,
        "level_id": parts.level.pk,
        "notice_id": parts.notice.pk,
    }


def _aim(case, parts: Parts) -> None:
    """Valid generated path parameters become the example's own (still valid: same schema)."""
    parameters = case.path_parameters or {}
    slug = parameters.get("slug")
    if isinstance(slug, str) and 1 <= len(slug) <= 60 and SLUG_VALIDATOR.regex.fullmatch(slug):
        parameters["slug"] = parts.workflow.slug
    for name, pk in _ids(parts).items():
        value = parameters.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
            parameters[name] = pk


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    derandomize=True,
    database=None,
    # The database fixtures are set up once per operation and shared by its examples, on purpose.
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_a_server_error(case, fuzzed: tuple) -> None:
    parts, headers = fuzzed
    _aim(case, parts)
    case.call_and_validate(headers=headers)

"""Schemathesis against the OFREP paths with the protocol's own document (the vendored
ofrep_openapi.yaml, OFREP v0.3.0): no input makes a server error, and every response is one
the spec describes. Rollout's own, narrower schema of the same paths is fuzzed by
test_schema_fuzz.py with the rest of the API.

Two touches to the loaded copy, not the file:
* evaluationSuccess says `oneOf` over the value types, one of which (codeDefaultFlag) has no
  property at all, so it matches every body: with `oneOf`, no flag that carries a value could
  ever conform. Read as intended: `anyOf` (a value of one of the types, or none).
* The example flag key is this test's workflow, so generated requests also reach a real flag.
"""

from pathlib import Path

import hypothesis
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck
from schemathesis.config import PositiveDataAcceptanceConfig, SchemathesisConfig

from accounts.models import User
from config.wsgi import application
from rollout.models import Workflow
from rollout.services import cohorts as cohort_svc
from tests.factories import UserFactory
from tests.rollout.api.conftest import IssuedToken
from tests.rollout.promotion_fixtures import make_plan

SPEC = Path(__file__).with_name("ofrep_openapi.yaml")
SLUG = "support-reply-drafting"


def load_spec() -> dict:
    raw = yaml.safe_load(SPEC.read_text())
    success = raw["components"]["schemas"]["evaluationSuccess"]
    assert "oneOf" in success["allOf"][1], "the vendored spec changed: review this touch"
    success["allOf"][1] = {"anyOf": success["allOf"][1]["oneOf"]}
    single = raw["paths"]["/ofrep/v1/evaluate/flags/{key}"]["post"]
    single["parameters"][0]["example"] = SLUG
    return raw


# The spec's 400 is "the request is malformed or contains invalid context": a targetingKey the
# spec's schema allows (any string) may still be blank or hold control characters.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261207,
        "generation": {
            "mode": "all",
            "deterministic": True,
            "database": "none",
            "max-examples": 100,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            # It replays a case without one scheme's credentials; the token this test adds as a
            # bearer is then still there, and the spec's `security` lists ApiKeyAuth OR
            # BearerAuth: a 200 is right. Authentication is tested in test_ofrep_errors.py.
            "ignored_auth": {"enabled": False},
            "positive_data_acceptance": {
                "expected-statuses": [*PositiveDataAcceptanceConfig().expected_statuses, "400"]
            },
        },
    }
)

schema = schemathesis.openapi.from_dict(load_spec(), config=CONFIG)
schema.app = application


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As in test_schema_fuzz.py: schemathesis calls the WSGI app, whose request signals would
    close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _plan(workflow: Workflow, ops_leader: User, settings) -> None:
    settings.ROLLOUT_API_RATE_PER_MINUTE = 10**9  # rate limiting has tests of its own
    make_plan(workflow, current="limited")
    member = UserFactory(email="user-123", external_id="user-456")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[member], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=50, actor=ops_leader)


@schema.parametrize()
@hypothesis.settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_the_ofrep_spec_holds(case, api_token: IssuedToken):
    case.call_and_validate(headers=api_token.headers)

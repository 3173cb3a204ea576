"""The decision answer names the declared AI configuration's version (rule 9), cached like the
rest of the answer and invalidated when a new version is declared."""

import pytest
from django.utils import timezone

from rollout.models import AIConfiguration, ConfigOrigin
from rollout.services.data_sources import data_source_create
from rollout.services.workflows import workflow_update
from tests.rollout.api.test_decision import ask
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db


def test_the_answer_names_the_declared_version_and_follows_a_new_one(
    api_client, api_token, workflow, workflow_owner, member, django_capture_on_commit_callbacks
):
    make_plan(workflow, current="limited")
    assert ask(api_client, api_token, user=member.email).json()["config_version"] == 1
    assert ask(api_client, api_token, user=member.email).json()["config_version"] == 1  # warm
    with django_capture_on_commit_callbacks(execute=True):
        workflow_update(workflow=workflow, actor=workflow_owner, prompt_version="v7")
    assert ask(api_client, api_token, user=member.email).json() == {
        "mode": "live",
        "phase": "limited",
        "cohort": "Tier 1",
        "config_version": 2,
        "review_level": "every",
    }
    with django_capture_on_commit_callbacks(execute=True):
        data_source_create(
            workflow=workflow, actor=workflow_owner, name="CRM", kind="live", version="3"
        )
    assert ask(api_client, api_token, user=member.email).json()["config_version"] == 3


def test_an_observed_version_is_not_what_was_declared(api_client, api_token, workflow, member):
    make_plan(workflow, current="shadow")
    AIConfiguration.objects.create(
        workflow=workflow,
        version=2,
        prompt_version="v7",
        effective_at=timezone.now(),
        origin=ConfigOrigin.OBSERVED,
    )
    assert ask(api_client, api_token, user=member.email).json()["config_version"] == 1


def test_null_before_any_version_is_recorded(api_client, api_token, workflow, member):
    AIConfiguration.objects.filter(workflow=workflow).delete()
    make_plan(workflow, current="shadow")
    assert ask(api_client, api_token, user=member.email).json()["config_version"] is None


def test_the_schema_documents_it(api_client):
    schema = api_client.get("/api/v1/openapi.json").json()
    props = schema["components"]["schemas"]["DecisionOut"]["properties"]
    assert "config_version" in props
    assert "declared" in props["config_version"]["description"]

"""Data-source health on the pages: the plan (key, observed state, rates), the usage page's
panel, the overview's health and gate, the portfolio's health column, and the forms."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rollout.forms.plan import MSG_KEY_FIXED_HELP
from rollout.models import DataSource, SourceKind, SourceStatus, Threshold
from rollout.services.data_sources import data_source_create
from rollout.services.source_health import source_heartbeat_record
from rollout.services.thresholds import MSG_SOURCE_ONLY_FOR_INPUTS
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(workflow, ops_leader) -> DataSource:
    return data_source_create(
        workflow=workflow, actor=ops_leader, name="CRM export", kind=SourceKind.LIVE,
        max_age_minutes=60,
    )  # fmt: skip


def stale(source: DataSource) -> None:
    source_heartbeat_record(
        source=source, records=10, rejected=2, data_as_of=timezone.now() - timedelta(hours=5)
    )


def page(client, user, name, **kwargs):
    client.force_login(user)
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    return response.content.decode()


def test_the_plan_shows_each_sources_key_state_age_and_rates(client, workflow_owner, workflow, crm):
    stale(crm)
    content = page(client, workflow_owner, "workflow_plan", slug=workflow.slug)
    assert '<code class="source-key">crm-export</code>' in content
    assert "! Stale" in content
    assert "“CRM export” is stale since" in content
    assert "(data 5 h old; expected within 1 hour)" in content
    assert '20.0% <span class="muted small">of 10 reports</span>' in content
    assert "POST /api/v1/sources/&lt;key&gt;/heartbeat" in content


def test_a_source_that_never_reported_says_so(client, workflow_owner, workflow, crm):
    content = page(client, workflow_owner, "workflow_plan", slug=workflow.slug)
    assert "? Never reported" in content
    assert "Never reported</dd>" in content


def test_the_source_form_takes_a_maximum_age_in_a_unit(client, workflow_owner, workflow):
    client.force_login(workflow_owner)
    data = {
        "name": "Orders API", "key": "", "kind": "live", "max_age_value": "2",
        "max_age_unit": "1440", "freshness": "nightly load",
    }  # fmt: skip
    response = client.post(
        reverse("workflow_source_new", kwargs={"slug": workflow.slug}),
        {f"source-new-{k}": v for k, v in data.items()},
    )
    assert response.status_code == 302
    source = DataSource.objects.get()
    assert (source.key, source.max_age_minutes, source.freshness) == (
        "orders-api",
        2880,
        "nightly load",
    )
    content = page(client, workflow_owner, "workflow_plan", slug=workflow.slug)
    assert "Within 2 days · nightly load" in content
    assert f'name="source-{source.pk}-max_age_value" value="2"' in content


def test_a_bad_maximum_age_changes_nothing(client, workflow_owner, workflow):
    client.force_login(workflow_owner)
    data = {"name": "Orders API", "kind": "live", "max_age_value": "0", "max_age_unit": "60"}
    response = client.post(
        reverse("workflow_source_new", kwargs={"slug": workflow.slug}),
        {f"source-new-{k}": v for k, v in data.items()},
    )
    assert response.status_code == 200
    assert "max_age_value" in response.context["bound"]["source-new"].errors
    assert not DataSource.objects.exists()


def test_the_usage_page_has_a_data_sources_panel(client, workflow_owner, workflow, crm):
    stale(crm)
    content = page(client, workflow_owner, "workflow_usage", slug=workflow.slug)
    assert 'id="sources-heading">Data sources</h2>' in content
    assert '<tr class="row-flagged">' in content
    assert "<code>crm-export</code>" in content


def test_the_overview_health_and_gate_name_the_silent_source(client, workflow_owner, workflow, crm):
    make_plan(workflow, current="shadow")
    source_heartbeat_record(source=crm, records=1, rejected=0)
    SourceStatus.objects.filter(source=crm).update(
        last_seen_at=timezone.now() - timedelta(hours=26)
    )
    content = page(client, workflow_owner, "workflow_overview", slug=workflow.slug)
    assert "! At risk" in content
    assert "Data source “CRM export” is silent since" in content
    assert "nothing reported for over 24 hours." in content
    assert "Live data sources fresh" in content


def test_the_portfolio_flags_the_workflow(client, ops_leader, workflow, crm):
    stale(crm)
    content = page(client, ops_leader, "workflow_portfolio")
    assert "Data source “CRM export” stale</a>" in content


def test_the_threshold_form_offers_a_source_only_for_input_metrics(
    client, workflow_owner, workflow, crm
):
    client.force_login(workflow_owner)
    data = {
        "metric": "error_rate", "comparator": "lte", "limit": "5", "window_days": "7",
        "min_sample": "20", "scope": "workflow", "action": "alert", "bad_output": "x",
        "source": str(crm.pk),
    }  # fmt: skip
    url = reverse("workflow_thresholds", kwargs={"slug": workflow.slug})
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"source": [MSG_SOURCE_ONLY_FOR_INPUTS]}
    assert not Threshold.objects.exists()
    response = client.post(url, {**data, "metric": "input_rejection_rate"})
    assert response.status_code == 302
    threshold = Threshold.objects.get()
    assert threshold.source == crm
    content = page(client, workflow_owner, "workflow_thresholds", slug=workflow.slug)
    assert (
        "Input rejection rate at most 5% over 7 days, min 20 cases, data source “CRM export”"
        in content
    )


def test_the_key_field_is_fixed_once_the_source_reported(client, workflow_owner, workflow, crm):
    client.force_login(workflow_owner)
    plan = reverse("workflow_plan", kwargs={"slug": workflow.slug})
    form = client.get(plan).context["sources"][0].form
    assert not form.fields["key"].disabled
    source_heartbeat_record(source=crm, records=1, rejected=0)
    form = client.get(plan).context["sources"][0].form
    assert form.fields["key"].disabled
    assert form.fields["key"].help_text == MSG_KEY_FIXED_HELP
    # A posted key is ignored for a disabled field: the source keeps its key.
    prefix = f"source-{crm.pk}"
    data = {"name": "CRM export", "key": "other", "kind": "live", "max_age_value": "1"}
    response = client.post(
        reverse("workflow_source_edit", kwargs={"slug": workflow.slug}),
        {"source": crm.pk, **{f"{prefix}-{k}": v for k, v in data.items()}},
    )
    assert response.status_code == 302
    crm.refresh_from_db()
    assert (crm.key, crm.max_age_minutes) == ("crm-export", 60)

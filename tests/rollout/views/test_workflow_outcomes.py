"""The outcome metrics page: read by those who read the workflow, declared, edited, archived and
restored by the owner and ops leaders; bad input re-renders with the message and writes nothing."""

import pytest
from django.urls import reverse

from rollout.models import ActivityEntry, OutcomeMetric
from rollout.services.outcome_metrics import MSG_NAME, MSG_NAME_TAKEN
from tests.factories import UserFactory
from tests.rollout.views.conftest import as_user

pytestmark = pytest.mark.django_db


def url(workflow) -> str:
    return reverse("workflow_outcomes", args=[workflow.slug])


def declare(client, workflow, **fields):
    data = {"action": "create", "name": "handle_time_s", "label": "Handle time", "unit": "s"}
    return client.post(url(workflow), data | fields)


def test_the_owner_declares_a_metric(workflow, workflow_owner):
    client = as_user(workflow_owner)
    response = declare(client, workflow)
    assert response.status_code == 302
    metric = OutcomeMetric.objects.get(workflow=workflow)
    assert (metric.name, metric.label, metric.unit, metric.higher_is_better) == (
        "handle_time_s",
        "Handle time",
        "s",
        False,
    )
    assert ActivityEntry.objects.filter(verb="declared an outcome metric").count() == 1
    page = client.get(url(workflow))
    assert b"handle_time_s" in page.content and b"Declare an outcome metric" in page.content


@pytest.mark.parametrize(
    ("name", "message"),
    [("Handle Time", MSG_NAME), ("9lives", MSG_NAME), ("x" * 41, None), ("", None)],
)
def test_a_bad_name_is_refused_beside_the_field(workflow, workflow_owner, name, message):
    response = declare(as_user(workflow_owner), workflow, name=name)
    assert response.status_code == 200
    errors = response.context["create_form"].errors
    assert "name" in errors
    if message:
        assert errors["name"] == [message]
    assert not OutcomeMetric.objects.exists()


def test_names_are_unique_per_workflow(workflow, workflow_owner):
    client = as_user(workflow_owner)
    declare(client, workflow)
    response = declare(client, workflow, label="Again")
    assert response.context["create_form"].errors["name"] == [
        MSG_NAME_TAKEN.format(name="handle_time_s")
    ]
    assert OutcomeMetric.objects.count() == 1


def test_edit_archive_and_restore(workflow, ops_leader):
    client = as_user(ops_leader)
    declare(client, workflow)
    metric = OutcomeMetric.objects.get()
    response = client.post(
        url(workflow),
        {"action": "edit", "metric": metric.pk, "label": "Time to resolve", "unit": "min",
         "higher_is_better": ""},
    )  # fmt: skip
    assert response.status_code == 302
    metric.refresh_from_db()
    assert (metric.label, metric.unit) == ("Time to resolve", "min")
    client.post(url(workflow), {"action": "archive", "metric": metric.pk})
    metric.refresh_from_db()
    assert metric.archived_at is not None
    client.post(url(workflow), {"action": "restore", "metric": metric.pk})
    metric.refresh_from_db()
    assert metric.archived_at is None


def test_a_blank_label_on_edit_changes_nothing(workflow, workflow_owner):
    client = as_user(workflow_owner)
    declare(client, workflow)
    metric = OutcomeMetric.objects.get()
    response = client.post(url(workflow), {"action": "edit", "metric": metric.pk, "label": " "})
    assert response.status_code == 200
    assert "label" in response.context["metrics"][0].edit_form.errors
    metric.refresh_from_db()
    assert metric.label == "Handle time"


def test_another_workflows_metric_is_404(workflow, workflow_owner, ops_leader):
    from tests.factories import make_workflow

    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-flow")
    foreign = OutcomeMetric.objects.create(workflow=other, name="csat", label="CSAT")
    client = as_user(workflow_owner)
    for action in ("edit", "archive", "restore"):
        response = client.post(url(workflow), {"action": action, "metric": foreign.pk})
        assert response.status_code == 404
    response = client.post(url(workflow), {"action": "archive", "metric": "abc"})
    assert response.status_code == 404


def test_nobody_without_a_role_sees_the_page(workflow):
    assert as_user(UserFactory()).get(url(workflow)).status_code == 404

"""A cohort's review level: the cohorts page shows it with a pending request and its gate; the
cohort's review-level page changes it (up at once, down as a request) and lets ops leaders decide;
the approvals page lists the requests beside promotions."""

import pytest
from django.urls import reverse

from rollout.models import AutonomyRequest, Cohort, ReviewLevel
from rollout.services.autonomy import MSG_ONE_RUNG, autonomy_change
from rollout.views import cohort_review_level as views
from tests.rollout.views.conftest import as_user

pytestmark = pytest.mark.django_db


def url(cohort: Cohort) -> str:
    return reverse("cohort_review_level", args=[cohort.workflow.slug, cohort.pk])


@pytest.fixture
def every_cohort(sampled_cohort):
    Cohort.objects.filter(pk=sampled_cohort.pk).update(review_level=ReviewLevel.EVERY)
    return Cohort.objects.get(pk=sampled_cohort.pk)


def test_the_page_shows_the_ladder_and_the_gate_of_the_next_step(every_cohort, workflow_owner):
    response = as_user(workflow_owner).get(url(every_cohort))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'aria-current="step" class="ladder-current">Every output reviewed' in body
    assert "Gate: Every output reviewed → A sample reviewed after the fact" in body
    assert "Override + edit rate" in body and "Shadow phase&#x27;s final agreement verdict" in body


def test_a_member_is_404(every_cohort):
    assert as_user(every_cohort.members.get()).get(url(every_cohort)).status_code == 404


def test_the_owner_requests_less_review_and_sees_it_pending(every_cohort, workflow_owner):
    client = as_user(workflow_owner)
    response = client.post(
        url(every_cohort), {"action": "change", "to_level": "sample", "sample_rate": "10"}
    )
    assert response.status_code == 302 and response["Location"] == url(every_cohort)
    request = AutonomyRequest.objects.get()
    assert request.status == "pending"
    flashed = client.get(url(every_cohort)).content.decode()
    assert views.MSG_REQUESTED.format(name="Tier 1", label=request.label) in flashed
    cohorts_page = client.get(reverse("workflow_cohorts", args=[every_cohort.workflow.slug]))
    body = cohorts_page.content.decode()
    assert (
        "Waiting for approval:</strong> Every output reviewed → 10% sampled after the fact" in body
    )
    assert "The gate when it was requested" in body


def test_more_review_is_immediate_from_the_page(sampled_cohort, workflow_owner):
    response = as_user(workflow_owner).post(
        url(sampled_cohort), {"action": "change", "to_level": "every"}
    )
    assert response.status_code == 302
    assert Cohort.objects.get(pk=sampled_cohort.pk).review_level == ReviewLevel.EVERY
    assert not AutonomyRequest.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"to_level": "sample"}, "Give the share of outputs to review"),
        ({"to_level": "sample", "sample_rate": "80"}, "The sample rate is a whole percentage"),
        ({"to_level": "sample", "sample_rate": "ten"}, "The sample rate is a whole percentage"),
        ({"to_level": "all"}, "Choose a review level"),
        ({"to_level": "none"}, MSG_ONE_RUNG),
    ],
)
def test_bad_input_shows_an_error_and_changes_nothing(every_cohort, workflow_owner, data, message):
    response = as_user(workflow_owner).post(url(every_cohort), {"action": "change", **data})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Cohort.objects.get(pk=every_cohort.pk).review_level == ReviewLevel.EVERY
    assert not AutonomyRequest.objects.exists()


def test_an_ops_leader_decides_from_the_page(every_cohort, workflow_owner, ops_leader):
    request = autonomy_change(
        cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=5
    )
    client = as_user(ops_leader)
    body = client.get(url(every_cohort)).content.decode()
    assert "Approve despite the gate" in body  # the gate does not pass: no usage, no shadow
    client.post(url(every_cohort), {"action": "approve", "request": request.pk})
    request.refresh_from_db()
    assert request.status == "pending"  # refused: the gate fails
    client.post(
        url(every_cohort), {"action": "override", "request": request.pk, "note": "Small team."}
    )
    request.refresh_from_db()
    assert request.status == "executed"
    assert Cohort.objects.get(pk=every_cohort.pk).review_level == ReviewLevel.SAMPLE


def test_a_request_of_another_cohort_is_404(every_cohort, workflow_owner, ops_leader, workflow):
    other = workflow.cohorts.create(name="Tier 2", enrolled_phase="limited")
    request = autonomy_change(cohort=other, actor=workflow_owner, to_level="sample", sample_rate=5)
    response = as_user(ops_leader).post(
        url(every_cohort), {"action": "reject", "request": request.pk}
    )
    assert response.status_code == 404


def test_the_approvals_page_lists_requests_beside_promotions(
    every_cohort, workflow_owner, ops_leader
):
    autonomy_change(cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=5)
    body = as_user(ops_leader).get(reverse("approval_list")).content.decode()
    assert "Less review of AI outputs, waiting for approval" in body
    assert f'href="{url(every_cohort)}"' in body
    assert "Every output reviewed → 5% sampled after the fact" in body

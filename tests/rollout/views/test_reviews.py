"""The review pages, role by role: the owner runs a review; executives read; members see none."""

import pytest
from django.test import Client
from django.urls import reverse

from rollout.models import Review, ReviewStatus, Workflow
from rollout.services import reviews as services
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready


@pytest.fixture
def steady(workflow: Workflow, ops_leader) -> Workflow:
    make_plan(workflow, current="steady")
    make_shadow_ready(workflow, ops_leader)
    return workflow


def url(workflow: Workflow, review: Review | None = None) -> str:
    if review is None:
        return reverse("workflow_reviews", args=[workflow.slug])
    return reverse("review_detail", args=[workflow.slug, review.pk])


def test_the_owner_starts_answers_decides_and_completes(client: Client, steady, workflow_owner):
    client.force_login(workflow_owner)
    page = client.get(url(steady))
    assert page.status_code == 200
    assert b"Start a review" in page.content
    response = client.post(url(steady), {"action": "start"})
    review = Review.objects.get()
    assert response.status_code == 302 and response["Location"] == url(steady, review)
    page = client.get(url(steady, review))
    assert page.status_code == 200
    assert b"Re-attestation" in page.content and b"Snapshot" in page.content
    for item in review.attestations.all():
        response = client.post(
            url(steady, review),
            {"action": "attest", "item": item.pk, f"item-{item.pk}-answer": "holds"},
        )
        assert response.status_code == 302, response.content
    response = client.post(
        url(steady, review), {"action": "decide", "kind": "continue", "rationale": "All fine."}
    )
    assert response.status_code == 302
    response = client.post(url(steady, review), {"action": "complete", "summary": ""})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.COMPLETED


def test_bad_input_shows_a_clear_message_and_changes_nothing(
    client: Client, steady, workflow_owner
):
    client.force_login(workflow_owner)
    review = services.review_start(workflow=steady, actor=workflow_owner)
    item = review.attestations.first()
    response = client.post(
        url(steady, review),
        {"action": "attest", "item": item.pk, f"item-{item.pk}-answer": "changed"},
    )
    assert response.status_code == 200
    assert services.MSG_WHAT_CHANGED in response.content.decode()
    response = client.post(url(steady, review), {"action": "decide", "kind": "retire"})
    assert services.MSG_RATIONALE_REQUIRED in response.content.decode()
    response = client.post(url(steady, review), {"action": "complete"})
    assert "Answer every item first" in response.content.decode()
    response = client.post(url(steady, review), {"action": "dance"})
    assert response.status_code == 400
    review.refresh_from_db()
    item.refresh_from_db()
    assert (review.status, item.answer, review.decisions.count()) == ("in_progress", "", 0)
    assert not steady.__class__.objects.get(pk=steady.pk).is_retired


def test_htmx_posts_get_the_work_panel(client: Client, steady, workflow_owner):
    client.force_login(workflow_owner)
    review = services.review_start(workflow=steady, actor=workflow_owner)
    response = client.post(
        url(steady, review),
        {"action": "decide", "kind": "hold", "rationale": "Wait."},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="review-work"')
    assert "Decision recorded." in content


def test_an_executive_reads_but_changes_nothing(client: Client, steady, workflow_owner, executive):
    review = services.review_start(workflow=steady, actor=workflow_owner)
    client.force_login(executive)
    page = client.get(url(steady, review))
    assert page.status_code == 200
    assert b"Save answer" not in page.content and b"Record decision" not in page.content
    assert b"Start a review" not in client.get(url(steady)).content
    assert client.post(url(steady), {"action": "start"}).status_code == 404
    response = client.post(
        url(steady, review), {"action": "decide", "kind": "hold", "rationale": "x"}
    )
    assert response.status_code == 404
    assert review.decisions.count() == 0


def test_a_cohort_member_sees_no_review(client: Client, steady, workflow_owner, ops_leader):
    review = services.review_start(workflow=steady, actor=workflow_owner)
    member = UserFactory(email="member@example.com")
    cohort = cohort_create(workflow=steady, actor=ops_leader, name="Tier 1")
    cohort_members_add(cohort=cohort, actor=ops_leader, users=[member])
    client.force_login(member)
    assert client.get(url(steady)).status_code == 404
    assert client.get(url(steady, review)).status_code == 404
    assert client.post(url(steady), {"action": "start"}).status_code == 404


def test_pages_use_a_fixed_number_of_queries(
    client: Client, steady, workflow_owner, django_assert_max_num_queries
):
    client.force_login(workflow_owner)
    review = services.review_start(workflow=steady, actor=workflow_owner)
    client.get(url(steady, review))  # warm the session and permission caches
    with django_assert_max_num_queries(QUERIES) as first:
        client.get(url(steady, review))
    for n in range(5):
        steady.thresholds.create(
            metric="error_rate",
            comparator="lte",
            limit=0.02 + n / 100,
            bad_output="Wrong",
            action="alert",
        )
    Review.objects.filter(pk=review.pk).update(status="completed")
    review = services.review_start(workflow=steady, actor=workflow_owner)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(url(steady, review))
    with django_assert_max_num_queries(QUERIES):
        client.get(url(steady))


QUERIES = 12

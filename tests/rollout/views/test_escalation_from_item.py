"""Opening an escalation by hand from a feedback, an incident or a threshold: the form starts
from the item, the escalation is linked to it with the matching source, and an item of another
workflow is refused without opening anything."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from rollout.models import Escalation, Threshold
from rollout.services.feedback import feedback_create
from rollout.services.incidents import incident_open
from tests.factories import make_workflow
from tests.rollout.views.conftest import as_user


def url(workflow) -> str:
    return reverse("escalation_path", kwargs={"slug": workflow.slug})


def a_threshold(workflow) -> Threshold:
    return Threshold.objects.create(
        workflow=workflow,
        metric="override_rate",
        comparator="lte",
        limit=0.1,
        bad_output="A reply the agent rewrites.",
        action="alert",
    )


def test_the_form_starts_from_a_feedback(workflow, workflow_owner):
    feedback = feedback_create(
        workflow=workflow,
        rating="not_helpful",
        category="wrong_output",
        text="It promised a refund",
        author=workflow_owner,
    )

    response = as_user(workflow_owner).get(url(workflow), {"feedback": feedback.pk})

    form = response.context["open_form"]
    assert form.initial["feedback"] == feedback.pk
    assert form.initial["title"] == f"Feedback #{feedback.pk}: Wrong output: It promised a refund"
    assert f"About feedback #{feedback.pk}." in response.content.decode()


def test_opening_from_a_feedback_links_it(workflow, workflow_owner):
    feedback = feedback_create(
        workflow=workflow, rating="not_helpful", category="slow", author=workflow_owner
    )

    response = as_user(workflow_owner).post(
        url(workflow),
        {
            "action": "open",
            "open-title": "Slow replies",
            "open-severity": "high",
            "open-feedback": feedback.pk,
        },
    )

    escalation = Escalation.objects.get()
    assert response.status_code == 302
    assert (escalation.source, escalation.feedback) == ("feedback", feedback)


def test_opening_from_an_incident_and_from_a_threshold(workflow, workflow_owner):
    incident = incident_open(
        workflow=workflow,
        actor=workflow_owner,
        title="Refunds promised",
        started_at=timezone.now() - timedelta(hours=1),
    )
    threshold = a_threshold(workflow)
    client = as_user(workflow_owner)

    client.post(
        url(workflow),
        {
            "action": "open",
            "open-title": "A",
            "open-severity": "high",
            "open-incident": incident.pk,
        },
    )
    client.post(
        url(workflow),
        {
            "action": "open",
            "open-title": "B",
            "open-severity": "high",
            "open-threshold": threshold.pk,
        },
    )

    by_title = {e.title: e for e in Escalation.objects.all()}
    assert (by_title["A"].source, by_title["A"].incident) == ("incident", incident)
    assert (by_title["B"].source, by_title["B"].threshold) == ("breach", threshold)


def test_an_item_of_another_workflow_is_refused(workflow, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-flow")
    foreign = a_threshold(other)

    response = as_user(workflow_owner).post(
        url(workflow),
        {
            "action": "open",
            "open-title": "X",
            "open-severity": "high",
            "open-threshold": foreign.pk,
        },
    )

    assert response.status_code == 200
    assert "is not part of this workflow" in response.content.decode()
    assert not Escalation.objects.exists()


def test_a_foreign_id_in_the_query_is_ignored(workflow, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-flow")
    foreign = a_threshold(other)

    response = as_user(workflow_owner).get(url(workflow), {"threshold": foreign.pk})

    assert response.status_code == 200
    assert not response.context["open_form"].initial

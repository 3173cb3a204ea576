import datetime

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rollout.models import ActivityEntry, Phase, Threshold
from rollout.selectors.thresholds import threshold_sentence
from rollout.services import thresholds as svc
from rollout.views import thresholds as views
from tests.factories import make_workflow
from tests.rollout.views.conftest import login_redirect, template_names

PAGE = "rollout/workflow_thresholds.html"
SENTENCE = (
    "Error rate at most 2% (marginal to 3%) over 7 days, min 200 cases, whole workflow → "
    "pause the roll-out"
)
FORM = {
    "metric": "error_rate",
    "comparator": "lte",
    "limit": "2",
    "marginal_limit": "3",
    "window_days": "7",
    "min_sample": "200",
    "scope": "workflow",
    "action": "pause_rollout",
    "bad_output": "A reply that promises a refund we don't offer.",
}


def url(slug: str) -> str:
    return reverse("workflow_thresholds", kwargs={"slug": slug})


def t_url(name: str, threshold: Threshold) -> str:
    return reverse(name, kwargs={"slug": threshold.workflow.slug, "threshold_id": threshold.pk})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def threshold(workflow, ops_leader) -> Threshold:
    return svc.threshold_create(
        workflow=workflow,
        actor=ops_leader,
        metric="error_rate",
        comparator="lte",
        limit=0.02,
        marginal_limit=0.03,
        window_days=7,
        min_sample=200,
        scope="workflow",
        bad_output="A reply that promises a refund we don't offer.",
        action="pause_rollout",
    )


def start_limited(workflow) -> None:
    Phase.objects.create(
        workflow=workflow,
        kind="limited",
        position=3,
        planned_start=datetime.date(2026, 1, 5),
        actual_start=timezone.now(),
        status="active",
    )


def test_anonymous_is_sent_to_sign_in(client, workflow, threshold):
    assert client.get(url(workflow.slug))["Location"] == login_redirect(url(workflow.slug))
    delete = t_url("threshold_delete", threshold)
    assert client.post(delete)["Location"] == login_redirect(delete)
    assert Threshold.objects.count() == 1


def test_no_role_gets_404_everywhere(client, other_user, workflow, threshold):
    client.force_login(other_user)
    entries = ActivityEntry.objects.count()

    assert client.get(url(workflow.slug)).status_code == 404
    assert client.post(url(workflow.slug), FORM).status_code == 404
    assert client.get(t_url("threshold_edit", threshold)).status_code == 404
    assert client.post(t_url("threshold_delete", threshold)).status_code == 404
    assert ActivityEntry.objects.count() == entries
    assert Threshold.objects.count() == 1


def test_thresholds_read_as_sentences(
    client, workflow_owner, workflow, threshold, django_assert_max_num_queries
):
    client.force_login(workflow_owner)
    # + the organisation's currency, which costs are written in (issue 18).
    with django_assert_max_num_queries(13):
        response = client.get(url(workflow.slug))

    assert response.status_code == 200
    assert template_names(response)[0] == PAGE
    html = response.content.decode()
    assert f"<td>{SENTENCE}</td>" in html
    assert "A reply that promises a refund we don&#x27;t offer." in html
    assert "After launch</span>" not in html
    assert ">Edit<" in html and ">Delete<" in html
    assert "Add a threshold" in html and '<label for="id_limit">Limit (%, ms or amount)' in html
    assert "The limited roll-out cannot start" not in html
    assert "Current value" not in html
    assert 'aria-current="page">Thresholds</a>' in html


def test_query_count_does_not_grow_with_thresholds(
    client, ops_leader, workflow, threshold, django_assert_max_num_queries
):
    for n in range(8):
        svc.threshold_create(
            workflow=workflow,
            actor=ops_leader,
            metric="p95_latency_ms",
            comparator="lte",
            limit=500 + n,
            marginal_limit=None,
            window_days=7,
            min_sample=10,
            scope="workflow",
            bad_output="Slow",
            action="alert",
        )
    client.force_login(ops_leader)
    # + the organisation's currency, which costs are written in (issue 18).
    with django_assert_max_num_queries(13):
        assert client.get(url(workflow.slug)).status_code == 200


def test_missing_quality_threshold_is_called_out(client, ops_leader, workflow):
    client.force_login(ops_leader)
    html = client.get(url(workflow.slug)).content.decode()

    assert "No thresholds yet." in html
    assert (
        "The limited roll-out cannot start until there is at least one threshold on a quality "
        "metric (error rate, override rate, acceptance rate)."
    ) in html


def test_executive_reads_but_cannot_change(client, executive, workflow, threshold):
    client.force_login(executive)
    entries = ActivityEntry.objects.count()

    html = client.get(url(workflow.slug)).content.decode()
    assert SENTENCE in html
    assert "Add a threshold" not in html and ">Delete<" not in html

    assert client.post(url(workflow.slug), FORM).status_code == 404
    assert client.get(t_url("threshold_edit", threshold)).status_code == 404
    assert client.post(t_url("threshold_edit", threshold), FORM | {"limit": "5"}).status_code == 404
    assert client.post(t_url("threshold_delete", threshold)).status_code == 404
    assert ActivityEntry.objects.count() == entries
    assert Threshold.objects.count() == 1


def test_owner_adds_a_threshold_in_percent(client, workflow_owner, workflow):
    client.force_login(workflow_owner)
    response = client.post(url(workflow.slug), FORM)

    assert response.status_code == 302
    assert response["Location"] == url(workflow.slug)
    assert messages_of(response) == [views.MSG_ADDED.format(sentence=SENTENCE)]
    threshold = Threshold.objects.get()
    assert (threshold.limit, threshold.marginal_limit) == (0.02, 0.03)
    assert threshold.added_after_launch is False


def test_latency_is_entered_in_milliseconds(client, ops_leader, workflow):
    client.force_login(ops_leader)
    data = FORM | {"metric": "p95_latency_ms", "limit": "800", "marginal_limit": ""}
    client.post(url(workflow.slug), data)

    assert Threshold.objects.get().limit == 800


def test_added_after_launch_gets_the_badge(client, ops_leader, workflow):
    start_limited(workflow)
    client.force_login(ops_leader)

    response = client.post(url(workflow.slug), FORM)

    assert messages_of(response) == [views.MSG_ADDED_AFTER_LAUNCH.format(sentence=SENTENCE)]
    html = client.get(url(workflow.slug)).content.decode()
    assert f'{SENTENCE} <span class="badge badge-warn">After launch</span>' in html
    assert "The limited roll-out has started" in html


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"limit": "150"}, "limit", svc.MSG_RATE_LIMIT_RANGE),
        ({"marginal_limit": "1"}, "marginal_limit", svc.MSG_MARGINAL_AT_MOST),
        (
            {"comparator": "gte", "limit": "80", "marginal_limit": "90"},
            "marginal_limit",
            svc.MSG_MARGINAL_AT_LEAST,
        ),
        ({"window_days": "120"}, "window_days", svc.MSG_WINDOW_RANGE),
        ({"min_sample": "0"}, "min_sample", svc.MSG_MIN_SAMPLE),
        ({"bad_output": ""}, "bad_output", svc.MSG_BAD_OUTPUT_REQUIRED),
        ({"limit": "two"}, "limit", "Enter a number."),
    ],
)
def test_bad_input_is_shown_beside_the_field(client, ops_leader, workflow, data, field, error):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), FORM | data)

    assert response.status_code == 200
    assert template_names(response)[0] == PAGE
    assert response.context["form"].errors[field] == [error]
    assert f'<p class="error" id="id_{field}_error">' in response.content.decode()
    assert Threshold.objects.count() == 0
    assert ActivityEntry.objects.count() == entries


def test_edit_prefills_percentages_and_saves(client, ops_leader, workflow, threshold):
    client.force_login(ops_leader)
    page = client.get(t_url("threshold_edit", threshold))

    assert page.status_code == 200
    assert template_names(page)[0] == PAGE
    assert page.context["form"].initial["limit"] == 2
    assert page.context["form"].initial["marginal_limit"] == 3
    assert "Edit threshold" in page.content.decode()

    response = client.post(t_url("threshold_edit", threshold), FORM | {"limit": "1.5"})
    assert response.status_code == 302
    threshold.refresh_from_db()
    assert threshold.limit == 0.015
    assert messages_of(response) == [
        views.MSG_UPDATED.format(sentence=threshold_sentence(threshold))
    ]


def test_loosening_after_launch_says_so(client, ops_leader, workflow, threshold):
    start_limited(workflow)
    client.force_login(ops_leader)

    response = client.post(t_url("threshold_edit", threshold), FORM | {"limit": "2.5"})

    threshold.refresh_from_db()
    assert threshold.added_after_launch is True
    assert messages_of(response) == [
        views.MSG_UPDATED_AFTER_LAUNCH.format(sentence=threshold_sentence(threshold))
    ]


def test_edit_without_change_saves_nothing(client, ops_leader, workflow, threshold):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(t_url("threshold_edit", threshold), FORM)

    assert messages_of(response) == [views.MSG_UNCHANGED]
    assert ActivityEntry.objects.count() == entries


def test_bad_edit_changes_nothing(client, ops_leader, workflow, threshold):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(t_url("threshold_edit", threshold), FORM | {"marginal_limit": "1"})

    assert response.status_code == 200
    assert response.context["form"].errors["marginal_limit"] == [svc.MSG_MARGINAL_AT_MOST]
    threshold.refresh_from_db()
    assert threshold.marginal_limit == 0.03
    assert ActivityEntry.objects.count() == entries


def test_delete(client, workflow_owner, workflow, threshold):
    client.force_login(workflow_owner)
    response = client.post(t_url("threshold_delete", threshold))

    assert response.status_code == 302
    assert messages_of(response) == [views.MSG_DELETED.format(sentence=SENTENCE)]
    assert Threshold.objects.count() == 0


def test_delete_is_post_only(client, ops_leader, workflow, threshold):
    client.force_login(ops_leader)
    assert client.get(t_url("threshold_delete", threshold)).status_code == 405
    assert Threshold.objects.count() == 1


def test_threshold_of_another_workflow_is_404(client, ops_leader, workflow, threshold):
    other = make_workflow(actor=ops_leader)
    client.force_login(ops_leader)
    kwargs = {"slug": other.slug, "threshold_id": threshold.pk}

    assert client.get(reverse("threshold_edit", kwargs=kwargs)).status_code == 404
    assert client.post(reverse("threshold_edit", kwargs=kwargs), FORM).status_code == 404
    assert client.post(reverse("threshold_delete", kwargs=kwargs)).status_code == 404
    assert Threshold.objects.count() == 1


def test_post_without_csrf_token_is_refused(ops_leader, workflow, threshold):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_leader)

    assert client.post(url(workflow.slug), FORM).status_code == 403
    assert client.post(t_url("threshold_delete", threshold)).status_code == 403
    assert Threshold.objects.count() == 1

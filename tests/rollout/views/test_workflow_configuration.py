"""The AI configuration page: the version in effect, an undeclared change called out, and the
history with the detection's evidence."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rollout.models import AIConfiguration, Workflow
from rollout.services.workflows import workflow_update
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import event, ingest
from tests.rollout.views.conftest import as_user, login_redirect

pytestmark = pytest.mark.django_db


def url(slug: str) -> str:
    return reverse("workflow_configuration", kwargs={"slug": slug})


def test_anonymous_is_sent_to_sign_in(client, workflow):
    response = client.get(url(workflow.slug))
    assert (response.status_code, response["Location"]) == (302, login_redirect(url(workflow.slug)))


def test_user_without_a_role_gets_404(other_user, workflow):
    assert as_user(other_user).get(url(workflow.slug)).status_code == 404


def test_post_is_refused(workflow_owner, workflow):
    assert as_user(workflow_owner).post(url(workflow.slug)).status_code == 405


def test_the_history_shows_declared_and_observed_versions_with_the_evidence(
    workflow, workflow_owner, executive, django_assert_max_num_queries
):
    make_plan(workflow, current="limited")
    AIConfiguration.objects.filter(workflow=workflow).update(
        effective_at=timezone.now() - timedelta(days=20)
    )
    workflow_update(workflow=workflow, actor=workflow_owner, prompt_version="v6")
    AIConfiguration.objects.filter(workflow=workflow, version=2).update(
        effective_at=timezone.now() - timedelta(days=5)
    )
    ingest(workflow, [event("invocation", attrs={"prompt_version": "v7"}) for _ in range(25)])

    # + the model prices and the currency they are in (issue 18).
    with django_assert_max_num_queries(27):
        response = as_user(executive).get(url(workflow.slug))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The AI runs something nobody declared" in html
    assert "Prompt version: declared <strong>v6</strong>, observed <strong>v7</strong>" in html
    assert [row["config"].version for row in response.context["rows"]] == [3, 2, 1]
    assert "Observed</span>" in html and "Declared</span>" in html
    assert "Evidence: 25 events since" in html
    assert "report prompt version “v7” where “v6” was declared" in html
    assert "Prompt version: — → <strong>v6</strong>" in html
    # Executives read it; only those who may change the workflow are offered to declare it.
    assert reverse("workflow_edit", args=[workflow.slug]) not in html
    owner_html = as_user(workflow_owner).get(url(workflow.slug)).content.decode()
    assert reverse("workflow_edit", args=[workflow.slug]) in owner_html


def test_nothing_undeclared_shows_the_version_in_effect(workflow, workflow_owner):
    response = as_user(workflow_owner).get(url(workflow.slug))
    html = response.content.decode()
    assert "nobody declared" not in html
    assert "Version 1, declared by" in html
    assert response.context["undeclared"] == {}


def test_the_thresholds_page_says_the_windows_restarted(workflow, workflow_owner):
    thresholds = reverse("workflow_thresholds", args=[workflow.slug])
    assert "configuration changed" not in as_user(workflow_owner).get(thresholds).content.decode()
    workflow_update(workflow=workflow, actor=workflow_owner, prompt_version="v2")
    html = as_user(workflow_owner).get(thresholds).content.decode()
    changed = timezone.localtime(
        AIConfiguration.objects.get(workflow=workflow, version=2).effective_at
    )
    assert (
        "Every threshold counts only what happened since the configuration changed on "
        f"{changed:%-d %B %Y, %H:%M} (rule 9)"
    ) in html
    assert url(workflow.slug) in html


def test_the_plan_page_shows_the_reactions_read_only(workflow, executive):
    Workflow.objects.filter(pk=workflow.pk).update(drift_opens_escalation=True)
    html = as_user(executive).get(reverse("workflow_plan", args=[workflow.slug])).content.decode()
    assert "<dt>On an unannounced change</dt><dd>Alert the owner</dd>" in html
    assert "<dt>On drift</dt><dd>Alert the owner and open an escalation</dd>" in html


def test_the_overview_names_the_prompt_version_and_links_the_history(workflow, workflow_owner):
    workflow_update(workflow=workflow, actor=workflow_owner, prompt_version="v6")
    html = as_user(workflow_owner).get(workflow.get_absolute_url()).content.decode()
    assert "<dt>Prompt version</dt><dd>v6 · " in html
    assert f'<a href="{url(workflow.slug)}">AI configuration history</a>' in html

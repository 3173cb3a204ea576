import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from rollout.models import ActivityEntry, Workflow
from rollout.views.workflows import MSG_UNCHANGED, MSG_UPDATED
from tests.rollout.views.conftest import login_redirect, template_names


def url(slug: str) -> str:
    return reverse("workflow_edit", kwargs={"slug": slug})


def form_data(workflow: Workflow, **overrides: str) -> dict[str, str]:
    data = {
        name: getattr(workflow, name)
        for name in (
            "name",
            "summary",
            "business_action",
            "model_provider",
            "model_name",
            "model_version",
        )
    }
    data.update(overrides)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_anonymous_is_sent_to_sign_in(client, workflow):
    for response in (client.get(url(workflow.slug)), client.post(url(workflow.slug), {})):
        assert response.status_code == 302
        assert response["Location"] == login_redirect(url(workflow.slug))


@pytest.mark.parametrize("role", ["other_user", "executive"])
def test_users_who_may_not_change_get_404(client, request, workflow, role):
    client.force_login(request.getfixturevalue(role))
    entries = ActivityEntry.objects.count()

    assert client.get(url(workflow.slug)).status_code == 404
    assert client.post(url(workflow.slug), form_data(workflow, name="Hijacked")).status_code == 404
    workflow.refresh_from_db()
    assert workflow.name == "Support reply drafting"
    assert ActivityEntry.objects.count() == entries


def test_unknown_slug_is_404(client, ops_leader):
    client.force_login(ops_leader)

    assert client.get(url("no-such-workflow")).status_code == 404


@pytest.mark.parametrize("role", ["ops_leader", "workflow_owner"])
def test_form_is_filled_with_the_current_values(client, request, workflow, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get(url(workflow.slug))

    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_edit.html"
    html = response.content.decode()
    assert '<form method="post" action="/workflows/support-reply-drafting/edit/">' in html
    assert 'name="name" value="Support reply drafting"' in html
    assert 'name="model_version" value="2026-09"' in html
    assert 'name="slug"' not in html
    assert 'name="owner"' not in html


def test_owner_saves_changes_and_they_are_logged(client, workflow_owner, workflow):
    client.force_login(workflow_owner)

    response = client.post(
        url(workflow.slug),
        form_data(workflow, name="Support replies", model_version="2026-11", slug="hijack"),
    )

    assert response.status_code == 302
    assert response["Location"] == "/workflows/support-reply-drafting/"
    assert messages_of(response) == [MSG_UPDATED.format(name="Support replies")]
    workflow.refresh_from_db()
    assert (workflow.name, workflow.model_version, workflow.slug) == (
        "Support replies",
        "2026-11",
        "support-reply-drafting",
    )
    entry = ActivityEntry.objects.filter(workflow=workflow, verb="edited").first()
    assert (entry.actor, entry.verb) == (workflow_owner, "edited")
    assert entry.changes == {
        "name": ["Support reply drafting", "Support replies"],
        "model version": ["2026-09", "2026-11"],
    }


def test_saving_without_a_change_writes_nothing(client, ops_leader, workflow):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(
        url(workflow.slug), form_data(workflow, name="  Support reply drafting ")
    )

    assert response.status_code == 302
    assert messages_of(response) == [MSG_UNCHANGED]
    assert ActivityEntry.objects.count() == entries


def test_a_blank_required_field_is_refused_beside_it(client, ops_leader, workflow):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), form_data(workflow, name="", summary="New"))

    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert '<p class="error" id="id_name_error">This field is required.</p>' in (
        response.content.decode()
    )
    workflow.refresh_from_db()
    assert workflow.summary == "Drafts replies to tier-1 support tickets."
    assert ActivityEntry.objects.count() == entries


def test_post_without_csrf_token_is_refused(ops_leader, workflow):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_leader)

    response = client.post(url(workflow.slug), form_data(workflow, name="Changed"))

    assert response.status_code == 403
    workflow.refresh_from_db()
    assert workflow.name == "Support reply drafting"

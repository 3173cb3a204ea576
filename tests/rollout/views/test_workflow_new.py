import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import get_perms

from rollout.models import ActivityEntry, Workflow
from rollout.services import workflows as svc
from rollout.services.access import OWNER_PERMS
from rollout.views.workflows import MSG_CREATED
from tests.factories import UserFactory
from tests.rollout.views.conftest import login_redirect, template_names

URL = reverse("workflow_new")


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Invoice coding",
        "slug": "invoice-coding",
        "summary": "Suggests GL codes for incoming invoices.",
        "business_action": "GL code posted to the invoice",
        "model_provider": "Anthropic",
        "model_name": "claude-sonnet",
        "model_version": "4.5",
    }
    data.update(overrides)
    return data


def test_anonymous_is_sent_to_sign_in(client, db):
    for response in (client.get(URL), client.post(URL, form_data())):
        assert response.status_code == 302
        assert response["Location"] == login_redirect(URL)
    assert not Workflow.objects.exists()


@pytest.mark.parametrize("role", ["other_user", "executive", "workflow_owner"])
def test_only_ops_leaders_may_create(client, request, workflow_owner, role):
    user = request.getfixturevalue(role)
    client.force_login(user)

    assert client.get(URL).status_code == 403
    assert client.post(URL, form_data(owner=workflow_owner.pk)).status_code == 403
    assert not Workflow.objects.exists()


def test_form_picks_the_owner_by_search_not_from_a_list(client, ops_leader, workflow_owner):
    UserFactory(display_name="Gina Gone", email="gone@example.com", is_active=False)
    client.force_login(ops_leader)

    response = client.get(URL)

    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_new.html"
    html = response.content.decode()
    assert '<form method="post" action="/workflows/new/">' in html
    # A search-as-you-type picker (rollout.forms.people), not a list of everyone.
    assert "Owen Owner" not in html and "Gina Gone" not in html
    assert 'name="owner_text"' in html
    assert 'hx-get="/people/search/?purpose=owner"' in html
    for label in ("Name", "Slug", "Summary", "Business action", "Model provider", "Model"):
        assert f">{label}" in html
    assert '<label for="id_owner">Owner <span class="required"' in html


def test_create_redirects_to_the_overview_with_a_flash(client, ops_leader, workflow_owner):
    client.force_login(ops_leader)

    response = client.post(URL, form_data(owner=workflow_owner.pk))

    workflow = Workflow.objects.get()
    assert response.status_code == 302
    assert response["Location"] == "/workflows/invoice-coding/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        MSG_CREATED.format(name="Invoice coding", owner="Owen Owner")
    ]
    assert (workflow.name, workflow.owner, workflow.model_label) == (
        "Invoice coding",
        workflow_owner,
        "Anthropic · claude-sonnet · 4.5",
    )
    assert set(get_perms(workflow_owner, workflow)) == set(OWNER_PERMS)
    assert ActivityEntry.objects.get(workflow=workflow).verb == "created"


def test_an_empty_slug_is_made_from_the_name(client, ops_leader, workflow_owner):
    client.force_login(ops_leader)

    response = client.post(
        URL, form_data(name="Tier-1 Support: Reply_Drafting!", slug="", owner=workflow_owner.pk)
    )

    assert response["Location"] == "/workflows/tier-1-support-reply-drafting/"
    assert Workflow.objects.get().slug == "tier-1-support-reply-drafting"


def _assert_refused(response, field: str, message: str) -> None:
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_new.html"
    assert response.context["form"].errors[field] == [message]
    assert f'<p class="error" id="id_{field}_error">{message}</p>' in response.content.decode()


def test_duplicate_slug_is_refused_beside_the_slug(client, ops_leader, workflow_owner, workflow):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(URL, form_data(slug=workflow.slug, owner=workflow_owner.pk))

    _assert_refused(response, "slug", svc.MSG_SLUG_TAKEN.format(slug=workflow.slug))
    assert Workflow.objects.count() == 1
    assert ActivityEntry.objects.count() == entries


def test_reserved_slug_is_refused(client, ops_leader, workflow_owner):
    client.force_login(ops_leader)

    response = client.post(URL, form_data(name="New", slug="", owner=workflow_owner.pk))

    _assert_refused(response, "slug", svc.MSG_SLUG_RESERVED.format(slug="new"))
    assert not Workflow.objects.exists()


def test_malformed_slug_is_refused(client, ops_leader, workflow_owner):
    client.force_login(ops_leader)

    response = client.post(URL, form_data(slug="Not A Slug", owner=workflow_owner.pk))

    assert response.status_code == 200
    assert response.context["form"].errors["slug"]
    assert not Workflow.objects.exists()


def test_missing_owner_is_refused(client, ops_leader):
    client.force_login(ops_leader)

    response = client.post(URL, form_data())

    _assert_refused(response, "owner", svc.MSG_OWNER_REQUIRED)
    assert not Workflow.objects.exists()


def test_inactive_owner_is_refused_with_the_reason(client, ops_leader):
    gone = UserFactory(display_name="Gina Gone", is_active=False)
    client.force_login(ops_leader)

    response = client.post(URL, form_data(owner=gone.pk))

    _assert_refused(response, "owner", svc.MSG_OWNER_INACTIVE.format(owner=gone))
    assert not Workflow.objects.exists()
    assert not ActivityEntry.objects.exists()


def test_unknown_owner_id_is_refused(client, ops_leader):
    client.force_login(ops_leader)

    response = client.post(URL, form_data(owner=999999))

    assert response.status_code == 200
    assert response.context["form"].errors["owner"]
    assert not Workflow.objects.exists()


def test_missing_required_fields_are_shown_beside_them(client, ops_leader, workflow_owner):
    client.force_login(ops_leader)

    response = client.post(URL, form_data(name="", business_action="", owner=workflow_owner.pk))

    assert set(response.context["form"].errors) == {"name", "business_action"}
    assert not Workflow.objects.exists()


def test_post_without_csrf_token_is_refused(ops_leader, workflow_owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_leader)

    response = client.post(URL, form_data(owner=workflow_owner.pk))

    assert response.status_code == 403
    assert not Workflow.objects.exists()

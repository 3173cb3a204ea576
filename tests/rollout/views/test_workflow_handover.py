import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import get_perms

from accounts.models import User
from rollout.models import ActivityEntry, Workflow
from rollout.services import workflows as svc
from rollout.services.access import OWNER_PERMS
from rollout.views.workflows import MSG_HANDED_OVER, MSG_HANDED_OVER_AWAY
from tests.factories import UserFactory, ops_leader_user
from tests.rollout.views.conftest import as_user, login_redirect, template_names


def url(slug: str) -> str:
    return reverse("workflow_handover", kwargs={"slug": slug})


def overview(slug: str) -> str:
    return reverse("workflow_overview", kwargs={"slug": slug})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def successor(db) -> User:
    return UserFactory(email="nina@example.com", display_name="Nina New")


def test_anonymous_is_sent_to_sign_in(client, workflow, successor):
    response = client.post(url(workflow.slug), {"new_owner": successor.pk})

    assert response.status_code == 302
    assert response["Location"] == login_redirect(url(workflow.slug))
    assert client.get(url(workflow.slug))["Location"] == login_redirect(url(workflow.slug))
    workflow.refresh_from_db()
    assert workflow.owner.email == "owner@example.com"


@pytest.mark.parametrize("role", ["other_user", "executive"])
def test_users_who_may_not_hand_over_get_404(client, request, workflow, successor, role):
    client.force_login(request.getfixturevalue(role))
    entries = ActivityEntry.objects.count()

    assert client.get(url(workflow.slug)).status_code == 404
    assert client.post(url(workflow.slug), {"new_owner": successor.pk}).status_code == 404
    workflow.refresh_from_db()
    assert workflow.owner.email == "owner@example.com"
    assert ActivityEntry.objects.count() == entries


def test_unknown_slug_is_404(client, ops_leader):
    client.force_login(ops_leader)

    assert client.get(url("no-such-workflow")).status_code == 404


def test_form_picks_the_new_owner_by_search(client, ops_leader, workflow, successor):
    UserFactory(display_name="Gina Gone", is_active=False)
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_handover.html"
    html = response.content.decode()
    assert "<h1>Hand over Support reply drafting" in html
    assert "<dt>Current owner</dt><dd>Owen Owner" in html
    assert "Nina New" not in html and "Gina Gone" not in html
    search = f"/people/search/?purpose=handover&amp;workflow={workflow.slug}"
    assert 'name="new_owner_text"' in html and f'hx-get="{search}"' in html
    assert '<label for="id_new_owner">New owner <span class="required"' in html
    assert '<label for="id_note">Note</label>' in html


def test_ops_leader_hands_over_and_access_moves(client, ops_leader, workflow, successor):
    old_owner = workflow.owner
    client.force_login(ops_leader)

    response = client.post(url(workflow.slug), {"new_owner": successor.pk, "note": "Owen moved"})

    assert response.status_code == 302
    assert response["Location"] == overview(workflow.slug)
    assert messages_of(response) == [
        MSG_HANDED_OVER.format(owner="Nina New", name="Support reply drafting")
    ]
    workflow.refresh_from_db()
    assert workflow.owner == successor
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.actor, entry.verb, entry.note) == (ops_leader, "handed over", "Owen moved")
    assert entry.changes == {"owner": ["Owen Owner", "Nina New"]}
    assert as_user(old_owner).get(overview(workflow.slug)).status_code == 404
    assert as_user(successor).get(overview(workflow.slug)).status_code == 200
    assert as_user(successor).get(url(workflow.slug)).status_code == 200


def test_owner_hands_their_own_workflow_on_and_is_sent_home(
    client, workflow_owner, workflow, successor
):
    client.force_login(workflow_owner)
    page = client.get(url(workflow.slug)).content.decode()
    assert "Once you hand it over you are no longer its owner, and you lose access to it." in page

    response = client.post(url(workflow.slug), {"new_owner": successor.pk})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert messages_of(response) == [
        MSG_HANDED_OVER_AWAY.format(owner="Nina New", name="Support reply drafting")
    ]
    assert get_perms(workflow_owner, workflow) == []
    assert client.get(overview(workflow.slug)).status_code == 404
    assert client.get(reverse("workflow_edit", kwargs={"slug": workflow.slug})).status_code == 404


def test_an_owner_who_is_also_an_ops_leader_keeps_access(client, ops_leader, successor):
    from tests.factories import make_workflow

    leader_owner = ops_leader_user(display_name="Lee Leader")
    workflow = make_workflow(owner=leader_owner, actor=ops_leader, slug="leader-owned")
    client.force_login(leader_owner)

    response = client.post(url(workflow.slug), {"new_owner": successor.pk})

    assert response["Location"] == overview(workflow.slug)
    assert client.get(overview(workflow.slug)).status_code == 200


def _assert_refused(response, message: str, workflow: Workflow, entries: int) -> None:
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_handover.html"
    assert response.context["form"].errors == {"new_owner": [message]}
    assert f'<p class="error" id="id_new_owner_error">{message}</p>' in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.owner.email == "owner@example.com"
    assert set(get_perms(workflow.owner, workflow)) == set(OWNER_PERMS)
    assert ActivityEntry.objects.count() == entries


def test_handover_to_the_current_owner_is_refused(client, ops_leader, workflow):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), {"new_owner": workflow.owner_id})

    _assert_refused(response, svc.MSG_SAME_OWNER.format(owner="Owen Owner"), workflow, entries)


def test_handover_to_an_inactive_user_is_refused(client, ops_leader, workflow):
    gone = UserFactory(display_name="Gina Gone", is_active=False)
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), {"new_owner": gone.pk})

    _assert_refused(response, svc.MSG_OWNER_INACTIVE.format(owner=gone), workflow, entries)


def test_handover_without_a_new_owner_is_refused(client, ops_leader, workflow):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), {"note": "no one"})

    _assert_refused(response, "Choose the person who takes over this workflow.", workflow, entries)


def test_ownerless_workflow_gets_a_new_owner(client, ops_leader, ownerless_workflow, successor):
    client.force_login(ops_leader)
    page = client.get(url(ownerless_workflow.slug)).content.decode()
    assert "<h1>Name a new owner for Invoice coding" in page
    assert "<strong>This workflow has no active owner.</strong>" in page

    response = client.post(url(ownerless_workflow.slug), {"new_owner": successor.pk})

    assert response["Location"] == overview(ownerless_workflow.slug)
    workflow = Workflow.objects.with_owner().get(pk=ownerless_workflow.pk)
    assert workflow.owner == successor
    assert not workflow.is_ownerless
    assert ">Ownerless</span>" not in client.get(overview(workflow.slug)).content.decode()


def test_post_without_csrf_token_is_refused(ops_leader, workflow, successor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), {"new_owner": successor.pk})

    assert response.status_code == 403
    workflow.refresh_from_db()
    assert workflow.owner.email == "owner@example.com"
    assert ActivityEntry.objects.count() == entries


def test_without_javascript_the_new_owner_is_typed_by_address(client, ops_leader, workflow):
    successor = UserFactory(email="nina@example.com", display_name="Nina New")
    client.force_login(ops_leader)

    response = client.post(url(workflow.slug), {"new_owner_text": "Nina@Example.com"})

    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.owner == successor


def test_a_typed_address_of_a_deactivated_person_gets_the_services_refusal(
    client, ops_leader, workflow
):
    gone = UserFactory(email="gone@example.com", display_name="Gina Gone", is_active=False)
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), {"new_owner_text": "gone@example.com"})

    _assert_refused(response, svc.MSG_OWNER_INACTIVE.format(owner=gone), workflow, entries)


def test_an_unknown_typed_address_changes_nothing(client, ops_leader, workflow):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), {"new_owner_text": "who@example.com"})

    _assert_refused(response, "Nobody has the email address who@example.com.", workflow, entries)

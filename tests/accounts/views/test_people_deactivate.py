import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.services import MSG_ALREADY_INACTIVE, MSG_DEACTIVATE_SELF, user_deactivate
from accounts.views.people import MSG_DEACTIVATED, MSG_DEACTIVATED_OWNERLESS
from rollout.models import ActivityEntry
from tests.accounts.conftest import contains, template_names
from tests.factories import make_workflow, ops_leader_user


def _url(user: User) -> str:
    return reverse("people_deactivate", kwargs={"user_id": user.pk})


def _active(user: User) -> bool:
    return User.objects.get(pk=user.pk).is_active


def _flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_sign_in(client, other_user, method):
    response = getattr(client, method)(_url(other_user))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={_url(other_user)}"
    assert _active(other_user)


@pytest.mark.parametrize("fixture", ["executive", "workflow_owner", "other_user"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_ops_leaders_deactivate(request, as_user, fixture, method, workflow):
    target = ops_leader_user()

    response = getattr(as_user(request.getfixturevalue(fixture)), method)(_url(target))

    assert response.status_code == 403
    assert _active(target)


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_user_is_404(as_user, ops_leader, method):
    url = reverse("people_deactivate", kwargs={"user_id": 999_999})

    assert getattr(as_user(ops_leader), method)(url).status_code == 404


def test_confirmation_lists_the_workflows_that_become_ownerless(
    as_user, ops_leader, workflow_owner, workflow, django_assert_max_num_queries
):
    make_workflow(owner=workflow_owner, actor=ops_leader, name="Invoice triage", slug="invoices")
    client = as_user(ops_leader)

    with django_assert_max_num_queries(6):
        response = client.get(_url(workflow_owner))

    assert response.status_code == 200
    assert template_names(response)[0] == "accounts/people_deactivate.html"
    html = response.content.decode()
    assert "2 workflows will become ownerless until you name a new owner:" in html
    assert '<a href="/workflows/support-reply-drafting/">Support reply drafting</a>' in html
    assert '<a href="/workflows/invoices/">Invoice triage</a>' in html
    assert f'action="{_url(workflow_owner)}"' in html
    assert _active(workflow_owner)  # looking changes nothing


def test_confirmation_for_someone_owning_nothing(as_user, ops_leader, other_user):
    response = as_user(ops_leader).get(_url(other_user))

    assert contains(response, "They own no workflow, so no workflow becomes ownerless.")


def test_deactivating_an_owner(as_user, ops_leader, workflow_owner, workflow):
    response = as_user(ops_leader).post(_url(workflow_owner))

    assert response.status_code == 302
    assert response["Location"] == reverse("people_list")
    assert _flashes(response) == [
        MSG_DEACTIVATED_OWNERLESS.format(user=workflow_owner, workflows="Support reply drafting")
    ]
    assert not _active(workflow_owner)
    workflow.refresh_from_db()
    assert workflow.is_ownerless
    assert ActivityEntry.objects.filter(workflow=workflow, verb="made ownerless").count() == 1


def test_deactivating_someone_owning_nothing(as_user, ops_leader, other_user):
    response = as_user(ops_leader).post(_url(other_user))

    assert _flashes(response) == [MSG_DEACTIVATED.format(user=other_user)]
    assert not _active(other_user)


def test_a_deactivated_user_is_signed_out_everywhere(as_user, ops_leader, other_user):
    their_browser = Client()
    their_browser.force_login(other_user)
    as_user(ops_leader).post(_url(other_user))

    response = their_browser.get(reverse("profile"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_self_deactivation_is_not_offered_and_is_refused(as_user, ops_leader):
    ops_leader_user()  # so only the self rule applies
    client = as_user(ops_leader)

    page = client.get(_url(ops_leader))
    response = client.post(_url(ops_leader))

    assert contains(page, MSG_DEACTIVATE_SELF)
    assert "<button" not in page.content.decode().split('<main id="main"', 1)[1]
    assert response.status_code == 302
    assert _flashes(response) == [MSG_DEACTIVATE_SELF]
    assert _active(ops_leader)
    assert not ActivityEntry.objects.filter(verb="deactivated").exists()


def test_an_already_deactivated_user_is_not_deactivated_again(as_user, ops_leader, other_user):
    user_deactivate(actor=ops_leader, user=other_user)
    client = as_user(ops_leader)

    page = client.get(_url(other_user))
    response = client.post(_url(other_user))

    message = MSG_ALREADY_INACTIVE.format(user=other_user)
    assert contains(page, message)
    assert _flashes(response) == [message]
    assert ActivityEntry.objects.filter(verb="deactivated").count() == 1


def test_deactivation_needs_the_csrf_token(csrf_client, ops_leader, workflow_owner, workflow):
    csrf_client.force_login(ops_leader)

    response = csrf_client.post(_url(workflow_owner))

    assert response.status_code == 403
    assert _active(workflow_owner)
    assert not ActivityEntry.objects.filter(verb="made ownerless").exists()

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from accounts.services import MSG_ALREADY_ACTIVE, user_deactivate
from accounts.views.people import MSG_REACTIVATED
from rollout.models import ActivityEntry
from tests.accounts.conftest import contains, template_names
from tests.factories import UserFactory

HTMX = {"HX-Request": "true", "HX-Target": "person-0"}


@pytest.fixture
def deactivated(ops_leader, other_user) -> User:
    return user_deactivate(actor=ops_leader, user=other_user)


def _url(user: User) -> str:
    return reverse("people_reactivate", kwargs={"user_id": user.pk})


def _active(user: User) -> bool:
    return User.objects.get(pk=user.pk).is_active


def test_anonymous_is_sent_to_sign_in(client, deactivated):
    response = client.post(_url(deactivated))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not _active(deactivated)


@pytest.mark.parametrize("fixture", ["executive", "workflow_owner"])
def test_only_ops_leaders_reactivate(request, as_user, fixture, deactivated, workflow):
    response = as_user(request.getfixturevalue(fixture)).post(_url(deactivated))

    assert response.status_code == 403
    assert not _active(deactivated)


def test_no_role_user_gets_403(as_user, deactivated):
    response = as_user(UserFactory()).post(_url(deactivated))

    assert response.status_code == 403
    assert not _active(deactivated)


def test_get_is_refused(as_user, ops_leader, deactivated):
    assert as_user(ops_leader).get(_url(deactivated)).status_code == 405


def test_unknown_user_is_404(as_user, ops_leader):
    url = reverse("people_reactivate", kwargs={"user_id": 999_999})

    assert as_user(ops_leader).post(url).status_code == 404


def test_plain_post_reactivates_and_returns_to_the_list(as_user, ops_leader, deactivated):
    response = as_user(ops_leader).post(_url(deactivated), {"next": "/people/?q=sam"})

    assert response.status_code == 302
    assert response["Location"] == "/people/?q=sam"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        MSG_REACTIVATED.format(user=deactivated)
    ]
    assert _active(deactivated)
    assert ActivityEntry.objects.get(verb="reactivated").actor == ops_leader


def test_htmx_post_re_renders_the_row(as_user, ops_leader, deactivated):
    response = as_user(ops_leader).post(_url(deactivated), headers=HTMX)

    assert response.status_code == 200
    assert template_names(response) == ["person-row"]
    html = response.content.decode()
    assert '<span class="badge badge-ok">Active</span>' in html
    assert reverse("people_deactivate", kwargs={"user_id": deactivated.pk}) in html
    assert contains(response, MSG_REACTIVATED.format(user=deactivated))
    assert _active(deactivated)


def test_reactivating_an_active_user_is_refused(as_user, ops_leader, other_user):
    response = as_user(ops_leader).post(_url(other_user))

    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        MSG_ALREADY_ACTIVE.format(user=other_user)
    ]
    assert not ActivityEntry.objects.filter(verb="reactivated").exists()


def test_reactivation_needs_the_csrf_token(csrf_client, ops_leader, deactivated):
    csrf_client.force_login(ops_leader)

    response = csrf_client.post(_url(deactivated))

    assert response.status_code == 403
    assert not _active(deactivated)

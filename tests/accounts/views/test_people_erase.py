"""/people/<id>/erase/: ops leaders only, a confirmation that says what erasing does, a ticked
box before anything changes."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from accounts.services import MSG_ALREADY_ERASED, MSG_ERASE_SELF, user_erase
from accounts.views.people import MSG_ERASE_CONFIRM
from tests.accounts.conftest import contains


def _url(user: User) -> str:
    return reverse("people_erase", kwargs={"user_id": user.pk})


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_sign_in(client, other_user, method):
    response = getattr(client, method)(_url(other_user), {"confirm": "yes"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not User.objects.get(pk=other_user.pk).is_erased


@pytest.mark.parametrize("fixture", ["executive", "workflow_owner", "other_user"])
def test_only_ops_leaders_erase(request, as_user, fixture, ops_leader):
    response = as_user(request.getfixturevalue(fixture)).post(_url(ops_leader), {"confirm": "yes"})
    assert response.status_code == 403
    assert not User.objects.get(pk=ops_leader.pk).is_erased


def test_the_page_says_what_erasing_does_and_which_workflows_go_ownerless(
    as_user, ops_leader, workflow_owner, workflow
):
    response = as_user(ops_leader).get(_url(workflow_owner))
    assert response.status_code == 200
    assert contains(response, "cannot be undone")
    assert contains(response, workflow.name)


def test_without_the_box_ticked_nothing_changes(as_user, ops_leader, other_user):
    response = as_user(ops_leader).post(_url(other_user))
    assert response.status_code == 200
    assert contains(response, MSG_ERASE_CONFIRM)
    assert not User.objects.get(pk=other_user.pk).is_erased


def test_erasing_returns_to_the_people_list_with_what_happened(as_user, ops_leader, other_user):
    client = as_user(ops_leader)
    response = client.post(_url(other_user), {"confirm": "yes"})
    assert response.status_code == 302
    assert response["Location"] == reverse("people_list")
    erased = User.objects.get(pk=other_user.pk)
    assert erased.is_erased
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert erased.email.split("@")[0] in message
    listing = client.get(reverse("people_list"), {"q": "erased"})
    assert contains(listing, "Erased")


def test_self_and_the_already_erased_get_the_reason_not_a_button(as_user, ops_leader, other_user):
    client = as_user(ops_leader)
    assert contains(client.get(_url(ops_leader)), MSG_ERASE_SELF)
    user_erase(actor=ops_leader, user=other_user)
    page = client.get(_url(other_user))
    assert contains(page, MSG_ALREADY_ERASED)
    assert not contains(page, 'name="confirm"')

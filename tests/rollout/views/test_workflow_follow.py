import pytest
from django.test import Client

from accounts.models import User
from rollout.models import Follow, Workflow
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.views import follows as views
from tests.factories import UserFactory
from tests.rollout.views.conftest import as_user, login_redirect, template_names

URL = "/workflows/support-reply-drafting/follow/"
OVERVIEW = "/workflows/support-reply-drafting/"


def test_anonymous_is_sent_to_sign_in(client: Client, workflow):
    assert client.post(URL, {"action": "follow"})["Location"] == login_redirect(URL)


def test_a_get_is_refused(workflow, executive):
    assert as_user(executive).get(URL).status_code == 405


@pytest.mark.parametrize("role", ["executive", "ops_leader", "workflow_owner"])
def test_follow_and_unfollow_without_javascript(role, request, workflow):
    user = request.getfixturevalue(role)
    client = as_user(user)

    response = client.post(URL, {"action": "follow"}, follow=True)
    assert response.redirect_chain == [(OVERVIEW, 302)]
    body = response.content.decode()
    assert views.MSG_FOLLOWING.format(name="Support reply drafting") in body
    assert ">Unfollow</button>" in body
    assert Follow.objects.filter(workflow=workflow, user=user).exists()

    response = client.post(URL, {"action": "unfollow"}, follow=True)
    assert views.MSG_UNFOLLOWED.format(name="Support reply drafting") in response.content.decode()
    assert ">Follow</button>" in response.content.decode()
    assert not Follow.objects.exists()


def test_htmx_swaps_the_button(workflow, executive):
    response = as_user(executive).post(URL, {"action": "follow"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert template_names(response) == ["rollout/_follow_button.html"]
    assert ">Unfollow</button>" in response.content.decode()


def test_members_and_strangers_get_a_404_and_no_button(
    workflow: Workflow, workflow_owner: User, other_user: User
):
    member = UserFactory()
    cohort = cohort_create(workflow=workflow, actor=workflow_owner, name="EU", description="")
    cohort_members_add(cohort=cohort, users=[member], actor=workflow_owner)
    for person in (member, other_user):
        assert as_user(person).post(URL, {"action": "follow"}).status_code == 404
    assert URL not in as_user(member).get(OVERVIEW).content.decode()
    assert not Follow.objects.exists()


def test_an_unknown_action_is_a_404(workflow, executive):
    assert as_user(executive).post(URL, {"action": "x"}).status_code == 404

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from accounts.roles import EXECUTIVES, OPS_LEADERS, role_names
from accounts.services import MSG_LAST_OPS_LEADER
from accounts.views.people import MSG_OWN_OPS_ROLE_REMOVED, MSG_ROLES_SAVED
from rollout.models import ActivityEntry
from tests.accounts.conftest import contains, template_names
from tests.factories import ops_leader_user

HTMX = {"HX-Request": "true", "HX-Target": "person-0"}


def _url(user: User) -> str:
    return reverse("people_roles", kwargs={"user_id": user.pk})


def _roles(user: User) -> frozenset[str]:
    return role_names(User.objects.get(pk=user.pk))


def _flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_anonymous_is_sent_to_sign_in(client, other_user):
    response = client.post(_url(other_user), {"roles": [OPS_LEADERS]})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert _roles(other_user) == frozenset()


@pytest.mark.parametrize("fixture", ["executive", "workflow_owner", "other_user"])
def test_only_ops_leaders_change_roles(request, as_user, fixture, workflow):
    user = request.getfixturevalue(fixture)

    response = as_user(user).post(_url(user), {"roles": [OPS_LEADERS]})

    assert response.status_code == 403
    assert OPS_LEADERS not in _roles(user)
    assert not ActivityEntry.objects.filter(verb="changed roles of").exists()


def test_get_is_refused(as_user, ops_leader, other_user):
    assert as_user(ops_leader).get(_url(other_user)).status_code == 405


def test_unknown_user_is_404(as_user, ops_leader):
    response = as_user(ops_leader).post(
        reverse("people_roles", kwargs={"user_id": 999_999}), {"roles": [EXECUTIVES]}
    )

    assert response.status_code == 404


def test_plain_post_sets_roles_and_returns_to_the_list_page(as_user, ops_leader, other_user):
    back = reverse("people_list") + "?q=sam&page=1"

    response = as_user(ops_leader).post(
        _url(other_user), {"roles": [EXECUTIVES, OPS_LEADERS], "next": back}
    )

    assert response.status_code == 302
    assert response["Location"] == back
    assert _flashes(response) == [MSG_ROLES_SAVED.format(user=other_user)]
    assert _roles(other_user) == {EXECUTIVES, OPS_LEADERS}
    assert ActivityEntry.objects.get(verb="changed roles of").actor == ops_leader


def test_an_off_site_next_is_ignored(as_user, ops_leader, other_user):
    response = as_user(ops_leader).post(
        _url(other_user), {"roles": [EXECUTIVES], "next": "https://evil.test/"}
    )

    assert response["Location"] == reverse("people_list")


def test_no_ticked_box_removes_every_role(as_user, ops_leader, executive):
    response = as_user(ops_leader).post(_url(executive), {})

    assert response.status_code == 302
    assert _roles(executive) == frozenset()


def test_htmx_post_re_renders_the_row(
    as_user, ops_leader, workflow_owner, workflow, django_assert_max_num_queries
):
    client = as_user(ops_leader)

    with django_assert_max_num_queries(16):
        response = client.post(_url(workflow_owner), {"roles": [EXECUTIVES]}, headers=HTMX)

    assert response.status_code == 200
    assert template_names(response) == ["person-row"]
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="person-{workflow_owner.pk}">')
    assert f'<span class="badge badge-role">{EXECUTIVES}</span>' in html
    assert 'value="Executives" id=' in html and " checked>" in html
    assert contains(response, MSG_ROLES_SAVED.format(user=workflow_owner))
    assert response.context["person"].workflows_owned == 1
    assert _roles(workflow_owner) == {EXECUTIVES}
    assert list(get_messages(response.wsgi_request)) == []  # shown in the row, not flashed later


def test_the_last_ops_leader_keeps_the_role(as_user, ops_leader):
    response = as_user(ops_leader).post(_url(ops_leader), {"roles": [EXECUTIVES]})

    assert response.status_code == 302
    assert _flashes(response) == [MSG_LAST_OPS_LEADER]
    assert _roles(ops_leader) == {OPS_LEADERS}
    assert not ActivityEntry.objects.filter(verb="changed roles of").exists()


def test_the_last_ops_leader_refusal_shows_in_the_row_with_htmx(as_user, ops_leader):
    response = as_user(ops_leader).post(_url(ops_leader), {"roles": []}, headers=HTMX)

    assert response.status_code == 200
    assert template_names(response) == ["person-row"]
    assert f'<p class="error small" role="alert">{MSG_LAST_OPS_LEADER}</p>' in (
        response.content.decode()
    )
    assert _roles(ops_leader) == {OPS_LEADERS}


def test_an_ops_leader_stepping_down_is_sent_to_their_profile(as_user, ops_leader):
    ops_leader_user()
    client = as_user(ops_leader)

    plain = client.post(_url(ops_leader), {"roles": [EXECUTIVES]})

    assert plain.status_code == 302
    assert plain["Location"] == reverse("profile")
    assert _flashes(plain) == [MSG_OWN_OPS_ROLE_REMOVED]
    assert _roles(ops_leader) == {EXECUTIVES}


def test_an_ops_leader_stepping_down_with_htmx_is_redirected_by_htmx(as_user, ops_leader):
    ops_leader_user()

    response = as_user(ops_leader).post(_url(ops_leader), {}, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("profile")


def test_unknown_role_is_refused_and_changes_nothing(as_user, ops_leader, executive):
    response = as_user(ops_leader).post(_url(executive), {"roles": ["Admins"]})

    assert response.status_code == 302
    assert _flashes(response) == [
        "Select a valid choice. Admins is not one of the available choices."
    ]
    assert _roles(executive) == {EXECUTIVES}
    assert not ActivityEntry.objects.filter(verb="changed roles of").exists()


def test_roles_need_the_csrf_token(csrf_client, ops_leader, other_user):
    csrf_client.force_login(ops_leader)

    response = csrf_client.post(_url(other_user), {"roles": [OPS_LEADERS]})

    assert response.status_code == 403
    assert _roles(other_user) == frozenset()
    assert not ActivityEntry.objects.filter(verb="changed roles of").exists()

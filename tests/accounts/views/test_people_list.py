import pytest
from django.urls import reverse

from accounts.roles import EXECUTIVES, OPS_LEADERS
from accounts.services import user_deactivate
from tests.accounts.conftest import contains, template_names
from tests.factories import UserFactory, make_workflow

PEOPLE = reverse("people_list")


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(PEOPLE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={PEOPLE}"


@pytest.mark.parametrize("fixture", ["executive", "workflow_owner", "other_user"])
def test_only_ops_leaders_see_people(request, as_user, fixture, workflow):
    response = as_user(request.getfixturevalue(fixture)).get(PEOPLE)

    assert response.status_code == 403


def test_ops_leader_sees_everyone_with_roles_status_and_ownership(
    as_user, ops_leader, executive, workflow_owner, workflow
):
    gone = UserFactory(email="gone@example.com", display_name="Gus Gone")
    make_workflow(owner=gone, actor=ops_leader)
    user_deactivate(actor=ops_leader, user=gone)
    invited = UserFactory(email="new@example.com", display_name="Nia New")
    invited.set_unusable_password()
    invited.save()

    response = as_user(ops_leader).get(PEOPLE)

    assert response.status_code == 200
    assert template_names(response)[0] == "accounts/people_list.html"
    people = {p.email: p for p in response.context["page_obj"].object_list}
    assert set(people) == {
        "ops@example.com",
        "exec@example.com",
        "owner@example.com",
        "gone@example.com",
        "new@example.com",
    }
    assert people["owner@example.com"].workflows_owned == 1
    assert people["gone@example.com"].workflows_owned == 1
    assert [g.name for g in people["ops@example.com"].org_groups] == [OPS_LEADERS]
    html = response.content.decode()
    row = html.split(f'id="person-{executive.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'<span class="badge badge-role">{EXECUTIVES}</span>' in row
    assert '<span class="badge badge-ok">Active</span>' in row
    gone_row = html.split(f'id="person-{gone.pk}"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge badge-danger">Deactivated</span>' in gone_row
    assert "ownerless until handed over" in gone_row
    assert reverse("people_reactivate", kwargs={"user_id": gone.pk}) in gone_row
    new_row = html.split(f'id="person-{invited.pk}"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge badge-warn">Invited</span>' in new_row
    assert reverse("people_deactivate", kwargs={"user_id": invited.pk}) in new_row
    own_row = html.split(f'id="person-{ops_leader.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "(you)" in own_row
    assert reverse("people_deactivate", kwargs={"user_id": ops_leader.pk}) not in own_row
    assert f'href="{reverse("people_invite")}"' in html


def test_search_by_name_or_email_works_without_javascript(
    as_user, ops_leader, executive, workflow_owner
):
    client = as_user(ops_leader)

    by_name = client.get(PEOPLE, {"q": "owen"})
    by_email = client.get(PEOPLE, {"q": "EXEC@"})
    nobody = client.get(PEOPLE, {"q": "zzz"})

    assert [p.email for p in by_name.context["page_obj"].object_list] == ["owner@example.com"]
    assert [p.email for p in by_email.context["page_obj"].object_list] == ["exec@example.com"]
    assert 'value="owen"' in by_name.content.decode()
    assert list(nobody.context["page_obj"].object_list) == []
    assert contains(nobody, "Nobody’s name or email matches “zzz”.")


def test_htmx_search_answers_just_the_results(as_user, ops_leader, workflow_owner):
    response = as_user(ops_leader).get(
        PEOPLE, {"q": "owen"}, headers={"HX-Request": "true", "HX-Target": "people-results"}
    )

    assert response.status_code == 200
    assert template_names(response) == ["people-results", "_shared/pagination.html"]
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="people-results">')
    assert "<html" not in html
    assert "owner@example.com" in html
    assert "ops@example.com" not in html
    assert "HX-Request" in response["Vary"]


def test_pages_of_25_with_the_search_kept(as_user, ops_leader, django_assert_max_num_queries):
    UserFactory.create_batch(30, display_name="Pat Person")
    client = as_user(ops_leader)

    with django_assert_max_num_queries(8):
        first = client.get(PEOPLE, {"q": "pat"})
    second = client.get(PEOPLE, {"q": "pat", "page": "2"})

    assert len(first.context["page_obj"].object_list) == 25
    assert len(second.context["page_obj"].object_list) == 5
    assert 'href="?q=pat&amp;page=2"' in first.content.decode()
    assert contains(first, "30 people matching “pat”")


def test_query_count_does_not_grow_with_people(as_user, ops_leader, django_assert_max_num_queries):
    for n in range(20):
        person = UserFactory(roles=[EXECUTIVES] if n % 2 else [])
        make_workflow(owner=person, actor=ops_leader)
    client = as_user(ops_leader)

    with django_assert_max_num_queries(8):
        response = client.get(PEOPLE)

    assert response.status_code == 200


def test_people_list_refuses_post(as_user, ops_leader):
    assert as_user(ops_leader).post(PEOPLE).status_code == 405

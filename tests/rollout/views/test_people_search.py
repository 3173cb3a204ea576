"""The people picker's search (rollout.views.people): matches, hints, marks, access per purpose
and a fixed number of queries whatever the number of people. Every role's answer for every
purpose is also in tests/test_permission_matrix.py."""

import pytest
from django.urls import reverse

from rollout.models import Escalation
from rollout.services import cohorts as cohort_services
from rollout.services.escalation_path import escalation_level_add
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import login_redirect, template_names

URL = reverse("people_search")
HTMX = {"HX-Request": "true", "HX-Target": "id_owner_listbox"}


def search(client, q: str, **params: object):
    return client.get(URL, {"purpose": "owner", "q": q, **params}, headers=HTMX)


def option_names(response) -> list[str]:
    return [person.display_name for person, _note in response.context["options"]]


@pytest.fixture
def cohort(workflow, ops_leader):
    return cohort_services.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL, {"purpose": "owner", "q": "al"})
    assert response.status_code == 302
    assert response["Location"].startswith(login_redirect(URL))


def test_matches_name_or_email_case_insensitively_active_people_only(client, ops_leader):
    UserFactory(email="alice@example.com", display_name="Alice Archer")
    UserFactory(email="zed@example.com", display_name="Zed Malice")
    UserFactory(email="al@other.org", display_name="Bob Baker")
    UserFactory(email="alina@example.com", display_name="Alina Gone", is_active=False)
    client.force_login(ops_leader)

    response = search(client, "AL")

    assert response.status_code == 200
    assert template_names(response) == ["rollout/people_search.html"]
    # Names starting with the query first, then addresses starting with it, then the rest.
    assert option_names(response) == ["Alice Archer", "Bob Baker", "Zed Malice"]
    html = response.content.decode()
    assert "Alina Gone" not in html
    assert '<li class="picker-option" role="option" id="id_owner_listbox-' in html.replace("\n", "")
    assert 'data-email="alice@example.com"' in html


def test_one_letter_or_nothing_gives_a_hint_not_everyone(client, ops_leader):
    UserFactory(display_name="Alice Archer")
    client.force_login(ops_leader)
    for q in ("", "a", " a "):
        response = search(client, q)
        html = response.content.decode()
        assert "Type at least 2 letters of a name or email address." in html
        assert "Alice" not in html


def test_no_match_says_so(client, ops_leader):
    client.force_login(ops_leader)
    assert "Nobody matches “qqq”." in search(client, "qqq").content.decode()


def test_at_most_ten_and_says_there_are_more(client, ops_leader):
    UserFactory.create_batch(12, display_name="Taylor Tester")
    client.force_login(ops_leader)
    response = search(client, "taylor")
    assert len(response.context["options"]) == 10
    assert "Only the first 10 are shown: type more to narrow them down." in (
        response.content.decode()
    )


@pytest.mark.parametrize("count", [30, 300])
def test_a_fixed_number_of_queries_whatever_the_number_of_people(
    client, ops_leader, workflow, cohort, count, django_assert_num_queries
):
    people = UserFactory.create_batch(count, display_name="Taylor Tester")
    cohort_services.cohort_members_add(cohort=cohort, users=people[:5], actor=ops_leader)
    client.force_login(ops_leader)
    params = {"purpose": "cohort", "workflow": workflow.slug, "cohort": cohort.pk}
    search(client, "taylor", **params)  # warm the session and permission caches
    # Session, user, their groups (ops leader?), the workflow, its cohort, the matches with
    # their membership: the same six for 30 people as for 300.
    with django_assert_num_queries(6):
        response = search(client, "taylor", **params)
    assert len(response.context["options"]) == 10


def test_cohort_search_marks_members(client, ops_leader, workflow, cohort):
    member = UserFactory(display_name="Tina Member")
    UserFactory(display_name="Tom Newcomer")
    cohort_services.cohort_members_add(cohort=cohort, users=[member], actor=ops_leader)
    client.force_login(ops_leader)

    response = search(client, "tina", purpose="cohort", workflow=workflow.slug, cohort=cohort.pk)

    assert [(p.display_name, note) for p, note in response.context["options"]] == [
        ("Tina Member", "already a member")
    ]
    html = response.content.decode()
    assert 'aria-disabled="true"' in html
    assert "Already a member" in html


def test_cohort_of_another_workflow_is_a_404(client, ops_leader, workflow):
    other = make_workflow(owner=ops_leader, actor=ops_leader, name="Other", slug="other")
    foreign = cohort_services.cohort_create(workflow=other, name="Theirs", actor=ops_leader)
    client.force_login(ops_leader)
    response = search(client, "ta", purpose="cohort", workflow=workflow.slug, cohort=foreign.pk)
    assert response.status_code == 404


def test_handover_marks_the_current_owner(client, ops_leader, workflow):
    client.force_login(ops_leader)
    response = search(client, "owen", purpose="handover", workflow=workflow.slug)
    assert [(p.display_name, note) for p, note in response.context["options"]] == [
        ("Owen Owner", "the owner now")
    ]


def test_reassign_finds_only_the_paths_contacts_and_the_owner(
    client, ops_leader, workflow, other_user
):
    contact = UserFactory(display_name="Carla Contact")
    UserFactory(display_name="Carl Bystander")
    escalation_level_add(
        workflow=workflow,
        actor=ops_leader,
        contact=contact,
        channel="email",
        response_target_minutes=30,
    )
    escalation = Escalation.objects.create(workflow=workflow, title="Refunds", source="manual")
    client.force_login(ops_leader)
    params = {"purpose": "reassign", "workflow": workflow.slug, "escalation": escalation.pk}

    assert option_names(search(client, "carl", **params)) == ["Carla Contact"]
    assert option_names(search(client, "owen", **params)) == ["Owen Owner"]


def test_the_owner_search_is_for_ops_leaders_only(client, workflow_owner, executive):
    for user in (workflow_owner, executive):
        client.force_login(user)
        assert search(client, "al").status_code == 403


def test_an_unknown_purpose_is_a_bad_request(client, ops_leader):
    client.force_login(ops_leader)
    response = client.get(URL, {"purpose": "everyone", "q": "al"})
    assert response.status_code == 400

"""The review queue page: who sees it (never a cohort member who is not a named reviewer), grading
with htmx (the next item, the progress out of band) and without JavaScript, bad input, the empty
state, the graded list, and naming reviewers."""

import pytest
from django.urls import reverse

from rollout.forms.output_reviews import MSG_NO_SUCH_OUTPUT
from rollout.models import Escalation, OutputReview, OutputReviewer
from rollout.services.output_reviews import MSG_BAD_GRADE, output_reviewer_add
from tests.factories import UserFactory
from tests.rollout.output_review_fixtures import make_review
from tests.rollout.views.conftest import as_user, template_names

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true", "HX-Target": "review-item"}


def url(workflow, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("workflow_review_queue", args=[workflow.slug]) + (f"?{query}" if query else "")


@pytest.fixture
def member(sampled_cohort):
    return sampled_cohort.members.get()


@pytest.fixture
def items(workflow, sampled_cohort, member):
    return [
        make_review(workflow, sampled_cohort, user=member, excerpt=f"Reply {n}", days_ago=3 - n)
        for n in range(3)
    ]


def test_a_cohort_member_never_sees_the_queue_unless_named_a_reviewer(
    workflow, workflow_owner, member, items
):
    client = as_user(member)
    assert client.get(url(workflow)).status_code == 404
    assert (
        client.post(
            url(workflow), {"action": "grade", "review": items[0].pk, "grade": "correct"}
        ).status_code
        == 404
    )
    output_reviewer_add(workflow=workflow, user=member, actor=workflow_owner)
    response = client.get(url(workflow))
    assert response.status_code == 200
    assert "Reply 0" in response.content.decode()
    assert response.context["can_manage_reviewers"] is False


def test_executives_and_strangers_get_404(workflow, executive, other_user, items):
    for person in (executive, other_user):
        assert as_user(person).get(url(workflow)).status_code == 404


def test_the_page_shows_the_oldest_output_progress_and_keys(workflow, workflow_owner, items):
    response = as_user(workflow_owner).get(url(workflow))
    body = response.content.decode()
    assert response.context["item"] == items[0]
    assert "Reply 0" in body and "Reply 1" not in body
    assert "<strong>0 of 3</strong> graded this week, <strong>3</strong> waiting" in body
    assert "<kbd>4</kbd> Harmful" in body
    assert 'hx-post="' in body and 'action="/workflows/' in body


def test_grading_with_htmx_answers_the_next_item_and_the_progress(workflow, workflow_owner, items):
    client = as_user(workflow_owner)
    response = client.post(
        url(workflow),
        {"action": "grade", "review": items[0].pk, "grade": "wrong", "note": "Wrong fee."},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert template_names(response)[0] == "review-item"
    body = response.content.decode()
    assert "Reply 1" in body and "Reply 0" not in body
    assert 'id="review-progress"' in body and 'hx-swap-oob="true"' in body
    assert "<strong>1 of 3</strong> graded this week, <strong>2</strong> waiting" in body
    items[0].refresh_from_db()
    assert (items[0].grade, items[0].note) == ("wrong", "Wrong fee.")


def test_grading_without_javascript_redirects_with_a_message(workflow, workflow_owner, items):
    response = as_user(workflow_owner).post(
        url(workflow), {"action": "grade", "review": items[0].pk, "grade": "harmful"}
    )
    assert response.status_code == 302 and response["Location"] == url(workflow)
    assert Escalation.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grade": "excellent"}, MSG_BAD_GRADE),
        ({"grade": ""}, MSG_BAD_GRADE),
        ({"grade": "wrong", "note": "x" * 2001}, "at most 2000 characters"),
        ({"grade": "wrong", "review": "abc"}, MSG_NO_SUCH_OUTPUT),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_input_shows_an_error_and_changes_nothing(
    workflow, workflow_owner, items, data, message, htmx
):
    posted = {"action": "grade", "review": items[0].pk, **data}
    response = as_user(workflow_owner).post(url(workflow), posted, headers=HTMX if htmx else {})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ("<html" in response.content.decode()) is not htmx
    assert not OutputReview.objects.exclude(grade="").exists()


def test_an_item_of_another_workflow_is_404(workflow, workflow_owner, items, ops_leader):
    from tests.factories import make_workflow

    other = make_workflow(owner=workflow_owner, actor=ops_leader, name="Other", slug="other")
    foreign = make_review(other, None)
    response = as_user(workflow_owner).post(
        url(workflow), {"action": "grade", "review": foreign.pk, "grade": "correct"}
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.grade == ""


def test_the_empty_state(workflow, workflow_owner, sampled_cohort):
    body = as_user(workflow_owner).get(url(workflow)).content.decode()
    assert "Nothing to grade" in body
    assert "<strong>0 of 0</strong> graded this week" in body


def test_links_are_shown_as_links_never_fetched(workflow, workflow_owner, sampled_cohort):
    make_review(workflow, sampled_cohort, excerpt="https://tool.example.com/outputs/42")
    body = as_user(workflow_owner).get(url(workflow)).content.decode()
    assert (
        '<a href="https://tool.example.com/outputs/42" rel="noopener noreferrer nofollow"' in body
    )


def test_the_graded_list_filters_by_grade(workflow, workflow_owner, sampled_cohort):
    make_review(workflow, sampled_cohort, grade="wrong", excerpt="A wrong one")
    make_review(workflow, sampled_cohort, grade="correct", excerpt="A right one")
    client = as_user(workflow_owner)
    body = client.get(url(workflow, show="graded")).content.decode()
    assert "A wrong one" in body and "A right one" in body
    body = client.get(url(workflow, show="graded", grade="wrong")).content.decode()
    assert "A wrong one" in body and "A right one" not in body


def test_the_owner_names_and_removes_a_reviewer(workflow, workflow_owner):
    person = UserFactory(display_name="Rita Reviewer")
    client = as_user(workflow_owner)
    response = client.post(url(workflow), {"action": "add_reviewer", "user": person.pk})
    assert response.status_code == 302
    assert OutputReviewer.objects.filter(user=person).exists()
    # Without JavaScript: the email typed.
    other = UserFactory(email="sam@example.com")
    client.post(url(workflow), {"action": "add_reviewer", "user_text": "sam@example.com"})
    assert OutputReviewer.objects.filter(user=other).exists()
    response = client.post(
        url(workflow), {"action": "add_reviewer", "user_text": "nobody@example.com"}
    )
    assert response.status_code == 200
    assert "Nobody has the email address nobody@example.com." in response.content.decode()
    client.post(url(workflow), {"action": "remove_reviewer", "user": person.pk})
    assert not OutputReviewer.objects.filter(user=person).exists()


def test_a_reviewer_cannot_name_reviewers(workflow, workflow_owner):
    person = UserFactory()
    output_reviewer_add(workflow=workflow, user=person, actor=workflow_owner)
    response = as_user(person).post(url(workflow), {"action": "add_reviewer", "user": person.pk})
    assert response.status_code == 404


def test_queries_are_bounded(
    workflow, workflow_owner, sampled_cohort, django_assert_max_num_queries
):
    for n in range(30):
        make_review(workflow, sampled_cohort, grade=("correct", "wrong", "")[n % 3])
    client = as_user(workflow_owner)
    with django_assert_max_num_queries(16):
        assert client.get(url(workflow)).status_code == 200
    with django_assert_max_num_queries(17):
        assert client.get(url(workflow, show="graded")).status_code == 200


def test_a_reviewer_without_another_role_gets_only_the_queue_in_the_sections(
    workflow, workflow_owner, items
):
    person = UserFactory()
    output_reviewer_add(workflow=workflow, user=person, actor=workflow_owner)
    response = as_user(person).get(url(workflow))
    groups = response.context["workflow_sections"]
    assert [(g.heading, [s.label for s in g.sections]) for g in groups] == [
        ("Signals", ["Review queue"])
    ]
    overview = reverse("workflow_overview", args=[workflow.slug])
    assert f'href="{overview}"' not in response.content.decode()

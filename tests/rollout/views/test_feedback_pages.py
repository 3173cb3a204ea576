"""The feedback pages for every role: the quick form, the workflow's feedback page (triage or
member view) and one item, with htmx and plain POSTs."""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from rollout.models import Feedback, FeedbackComment, FeedbackVote, UsageEvent
from rollout.services import cohorts as cohort_svc
from rollout.services import feedback as svc
from tests.factories import UserFactory
from tests.rollout.views.conftest import as_user, login_redirect, template_names

pytestmark = pytest.mark.django_db

PAGE = "rollout/workflow_feedback.html"
HTMX = {"HX-Request": "true"}


def new_url(slug: str, **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"workflow": slug, **query}.items())
    return f"{reverse('feedback_new')}?{params}"


def list_url(slug: str) -> str:
    return reverse("workflow_feedback", kwargs={"slug": slug})


def item_url(feedback: Feedback) -> str:
    return reverse(
        "feedback_detail", kwargs={"slug": feedback.workflow.slug, "feedback_id": feedback.pk}
    )


@pytest.fixture
def cohort(workflow, ops_leader):
    return cohort_svc.cohort_create(workflow=workflow, name="EU agents", actor=ops_leader)


@pytest.fixture
def member(cohort, ops_leader):
    user = UserFactory(email="mia@example.com", display_name="Mia Member")
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


@pytest.fixture
def colleague(cohort, ops_leader):
    user = UserFactory(email="cole@example.com", display_name="Cole Colleague")
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


@pytest.fixture
def feedback(workflow, member):
    return svc.feedback_create(
        workflow=workflow,
        author=member,
        rating="not_helpful",
        category="wrong_output",
        text="It promised a refund we do not give to anyone.",
    )


# --- The quick form ---------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, workflow, feedback):
    for target in (list_url(workflow.slug), item_url(feedback)):
        assert client.get(target)["Location"] == login_redirect(target)
    response = client.get(new_url(workflow.slug))
    assert response["Location"] == login_redirect(f"/feedback/new/%3Fworkflow%3D{workflow.slug}")
    assert client.post(item_url(feedback), {"action": "vote"}).status_code == 302
    assert not FeedbackVote.objects.exists()


@pytest.mark.parametrize("who", ["other_user", "executive"])
def test_the_form_is_404_without_a_role(request, workflow, who):
    client = as_user(request.getfixturevalue(who))
    assert client.get(new_url(workflow.slug)).status_code == 404


def test_the_form_is_404_for_an_unknown_workflow(member):
    assert as_user(member).get(new_url("no-such-flow")).status_code == 404
    assert as_user(member).get(reverse("feedback_new")).status_code == 404


def test_a_member_sends_feedback_and_is_thanked(workflow, member, cohort):
    client = as_user(member)
    page = client.get(new_url(workflow.slug))
    assert page.status_code == 200
    assert template_names(page)[0] == "rollout/feedback_new.html"
    assert b"Was the output helpful?" in page.content
    response = client.post(
        new_url(workflow.slug),
        {"rating": "not_helpful", "category": "wrong_output", "text": "Wrong policy"},
    )
    feedback = Feedback.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/feedback/new/?workflow={workflow.slug}&thanks={feedback.pk}"
    assert (feedback.author, feedback.cohort, feedback.source) == (member, cohort, "form")
    thanks = client.get(response["Location"])
    assert b"Thank you" in thanks.content
    assert item_url(feedback).encode() in thanks.content


def test_someone_elses_thanks_is_just_the_form(workflow, member, colleague, feedback):
    page = as_user(colleague).get(new_url(workflow.slug, thanks=str(feedback.pk)))
    assert b"Thank you" not in page.content and b"Send feedback" in page.content


def test_a_bad_event_id_is_a_field_error(workflow, member):
    client = as_user(member)
    target = new_url(workflow.slug, event=str(uuid.uuid4()))
    page = client.get(target)
    assert b'name="event_id"' in page.content and b"Output reference" in page.content
    response = client.post(target, {"rating": "helpful", "category": "praise", "event_id": "nope"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"event_id": [svc.MSG_BAD_EVENT]}
    assert not Feedback.objects.exists()


def test_a_known_event_id_is_kept(workflow, member):
    event = UsageEvent.objects.create(
        workflow=workflow,
        event_id=uuid.uuid4(),
        user_ref=member.email,
        kind="invocation",
        occurred_at=timezone.now(),
        received_at=timezone.now(),
    )
    as_user(member).post(
        new_url(workflow.slug, event=str(event.event_id)),
        {"rating": "helpful", "category": "praise", "event_id": str(event.event_id)},
    )
    assert Feedback.objects.get().event_id == event.event_id


def test_oversize_text_and_missing_choices_are_field_errors(workflow, member):
    response = as_user(member).post(new_url(workflow.slug), {"text": "x" * 4001})
    assert response.context["form"].errors == {
        "rating": [svc.MSG_BAD_RATING],
        "category": [svc.MSG_BAD_CATEGORY],
    }
    response = as_user(member).post(
        new_url(workflow.slug), {"rating": "helpful", "category": "other", "text": "x" * 4001}
    )
    assert response.context["form"].errors == {"text": [svc.MSG_TEXT_TOO_LONG.format(length=4001)]}
    assert not Feedback.objects.exists()


# --- The workflow's feedback page -------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("other_user", 404), ("executive", 200), ("ops_leader", 200), ("workflow_owner", 200)],
)
def test_the_page_per_role(request, workflow, feedback, who, status):
    response = as_user(request.getfixturevalue(who)).get(list_url(workflow.slug))
    assert response.status_code == status
    if status == 200:
        assert b"It promised a refund" in response.content
        can_triage = who in ("ops_leader", "workflow_owner")
        assert (b'name="ids"' in response.content) is can_triage  # the bulk bar's ticks
        # Who gave it is in the item's panel (and page), not on its inbox line.
        panel = as_user(request.getfixturevalue(who)).get(
            item_url(feedback), headers={**HTMX, "HX-Target": "triage-panel"}
        )
        assert b"Mia Member" in panel.content
        assert (b'name="severity"' in panel.content) is can_triage


def test_a_member_sees_their_own_and_the_public_list(workflow, member, colleague, feedback):
    other = svc.feedback_create(
        workflow=workflow, author=colleague, rating="not_helpful", category="slow", text="Slow"
    )
    response = as_user(member).get(list_url(workflow.slug))
    assert response.status_code == 200
    assert [f.pk for f in response.context["own"]] == [feedback.pk]
    assert {f.pk for f in response.context["public"]} == {feedback.pk, other.pk}
    assert b'name="severity"' not in response.content
    assert b"Cole Colleague" not in response.content  # peers are not named to each other
    assert b'aria-current="page">Feedback<' in response.content


def test_the_triage_list_filters_and_is_bounded(
    workflow, workflow_owner, member, cohort, django_assert_max_num_queries
):
    for i in range(30):
        svc.feedback_create(
            workflow=workflow,
            author=member,
            rating="helpful" if i % 2 else "not_helpful",
            category="slow" if i % 3 else "wrong_output",
            text=f"Item {i}",
        )
    client = as_user(workflow_owner)
    client.get(list_url(workflow.slug))  # the session's first request: login bookkeeping
    with django_assert_max_num_queries(16):
        response = client.get(list_url(workflow.slug))
    assert response.context["page_obj"].paginator.count == 30
    assert len(response.context["page_obj"].object_list) == 25
    with django_assert_max_num_queries(16):
        response = client.get(
            list_url(workflow.slug),
            {"rating": "not_helpful", "category": "wrong_output", "cohort": cohort.pk},
            headers=HTMX,
        )
    assert template_names(response)[0] == "triage-list"  # the list alone, no page around it
    assert response.context["page_obj"].paginator.count == 5
    nobody = client.get(list_url(workflow.slug), {"cohort": "none", "status": ""})
    assert nobody.context["page_obj"].paginator.count == 0


def test_the_member_page_is_bounded(workflow, member, colleague, django_assert_max_num_queries):
    for i in range(20):
        svc.feedback_create(
            workflow=workflow, author=colleague, rating="not_helpful", category="slow", text=str(i)
        )
    client = as_user(member)
    with django_assert_max_num_queries(12):
        assert client.get(list_url(workflow.slug)).status_code == 200


# --- One item and its actions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("other_user", 404),
        ("executive", 200),
        ("ops_leader", 200),
        ("workflow_owner", 200),
        ("member", 200),
        ("colleague", 200),
    ],
)
def test_the_item_per_role(request, feedback, who, status):
    response = as_user(request.getfixturevalue(who)).get(item_url(feedback))
    assert response.status_code == status
    if who == "colleague":  # another member sees the title, not the whole text or the author
        assert "Wrong output: It promised a refund we do not give…".encode() in response.content
        assert b"to anyone." not in response.content
        assert b"Mia Member" not in response.content


def test_an_item_of_another_workflow_is_404(feedback, ops_leader):
    from tests.factories import make_workflow

    other = make_workflow(owner=ops_leader, actor=ops_leader)
    url = reverse("feedback_detail", kwargs={"slug": other.slug, "feedback_id": feedback.pk})
    assert as_user(ops_leader).get(url).status_code == 404


def test_the_owner_triages_with_htmx(workflow, workflow_owner, feedback):
    response = as_user(workflow_owner).post(
        item_url(feedback),
        {"action": "triage", "status": "in_progress", "severity": "high", "assignee": ""},
        headers={**HTMX, "HX-Target": f"detail-{feedback.pk}"},
    )
    assert response.status_code == 200
    assert template_names(response)[0] == "detail-body"
    assert f"Saved #{feedback.pk}: status In progress, severity High.".encode() in response.content
    feedback.refresh_from_db()
    assert (feedback.status, feedback.severity) == ("in_progress", "high")


def test_the_owner_triages_without_javascript(workflow, workflow_owner, feedback):
    next_url = list_url(workflow.slug) + "?status="
    response = as_user(workflow_owner).post(
        item_url(feedback),
        {"action": "triage", "status": "resolved", "severity": "", "next": next_url},
    )
    assert (response.status_code, response["Location"]) == (302, next_url)
    evil = as_user(workflow_owner).post(
        item_url(feedback), {"action": "triage", "status": "new", "next": "https://evil.test/"}
    )
    assert evil["Location"] == item_url(feedback)


@pytest.mark.parametrize("who", ["member", "executive", "colleague"])
def test_triage_and_merge_by_others_is_404(request, feedback, who):
    client = as_user(request.getfixturevalue(who))
    assert (
        client.post(item_url(feedback), {"action": "triage", "status": "resolved"}).status_code
        == 404
    )
    assert client.post(item_url(feedback), {"action": "merge", "into": "1"}).status_code == 404
    feedback.refresh_from_db()
    assert feedback.status == "new"


def test_an_unknown_action_is_400(feedback, workflow_owner):
    assert as_user(workflow_owner).post(item_url(feedback), {"action": "x"}).status_code == 400


def test_a_colleague_says_me_too_once(workflow, feedback, colleague):
    client = as_user(colleague)
    headers = {**HTMX, "HX-Target": f"public-{feedback.pk}"}
    first = client.post(item_url(feedback), {"action": "vote"}, headers=headers)
    assert template_names(first)[0] == "public-item"
    assert "You said “me too”".encode() in first.content
    again = client.post(item_url(feedback), {"action": "vote"}, headers=headers)
    assert svc.MSG_ALREADY_VOTED.encode() in again.content
    assert FeedbackVote.objects.count() == 1


def test_comments_from_a_member_and_the_owner(workflow, feedback, colleague, workflow_owner):
    as_user(colleague).post(item_url(feedback), {"action": "comment", "text": "Same here"})
    response = as_user(workflow_owner).post(
        item_url(feedback),
        {"action": "comment", "text": "Looking into it"},
        headers={**HTMX, "HX-Target": f"detail-{feedback.pk}"},
    )
    assert template_names(response)[0] == "detail-body"
    assert b"Same here" in response.content and b"Looking into it" in response.content
    empty = as_user(colleague).post(item_url(feedback), {"action": "comment", "text": ""})
    assert empty.status_code == 302
    assert FeedbackComment.objects.count() == 2


def test_an_executive_cannot_comment(feedback, executive):
    response = as_user(executive).post(item_url(feedback), {"action": "comment", "text": "Hi"})
    assert response.status_code == 404


def test_the_owner_merges_a_duplicate(workflow, workflow_owner, feedback, colleague):
    duplicate = svc.feedback_create(
        workflow=workflow, author=colleague, rating="not_helpful", category="wrong_output"
    )
    response = as_user(workflow_owner).post(
        item_url(duplicate),
        {"action": "merge", "into": str(feedback.pk)},
        headers={**HTMX, "HX-Target": f"detail-{duplicate.pk}"},
    )
    assert f"#{duplicate.pk} is merged into #{feedback.pk}.".encode() in response.content
    duplicate.refresh_from_db()
    assert duplicate.duplicate_of == feedback
    bad = as_user(workflow_owner).post(
        item_url(feedback),
        {"action": "merge", "into": "abc"},
        headers={**HTMX, "HX-Target": f"detail-{feedback.pk}"},
    )
    assert b"Type the number of the feedback" in bad.content

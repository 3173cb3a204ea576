"""Feedback services: filing, triage, comments, votes, merges — every rule and every bad input."""

import uuid

import pytest
from django.core import mail
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    Escalation,
    Feedback,
    FeedbackComment,
    FeedbackVote,
    Notification,
    UsageEvent,
)
from rollout.services import cohorts as cohort_svc
from rollout.services import feedback as svc
from rollout.services.escalation_path import escalation_level_add
from tests.factories import NO_EMAIL, UserFactory, make_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(workflow, ops_leader):
    return cohort_svc.cohort_create(workflow=workflow, name="EU agents", actor=ops_leader)


@pytest.fixture
def member(cohort, ops_leader):
    user = UserFactory(email="mia@example.com", display_name="Mia Member", **NO_EMAIL)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


@pytest.fixture
def colleague(cohort, ops_leader):
    user = UserFactory(email="cole@example.com", display_name="Cole Colleague")
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


def file(workflow, author, **fields) -> Feedback:
    values = {"rating": "not_helpful", "category": "wrong_output", "text": "Wrong refund policy."}
    values.update(fields)
    return svc.feedback_create(workflow=workflow, author=author, **values)


def a_usage_event(workflow) -> UsageEvent:
    return UsageEvent.objects.create(
        workflow=workflow,
        event_id=uuid.uuid4(),
        user_ref="mia@example.com",
        kind="invocation",
        occurred_at=timezone.now(),
        received_at=timezone.now(),
    )


# --- Filing ------------------------------------------------------------------------------------


def test_a_member_files_feedback_attributed_to_their_cohort(workflow, member, cohort):
    event = a_usage_event(workflow)
    feedback = file(workflow, member, event_id=str(event.event_id), text="  Wrong.  ")
    assert (feedback.author, feedback.cohort, feedback.user_ref) == (member, cohort, member.email)
    assert (feedback.status, feedback.severity, feedback.text) == ("new", "", "Wrong.")
    assert feedback.event_id == event.event_id


def test_a_person_in_two_cohorts_is_attributed_to_the_enrolled_one(workflow, member, ops_leader):
    pilots = cohort_svc.cohort_create(workflow=workflow, name="A pilots", actor=ops_leader)
    live = cohort_svc.cohort_create(workflow=workflow, name="Z live", actor=ops_leader)
    for c in (pilots, live):
        cohort_svc.cohort_members_add(cohort=c, users=[member], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=live, phase="limited", percentage=100, actor=ops_leader)
    assert file(workflow, member).cohort == live


def test_the_owner_may_file_feedback_without_a_cohort(workflow, workflow_owner):
    assert file(workflow, workflow_owner).cohort is None


@pytest.mark.parametrize("who", ["other_user", "executive"])
def test_someone_without_a_role_is_refused_and_nothing_stored(request, workflow, who):
    with pytest.raises(ApplicationError) as exc:
        file(workflow, request.getfixturevalue(who))
    assert exc.value.message == svc.MSG_NO_ROLE
    assert not Feedback.objects.exists()


def test_a_member_of_another_workflow_is_refused(workflow, member, ops_leader):
    other = make_workflow(owner=UserFactory(), actor=ops_leader)
    with pytest.raises(ApplicationError, match="only on a workflow you use"):
        file(other, member)


def test_oversize_text_is_refused_and_nothing_stored(workflow, member):
    with pytest.raises(ApplicationError) as exc:
        file(workflow, member, text="x" * 4001)
    assert (exc.value.field, exc.value.message) == (
        "text",
        svc.MSG_TEXT_TOO_LONG.format(length=4001),
    )
    assert exc.value.message == "Keep it to 4,000 characters: this is 4,001."
    assert not Feedback.objects.exists()


def test_exactly_4000_characters_are_fine(workflow, member):
    assert len(file(workflow, member, text="x" * 4000).text) == 4000


@pytest.mark.parametrize(
    "event_id", ["not-a-uuid", str(uuid.uuid4())], ids=["malformed", "unknown"]
)
def test_an_unknown_event_id_is_refused(workflow, member, event_id):
    with pytest.raises(ApplicationError) as exc:
        file(workflow, member, event_id=event_id)
    assert (exc.value.field, exc.value.message) == ("event_id", svc.MSG_BAD_EVENT)
    assert not Feedback.objects.exists()


def test_an_event_of_another_workflow_is_unknown_here(workflow, member, ops_leader):
    other = make_workflow(owner=UserFactory(), actor=ops_leader)
    event = a_usage_event(other)
    with pytest.raises(ApplicationError, match="No output with this reference"):
        file(workflow, member, event_id=event.event_id)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"rating": "meh"}, "rating", svc.MSG_BAD_RATING),
        ({"category": "bad"}, "category", svc.MSG_BAD_CATEGORY),
        ({"text": "nul\x00"}, "text", svc.MSG_CONTROL),
    ],
)
def test_bad_choices_are_refused(workflow, member, fields, field, message):
    with pytest.raises(ApplicationError) as exc:
        file(workflow, member, **fields)
    assert (exc.value.field, exc.value.message) == (field, message)


def test_the_ai_tool_files_for_a_known_member_or_an_unknown_person(workflow, member, cohort):
    known = svc.feedback_create(
        workflow=workflow,
        user_ref="MIA@example.com",
        rating="helpful",
        category="praise",
        source="api",
    )
    unknown = svc.feedback_create(
        workflow=workflow, user_ref="ext-42", rating="not_helpful", category="slow", source="api"
    )
    assert (known.author, known.cohort, known.source) == (member, cohort, "api")
    assert (unknown.author, unknown.cohort, unknown.user_ref) == (None, None, "ext-42")


def test_harmful_feedback_opens_an_escalation(workflow, member, ops_leader):
    escalation_level_add(
        workflow=workflow,
        actor=ops_leader,
        contact=ops_leader,
        channel="in_app",
        response_target_minutes=30,
    )
    feedback = file(workflow, member, category="harmful", text="Told a customer to stop meds.")
    escalation = Escalation.objects.get()
    assert (escalation.feedback, escalation.source, escalation.severity) == (
        feedback,
        "feedback",
        "high",
    )
    assert (
        escalation.title
        == f"Feedback #{feedback.pk}: Harmful or unsafe: Told a customer to stop meds."
    )


# --- Triage -----------------------------------------------------------------------------------


def test_triage_by_the_owner_is_recorded_and_told_to_author_and_voters(
    workflow, workflow_owner, member, colleague
):
    feedback = file(workflow, member, notify_by_email=True)
    svc.feedback_vote(feedback=feedback, user=colleague)
    mail.outbox.clear()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        svc.feedback_triage(
            feedback=feedback,
            actor=workflow_owner,
            status="in_progress",
            severity="medium",
            assignee=workflow_owner,
        )
    feedback.refresh_from_db()
    assert (feedback.status, feedback.severity, feedback.assignee) == (
        "in_progress",
        "medium",
        workflow_owner,
    )
    entry = ActivityEntry.objects.filter(verb="triaged").get()
    assert entry.target == f"feedback #{feedback.pk}"
    assert entry.changes == {
        "status": ["New", "In progress"],
        "severity": ["—", "Medium"],
        "assignee": ["—", str(workflow_owner)],
    }
    told = {n.recipient: n.title for n in Notification.objects.all()}
    assert told == {
        member: "Your feedback is now in progress: Wrong output: Wrong refund policy.",
        colleague: "Feedback you backed is now in progress: Wrong output: Wrong refund policy.",
    }
    # Mia chose in-app only in her profile but ticked "email me" on this feedback; Cole's
    # profile says email for everything.
    mine = Notification.objects.get(recipient=member)
    assert sorted(m.to[0] for m in mail.outbox) == [colleague.email, member.email]
    assert mine.url == f"/workflows/{workflow.slug}/feedback/{feedback.pk}/"


def test_no_one_is_told_when_only_the_severity_changes(workflow, workflow_owner, member):
    feedback = file(workflow, member)
    svc.feedback_triage(feedback=feedback, actor=workflow_owner, severity="low")
    assert not Notification.objects.exists()


@pytest.mark.parametrize("who", ["member", "executive", "other_user"])
def test_triage_by_a_non_owner_is_refused(request, workflow, member, who):
    feedback = file(workflow, member)
    with pytest.raises(ApplicationError) as exc:
        svc.feedback_triage(
            feedback=feedback, actor=request.getfixturevalue(who), status="resolved"
        )
    assert exc.value.message == svc.MSG_NOT_TRIAGER
    feedback.refresh_from_db()
    assert feedback.status == "new"


def test_an_ops_leader_may_triage(workflow, ops_leader, member):
    feedback = file(workflow, member)
    assert svc.feedback_triage(feedback=feedback, actor=ops_leader, status="wont_fix").status == (
        "wont_fix"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "done"}, svc.MSG_BAD_STATUS),
        ({"severity": "urgent"}, svc.MSG_BAD_SEVERITY),
        ({"status": "new"}, svc.MSG_TRIAGE_UNCHANGED),
    ],
)
def test_bad_triage_input(workflow, workflow_owner, member, fields, message):
    feedback = file(workflow, member)
    with pytest.raises(ApplicationError) as exc:
        svc.feedback_triage(feedback=feedback, actor=workflow_owner, **fields)
    assert exc.value.message == message


def test_the_assignee_must_be_able_to_see_the_workflow(
    workflow, workflow_owner, member, other_user
):
    feedback = file(workflow, member)
    with pytest.raises(ApplicationError) as exc:
        svc.feedback_triage(feedback=feedback, actor=workflow_owner, assignee=other_user)
    assert exc.value.message == svc.MSG_ASSIGNEE_NO_ACCESS.format(user=other_user)


def test_triaged_critical_opens_one_escalation(workflow, workflow_owner, member):
    feedback = file(workflow, member)
    svc.feedback_triage(feedback=feedback, actor=workflow_owner, severity="critical")
    svc.feedback_triage(feedback=feedback, actor=workflow_owner, status="acknowledged")
    escalation = Escalation.objects.get()
    assert (escalation.feedback, escalation.severity, escalation.opened_by) == (
        feedback,
        "critical",
        workflow_owner,
    )


# --- Votes and comments -----------------------------------------------------------------------


def test_voting_twice_is_refused_and_counts_once(workflow, member, colleague):
    feedback = file(workflow, member)
    svc.feedback_vote(feedback=feedback, user=colleague)
    with pytest.raises(ApplicationError) as exc:
        svc.feedback_vote(feedback=feedback, user=colleague)
    assert exc.value.message == svc.MSG_ALREADY_VOTED
    assert FeedbackVote.objects.count() == 1


def test_the_author_cannot_vote_for_their_own(workflow, member):
    feedback = file(workflow, member)
    with pytest.raises(ApplicationError, match="your own feedback"):
        svc.feedback_vote(feedback=feedback, user=member)


@pytest.mark.parametrize("who", ["executive", "other_user"])
def test_people_without_a_role_cannot_vote_or_comment(request, workflow, member, who):
    feedback = file(workflow, member)
    user = request.getfixturevalue(who)
    for call in (
        lambda: svc.feedback_vote(feedback=feedback, user=user),
        lambda: svc.feedback_comment_add(feedback=feedback, author=user, text="Hi"),
    ):
        with pytest.raises(ApplicationError) as exc:
            call()
        assert exc.value.message == svc.MSG_CANNOT_JOIN
    assert not FeedbackVote.objects.exists() and not FeedbackComment.objects.exists()


def test_a_comment_by_the_owner_is_told_to_the_author(workflow, workflow_owner, member):
    feedback = file(workflow, member)
    comment = svc.feedback_comment_add(feedback=feedback, author=workflow_owner, text=" On it. ")
    assert comment.text == "On it."
    note = Notification.objects.get()
    assert (note.recipient, note.body) == (member, "On it.")
    assert note.title == "Owen Owner commented on your feedback: Wrong output: Wrong refund policy."


@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", svc.MSG_COMMENT_EMPTY), ("y" * 4001, svc.MSG_TEXT_TOO_LONG.format(length=4001))],
)
def test_bad_comments_are_refused(workflow, member, text, message):
    feedback = file(workflow, member)
    with pytest.raises(ApplicationError) as exc:
        svc.feedback_comment_add(feedback=feedback, author=member, text=text)
    assert exc.value.message == message
    assert not FeedbackComment.objects.exists()


# --- Merging ----------------------------------------------------------------------------------


def test_merge_carries_votes_without_doubles(workflow, workflow_owner, member, colleague, cohort):
    third = UserFactory(display_name="Theo")
    cohort_svc.cohort_members_add(cohort=cohort, users=[third], actor=workflow_owner)
    into = file(workflow, member, text="Original")
    duplicate = file(workflow, colleague, text="Same thing")
    svc.feedback_vote(feedback=into, user=third)
    svc.feedback_vote(feedback=duplicate, user=third)  # already backs `into`: not doubled
    svc.feedback_vote(feedback=duplicate, user=member)  # the author of `into`: not a vote
    svc.feedback_merge(duplicate=duplicate, into=into, actor=workflow_owner)
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.duplicate_of) == ("resolved", into)
    voters = set(FeedbackVote.objects.filter(feedback=into).values_list("user_id", flat=True))
    assert voters == {third.pk, colleague.pk}  # the duplicate's author now follows `into`
    assert ActivityEntry.objects.filter(
        verb="merged"
    ).get().note == "1 vote(s) carried over to " + (f"#{into.pk}.")
    # Its author and voters are told it was merged (resolved).
    assert set(Notification.objects.values_list("recipient", flat=True)) == {
        colleague.pk,
        third.pk,
        member.pk,
    }


def test_a_vote_on_a_merged_duplicate_counts_for_the_original(
    workflow, workflow_owner, member, colleague, cohort
):
    into, duplicate = file(workflow, member), file(workflow, workflow_owner)
    svc.feedback_merge(duplicate=duplicate, into=into, actor=workflow_owner)
    vote = svc.feedback_vote(feedback=duplicate, user=colleague)
    assert vote.feedback == into


def test_merge_rules(workflow, workflow_owner, member, colleague, ops_leader):
    a, b, c = file(workflow, member), file(workflow, colleague), file(workflow, colleague)
    other = file(make_workflow(owner=member, actor=ops_leader), member)
    cases = [
        (dict(duplicate=a, into=a, actor=workflow_owner), svc.MSG_MERGE_SELF),
        (dict(duplicate=a, into=other, actor=workflow_owner), svc.MSG_MERGE_OTHER_WORKFLOW),
        (dict(duplicate=a, into=b, actor=member), svc.MSG_NOT_TRIAGER),
    ]
    for kwargs, message in cases:
        with pytest.raises(ApplicationError) as exc:
            svc.feedback_merge(**kwargs)
        assert exc.value.message == message
    svc.feedback_merge(duplicate=b, into=a, actor=workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        svc.feedback_merge(duplicate=b, into=c, actor=workflow_owner)
    assert exc.value.message == svc.MSG_ALREADY_MERGED.format(id=a.pk)
    with pytest.raises(ApplicationError) as exc:
        svc.feedback_merge(duplicate=c, into=b, actor=workflow_owner)
    assert exc.value.message == svc.MSG_MERGE_INTO_MERGED.format(id=b.pk, into=a.pk)
    with pytest.raises(ApplicationError) as exc:
        svc.feedback_merge_by_id(duplicate=c, into_id=999999, actor=workflow_owner)
    assert exc.value.message == "There is no feedback #999999 on this workflow."

"""Bulk triage (rollout.services.feedback.feedback_triage_bulk): the single triage on each ticked
item — logged, told and escalated the same way — all of them or none."""

import pytest

from core.errors import ApplicationError
from rollout.models import ActivityEntry, Escalation, Feedback, Notification
from rollout.services import cohorts as cohort_svc
from rollout.services import feedback as svc
from tests.factories import NO_EMAIL, UserFactory, make_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(workflow, ops_leader):
    cohort = cohort_svc.cohort_create(workflow=workflow, name="EU agents", actor=ops_leader)
    user = UserFactory(email="mia@example.com", display_name="Mia Member", **NO_EMAIL)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


@pytest.fixture
def items(workflow, member) -> list[Feedback]:
    return [
        svc.feedback_create(
            workflow=workflow,
            author=member,
            rating="not_helpful",
            category="wrong_output",
            text=f"Wrong refund policy {i}.",
        )
        for i in range(3)
    ]


def ids(items: list[Feedback]) -> list[int]:
    return [f.pk for f in items]


def states(items: list[Feedback]) -> list[tuple[str, str, int | None]]:
    return [
        (f.status, f.severity, f.assignee_id)
        for f in Feedback.objects.filter(pk__in=ids(items)).order_by("pk")
    ]


def test_each_item_is_triaged_logged_and_told_like_a_single_triage(
    workflow, workflow_owner, ops_leader, member, items
):
    done = svc.feedback_triage_bulk(
        workflow=workflow,
        ids=ids(items),
        actor=workflow_owner,
        status="in_progress",
        assignee=ops_leader,
    )
    assert [f.pk for f in done.changed] == ids(items)
    assert done.unchanged == []
    assert states(items) == [("in_progress", "", ops_leader.pk)] * 3
    entries = ActivityEntry.objects.filter(verb="triaged").order_by("target")
    assert [e.target for e in entries] == sorted(f"feedback #{pk}" for pk in ids(items))
    assert all(
        e.changes == {"status": ["New", "In progress"], "assignee": ["—", str(ops_leader)]}
        for e in entries
    )
    # The author hears about each status change, as after a single triage.
    assert Notification.objects.filter(recipient=member).count() == 3


def test_items_already_so_are_left_alone(workflow, workflow_owner, items):
    svc.feedback_triage(feedback=items[0], actor=workflow_owner, severity="low")
    done = svc.feedback_triage_bulk(
        workflow=workflow, ids=ids(items), actor=workflow_owner, severity="low"
    )
    assert done.unchanged == [items[0].pk]
    assert [f.pk for f in done.changed] == ids(items[1:])
    assert ActivityEntry.objects.filter(verb="triaged").count() == 3  # 1 single + 2 bulk


def test_unassign_and_clear_the_severity(workflow, workflow_owner, items):
    svc.feedback_triage_bulk(
        workflow=workflow, ids=ids(items), actor=workflow_owner, severity="high",
        assignee=workflow_owner,
    )  # fmt: skip
    svc.feedback_triage_bulk(
        workflow=workflow, ids=ids(items), actor=workflow_owner, severity="", assignee=None
    )
    assert states(items) == [("new", "", None)] * 3


def test_critical_opens_one_escalation_per_item(workflow, workflow_owner, items):
    svc.feedback_triage_bulk(
        workflow=workflow, ids=ids(items[:2]), actor=workflow_owner, severity="critical"
    )
    assert sorted(Escalation.objects.values_list("feedback_id", flat=True)) == ids(items[:2])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "planned"}, svc.MSG_BAD_STATUS),
        ({"severity": "urgent"}, svc.MSG_BAD_SEVERITY),
        ({}, svc.MSG_BULK_NOTHING_TO_SET),
    ],
)
def test_bad_values_change_nothing(workflow, workflow_owner, items, change, message):
    with pytest.raises(ApplicationError) as caught:
        svc.feedback_triage_bulk(workflow=workflow, ids=ids(items), actor=workflow_owner, **change)
    assert caught.value.message == message
    assert states(items) == [("new", "", None)] * 3
    assert not ActivityEntry.objects.filter(verb="triaged").exists()


def test_unknown_ids_and_another_workflows_change_nothing(
    workflow, workflow_owner, ops_leader, member, items
):
    other = make_workflow(owner=workflow_owner, actor=ops_leader)
    stranger = svc.feedback_create(
        workflow=other, author=workflow_owner, rating="helpful", category="praise"
    )
    wanted = [*ids(items), stranger.pk, 999_999]
    with pytest.raises(ApplicationError) as caught:
        svc.feedback_triage_bulk(
            workflow=workflow, ids=wanted, actor=workflow_owner, status="resolved"
        )
    assert caught.value.message == svc.MSG_BULK_UNKNOWN.format(ids=f"#{stranger.pk}, #999999")
    assert states(items) == [("new", "", None)] * 3
    assert Feedback.objects.get(pk=stranger.pk).status == "new"


def test_no_ids_or_too_many_are_refused(workflow, workflow_owner):
    with pytest.raises(ApplicationError) as caught:
        svc.feedback_triage_bulk(workflow=workflow, ids=[], actor=workflow_owner, status="new")
    assert caught.value.message == svc.MSG_BULK_NONE
    with pytest.raises(ApplicationError) as caught:
        svc.feedback_triage_bulk(
            workflow=workflow, ids=range(1, svc.BULK_MAX + 2), actor=workflow_owner, status="new"
        )
    assert caught.value.message == svc.MSG_BULK_TOO_MANY.format(max=svc.BULK_MAX)


def test_an_assignee_who_cannot_see_the_workflow_changes_nothing(workflow, workflow_owner, items):
    outsider = UserFactory(display_name="Otto Outsider")
    with pytest.raises(ApplicationError) as caught:
        svc.feedback_triage_bulk(
            workflow=workflow, ids=ids(items), actor=workflow_owner, status="acknowledged",
            assignee=outsider,
        )  # fmt: skip
    assert caught.value.message == svc.MSG_ASSIGNEE_NO_ACCESS.format(user=outsider)
    assert states(items) == [("new", "", None)] * 3


@pytest.mark.parametrize("who", ["member", "executive", "other_user"])
def test_only_the_owner_and_ops_leaders_may(request, workflow, items, who):
    with pytest.raises(ApplicationError) as caught:
        svc.feedback_triage_bulk(
            workflow=workflow, ids=ids(items), actor=request.getfixturevalue(who), status="resolved"
        )
    assert caught.value.message == svc.MSG_NOT_TRIAGER
    assert states(items) == [("new", "", None)] * 3

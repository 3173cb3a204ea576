"""Rule 1: a handover is announced — the new and the old owner are told (in the app and by email
as workflow updates), followers are told, and a notice to the cohorts is drafted for the new
owner to complete and publish."""

import pytest
from django.core import mail

from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    Cohort,
    CohortMember,
    NoticeAudience,
    NoticeStatus,
    Notification,
)
from rollout.services import workflows as svc
from rollout.services.follows import follow
from rollout.services.notices import notice_schedule, notice_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def successor(db):
    return UserFactory(email="nina@example.com", display_name="Nina New")


@pytest.fixture
def cohort(workflow):
    cohort = Cohort.objects.create(workflow=workflow, name="EU agents")
    CohortMember.objects.create(cohort=cohort, user=UserFactory(email="agent@example.com"))
    return cohort


def test_both_owners_are_told_in_the_app_and_by_email(
    ops_leader, workflow, successor, cohort, django_capture_on_commit_callbacks
):
    old_owner = workflow.owner
    with django_capture_on_commit_callbacks(execute=True):
        svc.workflow_handover(
            workflow=workflow, actor=ops_leader, new_owner=successor, note="Owen moved teams"
        )
    draft = ChangeNotice.objects.get(workflow=workflow)
    (to_new,) = Notification.objects.filter(recipient=successor)
    assert to_new.title == f"You now own {workflow.name}"
    assert to_new.body == (
        "Olivia Ops handed it over to you from Owen Owner.\n\nOlivia Ops: Owen moved teams\n\n"
        "A notice telling its cohorts is drafted for you: complete and publish it."
    )
    assert to_new.url == f"/workflows/{workflow.slug}/notices/{draft.pk}/edit/"
    (to_old,) = Notification.objects.filter(recipient=old_owner)
    assert to_old.title == f"You no longer own {workflow.name}"
    assert to_old.url == f"/workflows/{workflow.slug}/"
    assert {m.to[0] for m in mail.outbox} == {"nina@example.com", "owner@example.com"}


def test_an_owner_who_turned_updates_off_is_told_in_the_app_only(
    ops_leader, workflow, successor, django_capture_on_commit_callbacks
):
    successor.email_updates = False
    successor.save()
    with django_capture_on_commit_callbacks(execute=True):
        svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=successor)
    assert Notification.objects.filter(recipient=successor).count() == 1
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]


def test_followers_are_told_but_not_twice_nor_the_actor(ops_leader, executive, workflow, successor):
    follow(workflow=workflow, user=executive)
    follow(workflow=workflow, user=ops_leader)
    svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=successor)
    (told,) = Notification.objects.filter(recipient=executive)
    assert told.title == f"{workflow.name}: handed over from Owen Owner to Nina New"
    assert not Notification.objects.filter(recipient=ops_leader).exists()


def test_a_notice_to_the_cohorts_is_drafted_for_the_new_owner(
    ops_leader, workflow, successor, cohort
):
    svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=successor)
    draft = ChangeNotice.objects.get(workflow=workflow)
    assert (draft.status, draft.audience, draft.include_followers) == (
        NoticeStatus.DRAFT,
        NoticeAudience.EVERYONE,
        False,
    )
    assert draft.title == f"Nina New now owns {workflow.name}"
    assert "taking over from Owen Owner" in draft.body
    verbs = list(ActivityEntry.objects.filter(workflow=workflow).values_list("verb", flat=True))
    assert verbs[:2] == ["drafted automatically", "handed over"]
    # The new owner may edit and schedule it; the old one no longer may.
    notice_update(notice=draft, actor=successor, title="Nina takes over")
    notice = notice_schedule(notice=draft, actor=successor)
    assert notice.status == NoticeStatus.SCHEDULED


def test_no_draft_without_cohorts(ops_leader, workflow, successor):
    svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=successor)
    assert not ChangeNotice.objects.filter(workflow=workflow).exists()
    (to_new,) = Notification.objects.filter(recipient=successor)
    assert to_new.url == f"/workflows/{workflow.slug}/"


def test_a_refused_handover_tells_nobody(ops_leader, workflow, cohort):
    with pytest.raises(ApplicationError):
        svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=workflow.owner)
    assert not Notification.objects.exists()
    assert not ChangeNotice.objects.exists()

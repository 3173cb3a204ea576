import datetime

import pytest
from django.core.cache import cache

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    Cohort,
    CohortMember,
    Phase,
    UsageEvent,
    UsageRollup,
    Workflow,
)
from rollout.selectors.decision import plan_version
from rollout.services import cohorts as svc
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import usage_events_store
from tests.factories import UserFactory
from tests.rollout.usage_events_data import events


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def _phase(workflow: Workflow, kind: str, status: str) -> Phase:
    position = ["audit", "shadow", "limited", "broad", "steady"].index(kind)
    return Phase.objects.create(
        workflow=workflow,
        kind=kind,
        position=position,
        planned_start=datetime.date(2026, 1, 1),
        status=status,
    )


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_create_records_and_invalidates(workflow, ops_leader, django_capture_on_commit_callbacks):
    before = plan_version(workflow.slug)
    with django_capture_on_commit_callbacks(execute=True):
        cohort = svc.cohort_create(workflow=workflow, name="  EU   agents ", actor=ops_leader)
    assert cohort.name == "EU agents"
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert (entry.verb, entry.target) == ("created", "cohort EU agents")
    assert plan_version(workflow.slug) != before


def test_create_refuses_duplicate_name(workflow, ops_leader):
    svc.cohort_create(workflow=workflow, name="EU agents", actor=ops_leader)
    count = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        svc.cohort_create(workflow=workflow, name="eu AGENTS", actor=ops_leader)
    assert exc.value.message == svc.MSG_NAME_TAKEN.format(name="eu AGENTS")
    assert exc.value.field == "name"
    assert Cohort.objects.count() == 1
    assert ActivityEntry.objects.count() == count


def test_update_renames(workflow, ops_leader):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    svc.cohort_update(cohort=cohort, name="B", description="desk", actor=ops_leader)
    cohort.refresh_from_db()
    assert (cohort.name, cohort.description) == ("B", "desk")
    entry = ActivityEntry.objects.latest("pk")
    assert entry.changes["name"] == ["A", "B"]


def test_members_add_grants_use_and_skips_existing(workflow, ops_leader, other_user):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    assert svc.cohort_members_add(cohort=cohort, users=[other_user], actor=ops_leader) == [
        other_user
    ]
    assert _fresh(other_user).has_perm("rollout.use_workflow", workflow)
    assert not _fresh(other_user).has_perm("rollout.view_workflow", workflow)
    count = ActivityEntry.objects.count()
    assert svc.cohort_members_add(cohort=cohort, users=[other_user], actor=ops_leader) == []
    assert CohortMember.objects.filter(cohort=cohort).count() == 1
    assert ActivityEntry.objects.count() == count


def test_members_add_refuses_deactivated(workflow, ops_leader):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    gone = UserFactory(is_active=False, display_name="Gone")
    with pytest.raises(ApplicationError) as exc:
        svc.cohort_members_add(cohort=cohort, users=[gone], actor=ops_leader)
    assert exc.value.message == svc.MSG_INACTIVE_USER.format(user=gone)
    assert not CohortMember.objects.exists()


def test_remove_from_last_cohort_revokes(workflow, ops_leader, other_user):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    svc.cohort_members_add(cohort=cohort, users=[other_user], actor=ops_leader)
    svc.cohort_member_remove(cohort=cohort, user=other_user, actor=ops_leader)
    assert not _fresh(other_user).has_perm("rollout.use_workflow", workflow)
    entry = ActivityEntry.objects.latest("pk")
    assert entry.changes == {"member": [other_user.email, "—"]}


def test_member_of_two_cohorts_keeps_access(workflow, ops_leader, other_user):
    a = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    b = svc.cohort_create(workflow=workflow, name="B", actor=ops_leader)
    svc.cohort_members_add(cohort=a, users=[other_user], actor=ops_leader)
    svc.cohort_members_add(cohort=b, users=[other_user], actor=ops_leader)
    svc.cohort_member_remove(cohort=a, user=other_user, actor=ops_leader)
    assert _fresh(other_user).has_perm("rollout.use_workflow", workflow)


def test_owner_keeps_access_when_removed_as_member(workflow, ops_leader, workflow_owner):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    svc.cohort_members_add(cohort=cohort, users=[workflow_owner], actor=ops_leader)
    svc.cohort_member_remove(cohort=cohort, user=workflow_owner, actor=ops_leader)
    owner = _fresh(workflow_owner)
    assert owner.has_perm("rollout.use_workflow", workflow)
    assert owner.has_perm("rollout.change_workflow", workflow)


def test_members_remove_batch_revokes_skips_and_logs_once(workflow, ops_leader, other_user):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    ann = UserFactory(email="ann@example.com")
    outsider = UserFactory(email="out@example.com")
    svc.cohort_members_add(cohort=cohort, users=[other_user, ann], actor=ops_leader)
    before = ActivityEntry.objects.count()
    removed = svc.cohort_members_remove(
        cohort=cohort, users=[ann, other_user, outsider, ann], actor=ops_leader
    )
    assert removed == [ann, other_user]
    assert not cohort.memberships.exists()
    assert not _fresh(other_user).has_perm("rollout.use_workflow", workflow)
    assert ActivityEntry.objects.count() == before + 1
    entry = ActivityEntry.objects.latest("pk")
    assert (entry.verb, entry.target) == ("removed members from", "cohort A")
    assert entry.changes == {"members removed": [f"ann@example.com, {other_user.email}", "—"]}


def test_members_remove_nobody_writes_nothing(workflow, ops_leader, other_user):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    before = ActivityEntry.objects.count()
    assert svc.cohort_members_remove(cohort=cohort, users=[other_user], actor=ops_leader) == []
    assert ActivityEntry.objects.count() == before


def test_remove_non_member_refused(workflow, ops_leader, other_user):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    with pytest.raises(ApplicationError) as exc:
        svc.cohort_member_remove(cohort=cohort, user=other_user, actor=ops_leader)
    assert exc.value.message == svc.MSG_NOT_A_MEMBER.format(user=other_user, cohort="A")


def test_delete_revokes_members(workflow, ops_leader, other_user):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    svc.cohort_members_add(cohort=cohort, users=[other_user], actor=ops_leader)
    svc.cohort_delete(cohort=cohort, actor=ops_leader)
    assert not Cohort.objects.exists()
    assert not _fresh(other_user).has_perm("rollout.use_workflow", workflow)
    assert ActivityEntry.objects.latest("pk").verb == "deleted"


def test_delete_counts_its_members_usage_in_no_cohort(workflow, ops_leader, other_user):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    svc.cohort_members_add(cohort=cohort, users=[other_user], actor=ops_leader)
    usage_events_store(workflow=workflow, events=events("invocation", 2, user_ref=other_user.email))
    usage_refresh_pending()
    assert UsageRollup.objects.filter(cohort=cohort).exists()

    svc.cohort_delete(cohort=cohort, actor=ops_leader)
    usage_refresh_pending()

    stored = UsageEvent.objects.values_list("user_id", "cohort_id")
    assert list(stored) == [(other_user.pk, None)] * 2
    day = UsageRollup.objects.get(workflow=workflow, period="day")
    assert (day.cohort_id, day.invocations, day.active_users) == (None, 2, 1)


def test_delete_refused_while_enrolled_phase_in_progress(workflow, ops_leader):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    _phase(workflow, "broad", "paused")
    count = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        svc.cohort_delete(cohort=cohort, actor=ops_leader)
    assert exc.value.message == svc.MSG_DELETE_LIVE.format(name="A", phase="limited roll-out")
    assert Cohort.objects.count() == 1
    assert ActivityEntry.objects.count() == count


def test_delete_allowed_before_enrolled_phase_starts(workflow, ops_leader):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="broad", percentage=100, actor=ops_leader)
    _phase(workflow, "limited", "active")
    svc.cohort_delete(cohort=cohort, actor=ops_leader)
    assert not Cohort.objects.exists()


def test_enrol_and_unenrol(workflow, ops_leader, django_capture_on_commit_callbacks):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    version = plan_version(workflow.slug)
    with django_capture_on_commit_callbacks(execute=True):
        cohort = svc.cohort_enrol(cohort=cohort, phase="limited", percentage=40, actor=ops_leader)
    assert (cohort.enrolled_phase, cohort.percentage) == ("limited", 40)
    assert cohort.enrolled_at is not None
    assert ActivityEntry.objects.latest("pk").changes == {
        "enrolment": ["—", "Limited roll-out, 40%"]
    }
    assert plan_version(workflow.slug) != version
    cohort = svc.cohort_unenrol(cohort=cohort, actor=ops_leader)
    assert (cohort.enrolled_phase, cohort.enrolled_at, cohort.percentage) == ("", None, 100)
    with pytest.raises(ApplicationError) as exc:
        svc.cohort_unenrol(cohort=cohort, actor=ops_leader)
    assert exc.value.message == svc.MSG_NOT_ENROLLED.format(name="A")


@pytest.mark.parametrize(
    ("phase", "percentage", "message"),
    [
        ("shadow", 50, svc.MSG_BAD_PHASE),
        ("limited", 0, svc.MSG_BAD_PERCENTAGE),
        ("limited", 101, svc.MSG_BAD_PERCENTAGE),
    ],
)
def test_enrol_bad_input(workflow, ops_leader, phase, percentage, message):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    count = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        svc.cohort_enrol(cohort=cohort, phase=phase, percentage=percentage, actor=ops_leader)
    assert exc.value.message == message
    cohort.refresh_from_db()
    assert cohort.enrolled_phase == ""
    assert ActivityEntry.objects.count() == count


def test_lowering_percentage_while_live_is_noted(workflow, ops_leader):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    people = UserFactory.create_batch(30)
    svc.cohort_members_add(cohort=cohort, users=people, actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    _phase(workflow, "limited", "active")
    svc.cohort_enrol(cohort=cohort, phase="limited", percentage=10, actor=ops_leader)
    entry = ActivityEntry.objects.latest("pk")
    expected = svc._members_losing(cohort, 100, 10)
    assert 0 < expected <= 30
    assert entry.note == svc.NOTE_MAY_LOSE.format(count=expected)


def test_lowering_percentage_before_phase_has_no_note(workflow, ops_leader):
    cohort = svc.cohort_create(workflow=workflow, name="A", actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="limited", percentage=10, actor=ops_leader)
    assert ActivityEntry.objects.latest("pk").note == ""

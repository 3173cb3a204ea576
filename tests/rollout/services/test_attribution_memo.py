"""Attribution (usage_ingest.attribute_people) is remembered per reference under the workflow's
plan version: a batch naming people already looked up makes no lookup, and every change the
answer depends on (a cohort's members, a member's account) is seen by the next batch."""

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import user_deactivate, user_erase, user_reactivate
from rollout.lib import local_memo
from rollout.models import (
    Arm,
    CacheInvalidation,
    CacheInvalidationKind,
    Cohort,
    UsageEvent,
    Workflow,
)
from rollout.selectors.cache_invalidations import forget_invalidations_pending
from rollout.services.cache_invalidations import cache_invalidate
from rollout.services.cohorts import cohort_create, cohort_member_remove, cohort_members_add
from rollout.services.decision_cache import plan_change_uncommitted
from rollout.services.holdouts import holdout_release
from rollout.services.usage_ingest import attribute_people, usage_events_store
from tests.factories import UserFactory, make_workflow
from tests.rollout.holdout_fixtures import holdout_cohort
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import event

MIA = "mia@example.com"


def _lookups(captured: CaptureQueriesContext) -> int:
    """Attribution queries among the captured ones (the only reads of memberships by people)."""
    return sum(
        'FROM "rollout_cohortmember"' in q["sql"] and "LOWER" in q["sql"].upper()
        for q in captured.captured_queries
    )


def _store(workflow: Workflow, *refs: str) -> tuple[dict[str, int | None], int]:
    """Store one event per reference; (ref → the cohort its event counted for, lookups made)."""
    batch = [event(user_ref=ref) for ref in refs]
    with CaptureQueriesContext(connection) as captured:
        usage_events_store(workflow=workflow, events=batch)
    stored = UsageEvent.objects.filter(event_id__in=[e.event_id for e in batch])
    return dict(stored.values_list("user_ref", "cohort_id")), _lookups(captured)


@pytest.fixture
def mia(db) -> User:
    return UserFactory(email=MIA, external_id="EMP-7")


@pytest.fixture
def tier1(workflow: Workflow) -> Cohort:
    """Made directly: through the services, the plan change would be uncommitted for the rest
    of the test (its transaction), and the memo left alone (tested below)."""
    assert not plan_change_uncommitted(workflow.slug)
    return Cohort.objects.create(workflow=workflow, name="Tier 1")


def test_people_looked_up_once_are_not_looked_up_again_while_the_plan_holds(workflow, tier1, mia):
    tier1.memberships.create(user=mia)

    first, lookups = _store(workflow, MIA, "EMP-7", "nobody@example.com")
    assert first == {MIA: tier1.pk, "EMP-7": tier1.pk, "nobody@example.com": None}
    assert lookups == 1

    again, lookups = _store(workflow, MIA, "EMP-7", "nobody@example.com")
    assert again == first
    assert lookups == 0  # known people and nobody alike are remembered

    _, lookups = _store(workflow, MIA, "newcomer@example.com")
    assert lookups == 1  # only the new reference is asked about


def test_a_bumped_plan_version_is_a_new_lookup(workflow, tier1, mia):
    """What the version stands for: any change made through plan_changed bumps it."""
    assert _store(workflow, MIA) == ({MIA: None}, 1)
    tier1.memberships.create(user=mia)  # a change the version does not know of yet
    assert _store(workflow, MIA) == ({MIA: None}, 0)  # remembered (the bump comes below)

    cache_invalidate(CacheInvalidationKind.PLAN, workflow.slug)  # what plan_changed does at commit

    assert _store(workflow, MIA) == ({MIA: tier1.pk}, 1)


def test_a_transaction_that_changed_the_plan_neither_uses_nor_fills_the_memo(
    workflow, tier1, mia, ops_leader
):
    assert _store(workflow, MIA) == ({MIA: None}, 1)

    with pytest.raises(RuntimeError), transaction.atomic():
        cohort_members_add(cohort=tier1, users=[mia], actor=ops_leader)
        assert plan_change_uncommitted(workflow.slug)
        # The version is not bumped before commit: this transaction sees its own change.
        assert attribute_people(workflow, {MIA}) == {MIA: (mia.pk, tier1.pk)}
        raise RuntimeError("rolled back")

    assert not plan_change_uncommitted(workflow.slug)
    # Nothing of the rolled-back transaction was remembered.
    assert _store(workflow, MIA) == ({MIA: None}, 0)


def test_without_a_trusted_cache_every_batch_looks_people_up(workflow, tier1, mia):
    # A plan change the cache could not take is pending: the version may be stale.
    CacheInvalidation.objects.create(kind=CacheInvalidationKind.PLAN, target=workflow.slug)
    forget_invalidations_pending()

    assert _store(workflow, MIA)[1] == 1
    assert _store(workflow, MIA)[1] == 1


def test_memos_are_kept_per_workflow(workflow, tier1, mia, ops_leader):
    other = make_workflow(owner=workflow.owner, actor=ops_leader, name="Other", slug="other")
    elsewhere = other.cohorts.create(name="Elsewhere")
    elsewhere.memberships.create(user=mia)

    assert _store(workflow, MIA) == ({MIA: None}, 1)
    assert _store(other, MIA) == ({MIA: elsewhere.pk}, 1)
    assert _store(workflow, MIA) == ({MIA: None}, 0)


@pytest.mark.django_db(transaction=True)
def test_each_committed_change_reaches_the_next_batch(workflow, mia, ops_leader):
    """With real commits (plan_changed bumps the version at commit), through the services."""
    tier1 = cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    assert _store(workflow, MIA, "EMP-7") == ({MIA: None, "EMP-7": None}, 1)

    cohort_members_add(cohort=tier1, users=[mia], actor=ops_leader)
    assert _store(workflow, MIA, "EMP-7") == ({MIA: tier1.pk, "EMP-7": tier1.pk}, 1)
    assert _store(workflow, MIA)[1] == 0

    user_deactivate(actor=ops_leader, user=mia)
    assert _store(workflow, MIA) == ({MIA: None}, 1)

    user_reactivate(actor=ops_leader, user=mia)
    assert _store(workflow, MIA) == ({MIA: tier1.pk}, 1)

    cohort_member_remove(cohort=tier1, user=mia, actor=ops_leader)
    assert _store(workflow, MIA) == ({MIA: None}, 1)

    cohort_members_add(cohort=tier1, users=[mia], actor=ops_leader)
    assert _store(workflow, MIA)[0] == {MIA: tier1.pk}
    user_erase(actor=ops_leader, user=mia)
    assert _store(workflow, MIA) == ({MIA: None}, 1)


@pytest.mark.django_db(transaction=True)
def test_an_address_changed_in_the_admin_reaches_the_next_batch(workflow, mia, ops_leader):
    tier1 = cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_members_add(cohort=tier1, users=[mia], actor=ops_leader)
    assert _store(workflow, MIA)[0] == {MIA: tier1.pk}

    admin = UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    joined = timezone.localtime(mia.date_joined)
    response = client.post(
        reverse("admin:accounts_user_change", args=[mia.pk]),
        {
            "email": "mia.new@example.com",
            "display_name": mia.display_name,
            "is_active": "on",
            "date_joined_0": joined.date().isoformat(),
            "date_joined_1": joined.time().isoformat(timespec="seconds"),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors

    assert _store(workflow, MIA, "mia.new@example.com") == (
        {MIA: None, "mia.new@example.com": tier1.pk},
        1,
    )


def test_the_memo_is_forgotten_with_the_processes_decisions(workflow, tier1, mia):
    _store(workflow, MIA)
    assert local_memo.recall(f"decision:{workflow.slug}:attribution:{workflow.pk}") is not None
    local_memo.forget(f"decision:{workflow.slug}:")  # what plan_changed does in this process
    assert _store(workflow, MIA)[1] == 1


def _timeline_reads(captured: CaptureQueriesContext) -> int:
    return sum('FROM "rollout_phase"' in q["sql"] for q in captured.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_outcome_arms_are_remembered_until_the_plan_changes(workflow, ops_leader):
    """The arm stamped on outcome events is read from a timeline remembered under the plan
    version: a holdout release (through its service, committed) reaches the next batch."""
    make_plan(workflow, current="limited")
    setup = holdout_cohort(workflow, ops_leader)
    held = setup.held_out[0]

    def outcome() -> tuple[str | None, int]:
        sent = event("outcome", user_ref=held.email, at=timezone.now())._replace(
            attrs={"metric": "handle_time_s"}, value=240.0
        )
        with CaptureQueriesContext(connection) as captured:
            usage_events_store(workflow=workflow, events=[sent])
        return UsageEvent.objects.get(event_id=sent.event_id).arm, _timeline_reads(captured)

    assert outcome() == (Arm.HOLDOUT, 1)
    assert outcome() == (Arm.HOLDOUT, 0)

    holdout_release(cohort=setup.cohort, user=held, actor=ops_leader, reason="Moved to the AI")

    assert outcome() == (Arm.AI, 1)

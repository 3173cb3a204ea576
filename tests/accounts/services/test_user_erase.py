"""Erasing a person (PRODUCT.md "Personal data"): their references become a stable pseudonym,
their words go, their account is emptied — and every count stays what it was."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services import (
    MSG_ALREADY_ERASED,
    MSG_ERASE_SELF,
    MSG_ERASED_FOR_GOOD,
    erasure_pseudonym,
    user_erase,
    user_reactivate,
)
from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    CohortMember,
    Feedback,
    FeedbackComment,
    UsageActiveUser,
    UsageEvent,
    UsageLastActive,
    UsageRollup,
)
from rollout.selectors.usage_summary import active_people
from rollout.services.activity import activity_record
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.feedback import feedback_comment_add, feedback_create
from rollout.services.usage_rollup import usage_rollup_rebuild
from tests.factories import UserFactory
from tests.rollout.usage_events_data import at_noon, event, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(workflow, workflow_owner, ops_leader):
    cohort = cohort_create(workflow=workflow, name="EU agents", actor=workflow_owner)
    mia = UserFactory(email="mia.member@example.com", external_id="EMP-7", display_name="Mia M")
    tom = UserFactory(email="tom@example.com", display_name="Tom T")
    cohort_members_add(cohort=cohort, users=[mia, tom], actor=workflow_owner)
    today = timezone.localdate()
    batch = []
    for days in (1, 2, 5):
        at = at_noon(today - timedelta(days=days))
        batch += [
            event(user_ref="Mia.Member@EXAMPLE.com", at=at),
            event(user_ref="mia.member@example.com", at=at, kind="accepted"),
            event(user_ref="EMP-7", at=at),
            event(user_ref="tom@example.com", at=at),
            event(user_ref="stranger@example.com", at=at),
        ]
    ingest(workflow, batch)
    said = feedback_create(
        workflow=workflow,
        rating="not_helpful",
        category="wrong_output",
        text="It called me Mia Member in a customer reply.",
        author=mia,
    )
    feedback_comment_add(feedback=said, author=mia, text="Still happening — Mia")
    feedback_comment_add(feedback=said, author=workflow_owner, text="Fixed in the prompt.")
    via_tool = feedback_create(
        workflow=workflow,
        rating="not_helpful",
        category="slow",
        text="slow for mia",
        user_ref="MIA.MEMBER@example.com",
    )
    activity_record(
        workflow=None, actor=ops_leader, verb="invited", target="user mia.member@example.com"
    )
    return {"workflow": workflow, "mia": mia, "tom": tom, "said": said, "via_tool": via_tool}


def figures(workflow):
    today = timezone.localdate()
    people = active_people(workflow, start=today - timedelta(days=29), end=today)
    days = sorted(
        UsageRollup.objects.filter(workflow=workflow, period="day").values_list(
            "day", "cohort_id", "invocations", "accepted", "active_users"
        ),
        key=lambda row: (row[0], row[1] or 0),
    )
    return people, days, UsageEvent.objects.count(), Feedback.objects.count()


def mentions_mia(model, field="user_ref"):
    return model.objects.filter(
        Q(**{f"{field}__icontains": "mia"}) | Q(**{f"{field}__icontains": "EMP-7"})
    ).exists()


def test_erasing_keeps_every_count_and_leaves_nothing_that_names_them(scene, ops_leader):
    workflow, mia = scene["workflow"], scene["mia"]
    before = figures(workflow)

    label = user_erase(actor=ops_leader, user=mia)

    assert label == erasure_pseudonym(mia.pk, "mia.member@example.com")
    assert figures(workflow) == before
    for model in (UsageEvent, UsageActiveUser, UsageLastActive, Feedback):
        assert not mentions_mia(model), model
    # Every spelling of her address is one pseudonym; her external id another.
    assert UsageEvent.objects.filter(user_ref=label).count() == 6
    assert UsageEvent.objects.filter(user_ref=erasure_pseudonym(mia.pk, "EMP-7")).count() == 3
    # Her words are gone; what was counted stays.
    said = Feedback.objects.get(pk=scene["said"].pk)
    assert (said.text, said.rating, said.category) == ("", "not_helpful", "wrong_output")
    assert list(FeedbackComment.objects.values_list("text", flat=True)) == ["Fixed in the prompt."]
    via_tool = Feedback.objects.get(pk=scene["via_tool"].pk)
    assert (via_tool.text, via_tool.user_ref) == ("", label)
    # The account is emptied and cannot sign in.
    mia.refresh_from_db()
    assert mia.is_erased and not mia.is_active and not mia.has_usable_password()
    assert (mia.display_name, mia.external_id) == ("Erased person", "")
    assert "mia" not in mia.email
    assert not CohortMember.objects.filter(user=mia).exists()
    # Logged without her name or address; earlier entries no longer name her either.
    entry = ActivityEntry.objects.get(verb="erased")
    assert (entry.workflow, entry.actor, entry.target) == (None, ops_leader, f"person {label}")
    assert not ActivityEntry.objects.filter(target__icontains="mia").exists()
    # Rebuilding from raw events counts the same: the pseudonyms are stable.
    usage_rollup_rebuild(workflow=workflow)
    assert figures(workflow) == before


def test_the_same_reference_always_gives_the_same_pseudonym():
    assert erasure_pseudonym(7, "a@example.com") == erasure_pseudonym(7, "a@example.com")
    assert erasure_pseudonym(7, "a@example.com") != erasure_pseudonym(7, "EMP-7")
    assert erasure_pseudonym(7, "a@example.com") != erasure_pseudonym(8, "a@example.com")


def test_an_erased_owner_leaves_their_workflows_ownerless(ops_leader, workflow_owner, workflow):
    user_erase(actor=ops_leader, user=workflow_owner)

    workflow.refresh_from_db()
    assert workflow.is_ownerless
    assert ActivityEntry.objects.filter(workflow=workflow, verb="made ownerless").exists()


@pytest.mark.parametrize("who", ["self", "erased", "not ops"])
def test_refusals_change_nothing(who, ops_leader, workflow_owner, other_user):
    actor, target, message = ops_leader, workflow_owner, None
    if who == "self":
        target, message = ops_leader, MSG_ERASE_SELF
    elif who == "erased":
        user_erase(actor=ops_leader, user=workflow_owner)
        message = MSG_ALREADY_ERASED
    else:
        actor = other_user
    before = list(User.objects.order_by("pk").values_list("email", "is_active"))

    with pytest.raises(ApplicationError) as refused:
        user_erase(actor=actor, user=target)

    if message:
        assert refused.value.message == message
    assert list(User.objects.order_by("pk").values_list("email", "is_active")) == before


def test_an_erased_person_cannot_be_reactivated(ops_leader, workflow_owner):
    user_erase(actor=ops_leader, user=workflow_owner)
    with pytest.raises(ApplicationError) as refused:
        user_reactivate(actor=ops_leader, user=User.objects.get(pk=workflow_owner.pk))
    assert refused.value.message == MSG_ERASED_FOR_GOOD

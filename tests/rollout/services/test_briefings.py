"""Publishing and acknowledging a workflow's failure-mode briefing."""

import pytest
from django.core import mail
from django.db import IntegrityError

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import ActivityEntry, Briefing, BriefingAcknowledgement, Notification
from rollout.services import cohorts as cohort_svc
from rollout.services.briefings import (
    MSG_CHANGE_NOTE_REQUIRED,
    MSG_NOT_A_MEMBER,
    MSG_NOT_CURRENT,
    MSG_REQUIRED,
    BriefingText,
    briefing_acknowledge,
    briefing_publish,
)
from tests.factories import UserFactory, make_workflow

pytestmark = pytest.mark.django_db

TEXT = BriefingText("Drafts replies.", "- A wrong refund amount.", "", "1. Do not send it.")
URL = "/workflows/support-reply-drafting/briefing/"


@pytest.fixture
def members(workflow, ops_leader):
    """Ann in both cohorts, Ben in one, Cid deactivated."""
    ann, ben = UserFactory(display_name="Ann"), UserFactory(display_name="Ben")
    cid = UserFactory(display_name="Cid")
    for name, people in (("Tier 1", [ann, ben, cid]), ("Tier 2", [ann])):
        cohort = cohort_svc.cohort_create(workflow=workflow, name=name, actor=ops_leader)
        cohort_svc.cohort_members_add(cohort=cohort, users=people, actor=ops_leader)
    User.objects.filter(pk=cid.pk).update(is_active=False)
    return ann, ben, cid


def publish(workflow, actor, *, material=True, note="", text=TEXT):
    return briefing_publish(
        workflow=workflow, actor=actor, text=text, material=material, change_note=note
    )


def test_versions_are_numbered_and_the_first_is_material(workflow, workflow_owner):
    first = publish(workflow, workflow_owner, material=False)
    second = publish(workflow, workflow_owner, material=False, note="Typo.")
    assert (first.number, first.material) == (1, True)
    assert (second.number, second.material, second.change_note) == (2, False, "Typo.")
    assert second.published_by == workflow_owner


def test_publishing_is_logged(workflow, workflow_owner):
    publish(workflow, workflow_owner)
    publish(workflow, workflow_owner, material=False, note="Typo.")
    entries = ActivityEntry.objects.filter(workflow=workflow, verb="published").order_by("pk")
    assert [(e.target, e.note, e.actor) for e in entries] == [
        ("briefing version 1 (material)", "", workflow_owner),
        ("briefing version 2 (minor)", "Typo.", workflow_owner),
    ]


def test_a_material_version_asks_each_active_member_once(
    workflow, workflow_owner, members, django_capture_on_commit_callbacks
):
    ann, ben, cid = members
    with django_capture_on_commit_callbacks(execute=True):
        publish(workflow, workflow_owner)
    asked = Notification.objects.filter(workflow=workflow, url=URL)
    assert sorted(n.recipient.display_name for n in asked) == ["Ann", "Ben"]
    assert {n.email_category for n in asked} == {"notices"}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([ann.email, ben.email])
    assert "Please read and acknowledge the briefing" in mail.outbox[0].subject
    assert URL in mail.outbox[0].body


def test_a_second_material_version_asks_again_with_the_grace_period(
    workflow, workflow_owner, members
):
    publish(workflow, workflow_owner)
    publish(workflow, workflow_owner, note="New failure mode.")
    latest = Notification.objects.filter(recipient=members[0], url=URL).order_by("-pk")
    assert latest.count() == 2
    assert "You keep your access for 7 days" in latest[0].body
    assert "You keep your access" not in latest[1].body


def test_a_minor_version_notifies_nobody(workflow, workflow_owner, members):
    publish(workflow, workflow_owner)
    before = Notification.objects.count()
    publish(workflow, workflow_owner, material=False, note="Typo.")
    assert Notification.objects.count() == before


@pytest.mark.parametrize("field", ["what_it_does", "bad_output", "what_to_do"])
def test_required_texts(workflow, workflow_owner, members, field):
    text = BriefingText(**{**TEXT.__dict__, field: "   "})
    with pytest.raises(ApplicationError) as exc:
        publish(workflow, workflow_owner, text=text)
    assert exc.value.field == field
    assert exc.value.message.startswith(MSG_REQUIRED.split("{")[0])
    assert not Briefing.objects.exists()
    assert not Notification.objects.exists()


def test_a_later_version_says_what_changed(workflow, workflow_owner, members):
    publish(workflow, workflow_owner)
    notifications = Notification.objects.count()
    with pytest.raises(ApplicationError) as exc:
        publish(workflow, workflow_owner, note="  ")
    assert exc.value.message == MSG_CHANGE_NOTE_REQUIRED.format(number=1)
    assert Briefing.objects.count() == 1
    assert Notification.objects.count() == notifications


def test_acknowledging_once(workflow, workflow_owner, members):
    ann = members[0]
    briefing = publish(workflow, workflow_owner)
    first, created = briefing_acknowledge(briefing=briefing, user=ann)
    again, created_again = briefing_acknowledge(briefing=briefing, user=ann)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and again.at == first.at
    assert BriefingAcknowledgement.objects.count() == 1
    entries = ActivityEntry.objects.filter(workflow=workflow, verb="acknowledged")
    assert [(e.actor, e.target) for e in entries] == [(ann, "briefing version 1")]


def test_the_database_refuses_a_second_acknowledgement(workflow, workflow_owner, members):
    briefing = publish(workflow, workflow_owner)
    briefing_acknowledge(briefing=briefing, user=members[0])
    with pytest.raises(IntegrityError):
        BriefingAcknowledgement.objects.create(
            briefing=briefing, user=members[0], at=briefing.published_at
        )


def test_a_non_member_cannot_acknowledge(workflow, workflow_owner, members, executive):
    briefing = publish(workflow, workflow_owner)
    for outsider in (workflow_owner, executive, UserFactory()):
        with pytest.raises(ApplicationError) as exc:
            briefing_acknowledge(briefing=briefing, user=outsider)
        assert exc.value.message == MSG_NOT_A_MEMBER
    assert not BriefingAcknowledgement.objects.exists()


def test_only_the_current_version_is_acknowledged(workflow, workflow_owner, members):
    old = publish(workflow, workflow_owner)
    publish(workflow, workflow_owner, material=False, note="Typo.")
    with pytest.raises(ApplicationError) as exc:
        briefing_acknowledge(briefing=old, user=members[0])
    assert exc.value.message == MSG_NOT_CURRENT.format(number=1, current=2)
    assert not BriefingAcknowledgement.objects.exists()


def test_another_workflows_member_cannot_acknowledge(workflow, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader, name="Other", slug="other")
    stranger = UserFactory()
    cohort = cohort_svc.cohort_create(workflow=other, name="Theirs", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[stranger], actor=ops_leader)
    briefing = publish(workflow, workflow_owner)
    with pytest.raises(ApplicationError):
        briefing_acknowledge(briefing=briefing, user=stranger)


def test_someone_added_later_is_asked_once(workflow, workflow_owner, ops_leader, members):
    ann, ben, _ = members
    publish(workflow, workflow_owner)
    briefing_acknowledge(briefing=workflow.briefings.get(), user=ben)
    dan = UserFactory(display_name="Dan")
    tier3 = cohort_svc.cohort_create(workflow=workflow, name="Tier 3", actor=ops_leader)
    before = {u.pk: Notification.objects.filter(recipient=u).count() for u in (ann, ben, dan)}
    # Ann is in another cohort (asked at publication), Ben acknowledged: only Dan is asked.
    cohort_svc.cohort_members_add(cohort=tier3, users=[ann, ben, dan], actor=ops_leader)
    after = {u.pk: Notification.objects.filter(recipient=u).count() for u in (ann, ben, dan)}
    assert after == {ann.pk: before[ann.pk], ben.pk: before[ben.pk], dan.pk: 1}
    (asked,) = Notification.objects.filter(recipient=dan)
    assert asked.url == URL and "Version 1 of the failure-mode briefing" in asked.body


def test_nobody_is_asked_on_joining_before_a_briefing(workflow, ops_leader):
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Early", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[UserFactory()], actor=ops_leader)
    assert not Notification.objects.filter(url=URL).exists()

"""Published-notice scenarios for the delivery tests: a workflow with two cohorts and their
members, and notices made straight through the ORM (authoring has its own tests)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import User
from rollout.models import ChangeNotice, Cohort, NoticeDelivery, NoticeStatus, Workflow
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.factories import NO_EMAIL, UserFactory, make_workflow, ops_leader_user


@dataclass
class Scene:
    workflow: Workflow
    owner: User
    ops: User
    eu: Cohort
    uk: Cohort
    amy: User  # EU
    ben: User  # EU, email off
    cat: User  # UK


def make_scene() -> Scene:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    eu = cohort_create(workflow=workflow, name="EU tier-1 agents", actor=owner)
    uk = cohort_create(workflow=workflow, name="UK tier-1 agents", actor=owner)
    amy = UserFactory(email="amy@example.com", display_name="Amy Agent")
    ben = UserFactory(email="ben@example.com", display_name="Ben Agent", **NO_EMAIL)
    cat = UserFactory(email="cat@example.com", display_name="Cat Agent")
    cohort_members_add(cohort=eu, users=[amy, ben], actor=owner)
    cohort_members_add(cohort=uk, users=[cat], actor=owner)
    return Scene(workflow, owner, ops, eu, uk, amy, ben, cat)


def make_notice(
    scene: Scene,
    *,
    cohorts: list[Cohort] | None = None,
    publish_in: timedelta = timedelta(minutes=-1),
    effective_in: timedelta = timedelta(days=6),
    **fields: object,
) -> ChangeNotice:
    """A scheduled notice (due a minute ago unless told otherwise)."""
    now = timezone.now()
    values: dict[str, object] = {
        "workflow": scene.workflow,
        "kind": "prompt_change",
        "title": "New reply prompt from Monday",
        "body": "We **shorten** the drafts.",
        "body_html": "<p>We <strong>shorten</strong> the drafts.</p>",
        "status": NoticeStatus.SCHEDULED,
        "publish_at": now + publish_in,
        "effective_at": now + effective_in,
        "include_followers": False,
        "created_by": scene.owner,
    }
    values.update(fields)
    notice = ChangeNotice.objects.create(**values)
    notice.cohorts.set(cohorts if cohorts is not None else [scene.eu, scene.uk])
    return notice


def claimed_group(now: datetime) -> list[NoticeDelivery]:
    """What a sender holds mid-run: the due notices published, their in-app rows delivered, and
    one group of their emails claimed (moved to `queued`) at `now`."""
    from rollout.services import notice_delivery

    notice_delivery.notices_publish_due()
    notice_delivery._deliver_in_app(100, now)
    _, group, _ = notice_delivery._claim(notice_delivery.EMAIL_GROUP, now, retries=True)
    return group

"""Long lists for the list pages' tests: rows bulk-inserted (like bench/lists.py), numbered from
`first`, so that a test can grow a list from a few rows to several pages."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts.models import User
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    Cohort,
    CohortMember,
    DeliveryChannel,
    DeliveryStatus,
    Escalation,
    EscalationSource,
    EscalationStatus,
    Feedback,
    Incident,
    IncidentStatus,
    NoticeAudience,
    NoticeDelivery,
    NoticeKind,
    NoticeReceipt,
    NoticeStatus,
    Workflow,
)

PER_PAGE = 50
SMALL, LARGE = 3, 2 * PER_PAGE + 7  # one page; three pages, the last one short
CALENDAR_MONTH = "2027-03"


@dataclass
class Scene:
    workflow: Workflow
    owner: User
    ops_leader: User
    executive: User
    stranger: User
    cohort: Cohort | None = None
    notice: ChangeNotice | None = None


def make_notices(scene: Scene, first: int, count: int, **fields) -> list[ChangeNotice]:
    now = timezone.now()
    values = {
        "kind": NoticeKind.MODEL_CHANGE,
        "body": "The reply drafts now use the 2026-10 model.",
        "audience": NoticeAudience.EVERYONE,
        "publish_at": now - timedelta(days=1),
        "effective_at": now + timedelta(days=7),
        "status": NoticeStatus.PUBLISHED,
        "published_at": now - timedelta(days=1),
    }
    values.update(fields)
    return ChangeNotice.objects.bulk_create(
        ChangeNotice(workflow=scene.workflow, title=f"Model update {i:04}", **values)
        for i in range(first, first + count)
    )


def seed_notices(scene: Scene, first: int, count: int) -> None:
    make_notices(scene, first, count)


def seed_incidents(scene: Scene, first: int, count: int) -> None:
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(
            workflow=scene.workflow,
            title=f"Drafts in the wrong language {i:04}",
            started_at=now - timedelta(minutes=i),
            status=IncidentStatus.CLOSED,
            opened_by=scene.owner,
        )
        for i in range(first, first + count)
    )


def seed_inbox(scene: Scene, first: int, count: int) -> None:
    notices = make_notices(scene, first, count)
    NoticeReceipt.objects.bulk_create(
        NoticeReceipt(notice=notice, recipient=scene.owner) for notice in notices
    )
    NoticeDelivery.objects.bulk_create(
        NoticeDelivery(
            notice=notice,
            recipient=scene.owner,
            channel=DeliveryChannel.IN_APP,
            kind="notice",
            status=DeliveryStatus.SENT,
            sent_at=timezone.now(),
        )
        for notice in notices
    )


def seed_calendar(scene: Scene, first: int, count: int) -> None:
    # Two events each: published on the 3rd, effective on the 20th of CALENDAR_MONTH.
    make_notices(
        scene,
        first,
        (count + 1) // 2,
        status=NoticeStatus.SCHEDULED,
        published_at=None,
        publish_at=datetime(2027, 3, 3, 9, tzinfo=UTC),
        effective_at=datetime(2027, 3, 20, 9, tzinfo=UTC),
    )


def seed_approvals(scene: Scene, first: int, count: int) -> None:
    make_notices(
        scene,
        first,
        count,
        status=NoticeStatus.AWAITING_APPROVAL,
        published_at=None,
        urgent=True,
        urgent_reason="The old model is being switched off.",
        created_by=scene.owner,
    )


def seed_escalations(scene: Scene, first: int, count: int) -> None:
    Escalation.objects.bulk_create(
        Escalation(
            workflow=scene.workflow,
            title=f"Wrong refunds promised {i:04}",
            source=EscalationSource.MANUAL,
            status=EscalationStatus.OPEN,
            opened_by=scene.owner,
        )
        for i in range(first, first + count)
    )


def make_people(first: int, count: int) -> list[User]:
    return User.objects.bulk_create(
        User(email=f"list{i:04}@example.com", display_name=f"List {i:04}")
        for i in range(first, first + count)
    )


def seed_cohort_members(scene: Scene, first: int, count: int) -> None:
    if scene.cohort is None:
        scene.cohort = Cohort.objects.create(workflow=scene.workflow, name="EU tier-1")
        Cohort.objects.create(workflow=scene.workflow, name="UK tier-2")  # a second, empty
    CohortMember.objects.bulk_create(
        CohortMember(cohort=scene.cohort, user=person) for person in make_people(first, count)
    )


def seed_not_acknowledged(scene: Scene, first: int, count: int) -> None:
    if scene.notice is None:
        (scene.notice,) = make_notices(scene, 0, 1, requires_ack=True)
    people = make_people(first, count)
    NoticeReceipt.objects.bulk_create(
        NoticeReceipt(notice=scene.notice, recipient=person) for person in people
    )
    NoticeDelivery.objects.bulk_create(
        NoticeDelivery(
            notice=scene.notice,
            recipient=person,
            channel=channel,
            kind="notice",
            status=status,
            attempts=1,
            last_error="550 mailbox unavailable" if status == DeliveryStatus.FAILED else "",
            sent_at=timezone.now(),
        )
        for person in people
        for channel, status in (
            (DeliveryChannel.IN_APP, DeliveryStatus.SENT),
            (DeliveryChannel.EMAIL, DeliveryStatus.FAILED),
        )
    )


def seed_feedback(scene: Scene, first: int, count: int) -> None:
    Feedback.objects.bulk_create(
        Feedback(
            workflow=scene.workflow,
            user_ref=f"agent{i}@example.com",
            rating="negative",
            category="wrong",
            text=f"Item {i}: the draft missed the customer's second question.",
            status="new",
        )
        for i in range(first, first + count)
    )


def seed_activity(scene: Scene, first: int, count: int) -> None:
    ActivityEntry.objects.bulk_create(
        ActivityEntry(workflow=scene.workflow, actor=scene.owner, verb="noted", target=f"entry {i}")
        for i in range(first, first + count)
    )

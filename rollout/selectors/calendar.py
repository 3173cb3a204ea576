"""What is coming up, for the calendar page and the iCalendar feed: planned phase starts and ends,
scheduled promotions, notices (publish and effective), blackout windows and reviews of the
workflows the user can see.

Who sees what follows the workflow pages: people who may view a workflow see all of it; cohort
members (who only use it) see its phases, the blackouts and the notices they received. A bounded
number of queries whatever the data (one per kind of event), each capped at PER_KIND_LIMIT rows.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_executive, is_ops_leader
from rollout.models import (
    IN_PROGRESS,
    OPEN_PROMOTION,
    BlackoutWindow,
    CalendarFeed,
    ChangeNotice,
    NoticeReceipt,
    NoticeStatus,
    Phase,
    PhaseStatus,
    PromotionRequest,
    PromotionStatus,
    Workflow,
)
from rollout.selectors.blackouts import (
    blackout_on_day,
    blackouts_overlapping,
    phase_conflict_message,
)
from rollout.selectors.workflows import workflow_ids_viewable, workflow_list_visible

PER_KIND_LIMIT = 500
NOTICE_STATUSES_SHOWN = (
    NoticeStatus.AWAITING_APPROVAL,
    NoticeStatus.SCHEDULED,
    NoticeStatus.PUBLISHED,
)


@dataclass(frozen=True)
class CalendarEvent:
    """One thing on the calendar. `start`/`end` are dates for all-day events (`end` inclusive,
    None for one day) and aware datetimes otherwise (`end` None for a moment in time). `uid` is
    stable: the same event keeps it from one feed refresh to the next."""

    uid: str
    kind: str  # phase | promotion | notice | blackout | review
    title: str
    start: date | datetime
    end: date | datetime | None
    url: str
    workflow_name: str = ""
    # Rule 10: why this planned phase date is in a blackout window, or "".
    conflict: str = ""

    @property
    def label(self) -> str:
        """The title without its workflow's name (the month grid shows the name apart)."""
        return (
            self.title.removeprefix(f"{self.workflow_name}: ") if self.workflow_name else self.title
        )

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def first_day(self) -> date:
        return self.start if self.all_day else timezone.localdate(self.start)

    @property
    def last_day(self) -> date:
        if self.end is None:
            return self.first_day
        if self.all_day:
            return self.end
        # A window ending at midnight does not cover the day that starts then.
        return timezone.localdate(self.end - timedelta(microseconds=1))

    def days(self, start: date, end: date) -> list[date]:
        """The days of [start, end) this event covers."""
        first, last = max(self.first_day, start), min(self.last_day, end - timedelta(days=1))
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tz), datetime.combine(end, time.min, tz)


def _overview(workflow: Workflow) -> str:
    return reverse("workflow_overview", kwargs={"slug": workflow.slug})


def calendar_events(user: User, *, start: date, end: date) -> list[CalendarEvent]:
    """Every event touching the days [start, end), in time order."""
    workflows = {w.pk: w for w in workflow_list_visible(user).order_by()}
    if not workflows:
        return _blackouts(user, {}, set(), start, end)
    viewable = workflow_ids_viewable(user, list(workflows))
    windows = _windows(user, workflows, start, end)
    events = [
        *_phases(workflows, start, end, windows),
        *_promotions(workflows, viewable, start, end),
        *_notices(user, workflows, viewable, start, end),
        *_blackouts(user, workflows, viewable, start, end, windows),
        *_reviews(workflows, viewable, start, end),
    ]
    return sorted(events, key=lambda e: (_sort_key(e), e.title))


def _sort_key(event: CalendarEvent) -> datetime:
    if event.all_day:
        return datetime.combine(event.start, time.min, timezone.get_current_timezone())
    return event.start


def _windows(
    user: User, workflows: dict[int, Workflow], start: date, end: date
) -> list[BlackoutWindow]:
    """The blackout windows shown (org-wide and the visible workflows'), also the ones a planned
    phase date may conflict with. One query."""
    if not user.is_authenticated:
        return []
    lo, hi = _bounds(start, end)
    return blackouts_overlapping(workflows, lo, hi)[:PER_KIND_LIMIT]


def _conflict(phase: Phase, edge: str, day: date, windows: list[BlackoutWindow]) -> str:
    window = blackout_on_day(windows, phase.workflow_id, day)
    return phase_conflict_message(phase, edge, window) if window else ""


def _phases(
    workflows: dict[int, Workflow], start: date, end: date, windows: list[BlackoutWindow]
) -> list[CalendarEvent]:
    phases = Phase.objects.filter(workflow_id__in=workflows).filter(
        Q(status=PhaseStatus.PLANNED, planned_start__gte=start, planned_start__lt=end)
        | Q(
            status__in=[PhaseStatus.PLANNED, *IN_PROGRESS],
            planned_end__gte=start,
            planned_end__lt=end,
        )
    )
    events = []
    for phase in phases.order_by("planned_start", "pk")[:PER_KIND_LIMIT]:
        workflow = workflows[phase.workflow_id]
        kind = phase.get_kind_display()
        if phase.status == PhaseStatus.PLANNED and start <= phase.planned_start < end:
            events.append(
                CalendarEvent(
                    uid=f"phase-{phase.pk}-start",
                    kind="phase",
                    title=f"{workflow.name}: {kind} starts (planned)",
                    start=phase.planned_start,
                    end=None,
                    url=_overview(workflow),
                    workflow_name=workflow.name,
                    conflict=_conflict(phase, "start", phase.planned_start, windows),
                )
            )
        if phase.planned_end and start <= phase.planned_end < end:
            events.append(
                CalendarEvent(
                    uid=f"phase-{phase.pk}-end",
                    kind="phase",
                    title=f"{workflow.name}: {kind} ends (planned)",
                    start=phase.planned_end,
                    end=None,
                    url=_overview(workflow),
                    workflow_name=workflow.name,
                    conflict=_conflict(phase, "end", phase.planned_end, windows),
                )
            )
    return events


def _promotions(
    workflows: dict[int, Workflow], viewable: set[int], start: date, end: date
) -> list[CalendarEvent]:
    if not viewable:
        return []
    lo, hi = _bounds(start, end)
    requests = (
        PromotionRequest.objects.filter(
            workflow_id__in=viewable,
            status__in=OPEN_PROMOTION,
            scheduled_for__gte=lo,
            scheduled_for__lt=hi,
        )
        .select_related("to_phase")
        .order_by("scheduled_for", "pk")[:PER_KIND_LIMIT]
    )
    return [
        CalendarEvent(
            uid=f"promotion-{r.pk}",
            kind="promotion",
            title=f"{workflows[r.workflow_id].name}: promotion to "
            f"{r.to_phase.get_kind_display()}"
            + (" (awaiting approval)" if r.status == PromotionStatus.PENDING else ""),
            start=r.scheduled_for,
            end=None,
            url=reverse("workflow_gate", kwargs={"slug": workflows[r.workflow_id].slug}),
            workflow_name=workflows[r.workflow_id].name,
        )
        for r in requests
    ]


def _notices(
    user: User, workflows: dict[int, Workflow], viewable: set[int], start: date, end: date
) -> list[CalendarEvent]:
    lo, hi = _bounds(start, end)
    members_only = set(workflows) - viewable
    # A subquery, not a join: joining receipts would repeat a notice once per recipient.
    received = NoticeReceipt.objects.filter(recipient=user).values("notice_id")
    notices = ChangeNotice.objects.filter(
        Q(workflow_id__in=viewable, status__in=NOTICE_STATUSES_SHOWN)
        | Q(workflow_id__in=members_only, status=NoticeStatus.PUBLISHED, pk__in=received)
    ).filter(
        Q(publish_at__gte=lo, publish_at__lt=hi) | Q(effective_at__gte=lo, effective_at__lt=hi)
    )
    # Who may open a notice's read counts (rollout.permissions.can_view_notice_stats), decided
    # without a permission query per workflow.
    sees_stats = is_ops_leader(user) or is_executive(user)
    events = []
    for notice in notices.order_by("publish_at", "pk")[:PER_KIND_LIMIT]:
        workflow = workflows[notice.workflow_id]
        suffix = " (awaiting approval)" if notice.status == NoticeStatus.AWAITING_APPROVAL else ""
        # Owners, ops leaders and executives open the notice with its read counts; everyone
        # else reads notices in their inbox.
        url = (
            reverse("notice_detail", kwargs={"slug": workflow.slug, "notice_id": notice.pk})
            if sees_stats or workflow.owner_id == user.pk
            else reverse("inbox")
        )
        common = {"kind": "notice", "url": url, "workflow_name": workflow.name}
        if lo <= notice.publish_at < hi:
            events.append(
                CalendarEvent(
                    uid=f"notice-{notice.pk}-publish",
                    title=f"{workflow.name}: notice “{notice.title}” published{suffix}",
                    start=notice.publish_at,
                    end=None,
                    **common,
                )
            )
        if lo <= notice.effective_at < hi:
            events.append(
                CalendarEvent(
                    uid=f"notice-{notice.pk}-effective",
                    title=f"{workflow.name}: “{notice.title}” takes effect{suffix}",
                    start=notice.effective_at,
                    end=None,
                    **common,
                )
            )
    return events


def _blackouts(
    user: User,
    workflows: dict[int, Workflow],
    viewable: set[int],
    start: date,
    end: date,
    windows: list[BlackoutWindow] | None = None,
) -> list[CalendarEvent]:
    if windows is None:
        windows = _windows(user, workflows, start, end)
    events = []
    for window in windows:
        workflow = workflows.get(window.workflow_id)
        scope = f"{workflow.name}: " if workflow else ""
        url = _overview(workflow) if workflow else reverse("blackout_list")
        events.append(
            CalendarEvent(
                uid=f"blackout-{window.pk}",
                kind="blackout",
                title=f"{scope}blackout “{window.name}”",
                start=window.starts_at,
                end=window.ends_at,
                url=url,
                workflow_name=workflow.name if workflow else "",
            )
        )
    return events


def _reviews(
    workflows: dict[int, Workflow], viewable: set[int], start: date, end: date
) -> list[CalendarEvent]:
    return [
        CalendarEvent(
            uid=f"review-{w.pk}-{w.next_review_due.isoformat()}",
            kind="review",
            title=f"{w.name}: review due",
            start=w.next_review_due,
            end=None,
            url=_overview(w),
            workflow_name=w.name,
        )
        for pk, w in workflows.items()
        if pk in viewable and w.next_review_due and start <= w.next_review_due < end
    ]


def calendar_feed_get_for_user(user: User) -> CalendarFeed | None:
    """The person's iCalendar feed, if they made one."""
    return CalendarFeed.objects.filter(user=user).first()

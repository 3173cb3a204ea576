"""Reminders of a review that is due: to the owner 14 and 3 days before the due date and on the
day (in the app, and by email in the "reminders" category), and once the grace period after it
has passed (settings.ROLLOUT_REVIEW_GRACE_DAYS, default 7) to the ops leaders and the owner.

Each reminder of a due date happens once: a ReviewReminder row per (workflow, due date, kind),
written under the workflow's row lock with the notification it records. When the scheduler was
down and several reminders fell due meanwhile, only the latest is sent; the earlier ones are
recorded as skipped, so nobody gets three messages about one review at once. A new due date (a
completed review, a changed cadence) starts its own reminders. A retired workflow has no due
date, so none.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone

from accounts.models import EmailCategory, User
from accounts.roles import OPS_LEADERS
from rollout.models import ReminderKind, ReminderOutcome, ReviewReminder, Workflow
from rollout.services.notifications import notification_send

OWNER_REMINDERS = (
    (ReminderKind.DAYS_14, -14),
    (ReminderKind.DAYS_3, -3),
    (ReminderKind.DUE_DAY, 0),
)
TITLE_BEFORE = "Review of “{workflow}” due on {due}"
TITLE_TODAY = "Review of “{workflow}” is due today"
TITLE_OVERDUE = "Review of “{workflow}” is overdue (due {due})"
BODY = (
    "Start the review from its page: the snapshot of the numbers is taken for you; then "
    "re-attest the owner, thresholds, escalation path and data sources, and record the decisions."
)


def grace_days() -> int:
    return settings.ROLLOUT_REVIEW_GRACE_DAYS


def reminder_schedule(due: date) -> list[tuple[str, date]]:
    """(kind, the day it falls due) in order, the ops leaders' last."""
    schedule = [(kind, due + timedelta(days=offset)) for kind, offset in OWNER_REMINDERS]
    return [*schedule, (ReminderKind.OVERDUE, due + timedelta(days=grace_days()))]


def _title(workflow: Workflow, kind: str, due: date) -> str:
    text = formats.date_format(due, "j M Y")
    if kind == ReminderKind.DUE_DAY:
        return TITLE_TODAY.format(workflow=workflow.name)
    if kind == ReminderKind.OVERDUE:
        return TITLE_OVERDUE.format(workflow=workflow.name, due=text)
    return TITLE_BEFORE.format(workflow=workflow.name, due=text)


def _recipients(workflow: Workflow, kind: str) -> list[User]:
    people = [workflow.owner] if workflow.owner.is_active else []
    if kind == ReminderKind.OVERDUE:
        leaders = User.objects.filter(groups__name=OPS_LEADERS, is_active=True).order_by("pk")
        people += [u for u in leaders if u.pk != workflow.owner_id]
    return people


@transaction.atomic
def _remind(workflow_id: int, today: date, now: datetime) -> int:
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow_id)
    due = workflow.next_review_due
    if due is None or workflow.retired_at is not None:
        return 0
    done = set(
        ReviewReminder.objects.filter(workflow=workflow, due_date=due).values_list(
            "kind", flat=True
        )
    )
    fallen_due = [kind for kind, day in reminder_schedule(due) if day <= today]
    if not fallen_due or fallen_due[-1] in done:
        # Nothing due, or the latest due one is already sent: earlier ones no longer matter.
        return 0
    latest = fallen_due[-1]
    rows = [
        ReviewReminder(
            workflow=workflow,
            due_date=due,
            kind=kind,
            outcome=ReminderOutcome.SENT if kind == latest else ReminderOutcome.SKIPPED,
            at=now,
        )
        for kind in fallen_due
        if kind not in done
    ]
    ReviewReminder.objects.bulk_create(rows)
    url = reverse("workflow_reviews", args=[workflow.slug])
    for person in _recipients(workflow, latest):
        notification_send(
            recipient=person,
            workflow=workflow,
            title=_title(workflow, latest, due),
            body=BODY,
            url=url,
            email=EmailCategory.REMINDERS,
        )
    return 1


def review_reminders_send(*, now: datetime | None = None) -> int:
    """Send the reminders that are due (see the module docstring). Returns how many workflows
    were reminded. Safe to run twice or concurrently: the row lock and the recorded rows make
    a second run find nothing to do."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    # The earliest reminder is 14 days ahead: no workflow due later needs one yet.
    candidates = Workflow.objects.filter(
        retired_at__isnull=True, next_review_due__lte=today + timedelta(days=14)
    ).values_list("pk", flat=True)
    return sum(_remind(pk, today, now) for pk in candidates.order_by("pk"))

"""Review reminders at frozen times: 14 and 3 days before, on the day, to ops leaders after the
grace period; each once; after downtime only the latest due one, the earlier ones skipped."""

from datetime import date, datetime, time

import pytest
from django.core import mail
from django.utils import timezone

from rollout.models import Notification, ReviewReminder, Workflow
from rollout.services.retirement import workflow_retire
from rollout.services.review_reminders import review_reminders_send

DUE = date(2027, 3, 31)


def at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(9, 0)))


def on(year: int, month: int, day: int) -> datetime:
    return at(date(year, month, day))


@pytest.fixture
def due(workflow: Workflow) -> Workflow:
    Workflow.objects.filter(pk=workflow.pk).update(next_review_due=DUE)
    workflow.refresh_from_db()
    return workflow


def reminders(workflow: Workflow) -> list[tuple[str, str]]:
    return list(
        ReviewReminder.objects.filter(workflow=workflow)
        .order_by("pk")
        .values_list("kind", "outcome")
    )


def titles(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("pk").values_list("title", flat=True)
    )


def test_each_reminder_once_on_its_day(due, workflow_owner, ops_leader):
    assert review_reminders_send(now=on(2027, 3, 16)) == 0  # 15 days before: nothing yet
    assert review_reminders_send(now=on(2027, 3, 17)) == 1
    assert review_reminders_send(now=on(2027, 3, 17)) == 0  # run twice: sent once
    review_reminders_send(now=on(2027, 3, 28))
    review_reminders_send(now=on(2027, 3, 31))
    review_reminders_send(now=on(2027, 4, 6))  # 6 days late: still within the grace period
    review_reminders_send(now=on(2027, 4, 7))
    assert reminders(due) == [
        ("days_14", "sent"),
        ("days_3", "sent"),
        ("due_day", "sent"),
        ("overdue", "sent"),
    ]
    assert titles(workflow_owner) == [
        "Review of “Support reply drafting” due on 31 Mar 2027",
        "Review of “Support reply drafting” due on 31 Mar 2027",
        "Review of “Support reply drafting” is due today",
        "Review of “Support reply drafting” is overdue (due 31 Mar 2027)",
    ]
    # The ops leaders hear of it only once the grace period is over.
    assert titles(ops_leader) == ["Review of “Support reply drafting” is overdue (due 31 Mar 2027)"]
    notification = Notification.objects.filter(recipient=workflow_owner).first()
    assert notification.url == "/workflows/support-reply-drafting/reviews/"
    assert notification.email_category == "reminders"


def test_after_downtime_only_the_latest_due_reminder_is_sent(due, workflow_owner, ops_leader):
    review_reminders_send(now=on(2027, 3, 17))
    # The scheduler was down from the 18th until the day after the due date.
    assert review_reminders_send(now=on(2027, 4, 1)) == 1
    assert reminders(due) == [("days_14", "sent"), ("days_3", "skipped"), ("due_day", "sent")]
    assert len(titles(workflow_owner)) == 2
    assert titles(ops_leader) == []


def test_emails_go_to_those_who_want_reminders(
    due, workflow_owner, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        review_reminders_send(now=on(2027, 3, 31))
    assert [m.to for m in mail.outbox] == [[workflow_owner.email]]
    assert "is due today" in mail.outbox[0].subject


def test_a_new_due_date_starts_its_own_reminders_and_a_retired_workflow_has_none(
    due, workflow_owner
):
    review_reminders_send(now=on(2027, 3, 31))
    Workflow.objects.filter(pk=due.pk).update(next_review_due=date(2027, 6, 30))
    assert review_reminders_send(now=on(2027, 6, 16)) == 1
    workflow_retire(workflow=due, actor=workflow_owner, reason="Replaced.")
    assert review_reminders_send(now=on(2027, 6, 30)) == 0
    assert ReviewReminder.objects.filter(due_date=date(2027, 6, 30)).count() == 1

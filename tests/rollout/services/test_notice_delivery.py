"""Publishing and delivering change notices: once per recipient and channel (rule 6)."""

import email
import email.policy
import smtplib
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.template.loader import render_to_string
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    DeliveryStatus,
    Follow,
    NoticeDelivery,
    NoticeReceipt,
    NoticeStatus,
)
from rollout.selectors.inbox import inbox_list_for_user
from rollout.services import notice_delivery as delivery_service
from rollout.services.cohorts import cohort_member_remove
from rollout.services.notice_delivery import (
    MAX_ATTEMPTS,
    MSG_INTERRUPTED,
    MSG_NOT_FAILED,
    notice_deliveries_send,
    notice_delivery_retry,
    notice_reminders_send,
    notices_publish_due,
)
from tests.db_faults import postgres_only, terminate_backend
from tests.factories import UserFactory, executive_user
from tests.rollout.notice_fixtures import claimed_group, make_notice, make_scene
from tests.threads import at_once

pytestmark = pytest.mark.django_db


def _deliveries(notice, **filters):
    return sorted(
        NoticeDelivery.objects.filter(notice=notice, **filters).values_list(
            "recipient__email", "channel", "kind", "status"
        )
    )


def test_publishing_creates_one_receipt_per_recipient_and_one_delivery_per_channel():
    scene = make_scene()
    notice = make_notice(scene)
    later = make_notice(scene, title="Later", publish_in=timedelta(hours=1))

    assert notices_publish_due() == 1

    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PUBLISHED
    assert notice.published_at is not None
    receipts = NoticeReceipt.objects.filter(notice=notice).values_list(
        "recipient__email", "cohort__name"
    )
    assert sorted(receipts) == [
        ("amy@example.com", "EU tier-1 agents"),
        ("ben@example.com", "EU tier-1 agents"),
        ("cat@example.com", "UK tier-1 agents"),
    ]
    # Ben turned email off: the inbox only.
    assert _deliveries(notice) == [
        ("amy@example.com", "email", "notice", "pending"),
        ("amy@example.com", "in_app", "notice", "pending"),
        ("ben@example.com", "in_app", "notice", "pending"),
        ("cat@example.com", "email", "notice", "pending"),
        ("cat@example.com", "in_app", "notice", "pending"),
    ]
    entry = ActivityEntry.objects.filter(verb="published notice").get()
    assert entry.target == notice.title
    assert entry.changes == {"status": ["Scheduled", "Published"], "recipients": ["—", "3"]}
    later.refresh_from_db()
    assert later.status == NoticeStatus.SCHEDULED
    # Running again publishes nothing and adds nothing.
    assert notices_publish_due() == 0
    assert NoticeDelivery.objects.count() == 5


def test_only_active_people_and_followers_who_may_see_the_workflow_receive_it():
    scene = make_scene()
    scene.cat.is_active = False
    scene.cat.save()
    boss = executive_user(email="boss@example.com")
    stranger = UserFactory(email="stranger@example.com")
    Follow.objects.create(workflow=scene.workflow, user=boss)
    Follow.objects.create(workflow=scene.workflow, user=stranger)  # no access any more
    notice = make_notice(scene, audience="everyone", include_followers=True)
    notice.cohorts.clear()

    notices_publish_due()

    receipts = NoticeReceipt.objects.filter(notice=notice)
    assert sorted(receipts.values_list("recipient__email", "cohort__name")) == [
        ("amy@example.com", "EU tier-1 agents"),
        ("ben@example.com", "EU tier-1 agents"),
        ("boss@example.com", None),
    ]


def test_sending_delivers_each_once_with_html_and_text_and_a_link_to_the_inbox():
    scene = make_scene()
    notice = make_notice(scene)
    notices_publish_due()

    with override_settings(SITE_URL="https://rollout.example.com"):
        assert notice_deliveries_send() == 5

    assert {d[3] for d in _deliveries(notice)} == {"sent"}
    assert sorted(m.to[0] for m in mail.outbox) == ["amy@example.com", "cat@example.com"]
    message = next(m for m in mail.outbox if m.to == ["amy@example.com"])
    receipt = NoticeReceipt.objects.get(notice=notice, recipient=scene.amy)
    link = f"https://rollout.example.com/inbox/{receipt.pk}/"
    # The subject is the notice's title, said once; the body's first lines name the workflow.
    assert message.subject == "[Rollout] New reply prompt from Monday"
    assert "Support reply drafting · Prompt change" in message.body
    assert link in message.body
    assert "We **shorten** the drafts." in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    assert "<strong>shorten</strong>" in html
    # A retry finds everything sent and does nothing.
    assert notice_deliveries_send() == 0
    assert len(mail.outbox) == 2
    assert [r.notice for r in inbox_list_for_user(scene.amy)] == [notice]


def test_each_email_carries_the_one_click_link_of_its_own_category():
    from accounts.unsubscribe import unsubscribe_token_read

    scene = make_scene()
    now = timezone.now()
    notice = make_notice(scene, cohorts=[scene.uk], requires_ack=True, reminder_hours=24)
    notices_publish_due(now=now)
    remind_at = notice.effective_at - timedelta(hours=24)
    with override_settings(SITE_URL="https://rollout.example.com"):
        notice_deliveries_send(now=now)
        notice_reminders_send(now=remind_at)
        notice_deliveries_send(now=remind_at)

    prefix = "<https://rollout.example.com/email/unsubscribe/"
    categories = []
    for message in mail.outbox:
        raw = message.message().as_bytes()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        link = parsed["List-Unsubscribe"]
        assert link.startswith(prefix) and link.endswith("/>")
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"\r\nList-Unsubscribe: {link}\r\n".encode() in raw  # one line
        categories.append(unsubscribe_token_read(link.removeprefix(prefix)[:-2]))
    assert categories == [(scene.cat.pk, "notices"), (scene.cat.pk, "reminders")]


def test_reminders_off_skips_the_reminder_email_but_not_the_notices():
    scene = make_scene()
    scene.cat.email_reminders = False
    scene.cat.save()
    now = timezone.now()
    notice = make_notice(scene, cohorts=[scene.uk], requires_ack=True, reminder_hours=24)
    notices_publish_due(now=now)
    notice_deliveries_send(now=now)
    remind_at = notice.effective_at - timedelta(hours=24)
    notice_reminders_send(now=remind_at)
    notice_deliveries_send(now=remind_at)

    assert _deliveries(notice) == [
        ("cat@example.com", "email", "notice", "sent"),
        ("cat@example.com", "in_app", "notice", "sent"),
        ("cat@example.com", "in_app", "reminder", "sent"),
    ]


def test_reminders_turned_off_after_they_were_queued_are_skipped_at_send_time():
    scene = make_scene()
    now = timezone.now()
    notice = make_notice(scene, cohorts=[scene.uk], requires_ack=True, reminder_hours=24)
    notices_publish_due(now=now)
    notice_deliveries_send(now=now)
    remind_at = notice.effective_at - timedelta(hours=24)
    notice_reminders_send(now=remind_at)
    scene.cat.email_reminders = False
    scene.cat.email_notices = True
    scene.cat.save()
    mail.outbox.clear()

    notice_deliveries_send(now=remind_at)

    assert _deliveries(notice, kind="reminder") == [
        ("cat@example.com", "email", "reminder", "skipped"),
        ("cat@example.com", "in_app", "reminder", "sent"),
    ]
    assert mail.outbox == []


def test_someone_removed_from_the_cohort_before_sending_is_skipped():
    scene = make_scene()
    notice = make_notice(scene)
    notices_publish_due()
    cohort_member_remove(cohort=scene.uk, user=scene.cat, actor=scene.owner)

    notice_deliveries_send()

    assert _deliveries(notice, recipient=scene.cat) == [
        ("cat@example.com", "email", "notice", "skipped"),
        ("cat@example.com", "in_app", "notice", "skipped"),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == ["amy@example.com"]
    assert list(inbox_list_for_user(scene.cat)) == []


def test_turning_email_off_before_sending_skips_the_email_only():
    scene = make_scene()
    notice = make_notice(scene)
    notices_publish_due()
    scene.amy.email_notices = False
    scene.amy.save()

    notice_deliveries_send()

    assert _deliveries(notice, recipient=scene.amy) == [
        ("amy@example.com", "email", "notice", "skipped"),
        ("amy@example.com", "in_app", "notice", "sent"),
    ]


class _RefusingBackend:
    """A mail backend whose server refuses Amy's address (450: for now; 550: for good)."""

    code = 450

    def __init__(self, *args, **kwargs):
        self.opened = 0

    def open(self):
        self.opened += 1

    def close(self):
        pass

    def send_messages(self, messages):
        if messages[0].to == ["amy@example.com"]:
            raise smtplib.SMTPRecipientsRefused({"amy@example.com": (self.code, b"Try later")})
        mail.outbox.append(messages[0])
        return 1


def test_a_failed_email_is_marked_with_the_reason_and_retried_with_backoff(monkeypatch):
    scene = make_scene()
    make_notice(scene)
    notices_publish_due()
    monkeypatch.setattr(
        delivery_service.mailers.__class__, "default", property(lambda self: _RefusingBackend())
    )
    now = timezone.now()

    notice_deliveries_send(now=now)

    failed = NoticeDelivery.objects.get(recipient=scene.amy, channel="email")
    assert failed.status == DeliveryStatus.FAILED
    assert failed.attempts == 1
    assert failed.last_error.startswith("SMTPRecipientsRefused: ")
    assert [m.to for m in mail.outbox] == [["cat@example.com"]]
    # Not before the backoff (1 minute after the first attempt); then again.
    notice_deliveries_send(now=now + timedelta(seconds=30))
    failed.refresh_from_db()
    assert failed.attempts == 1
    notice_deliveries_send(now=now + timedelta(minutes=1, seconds=1))
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 2)


def test_an_address_refused_for_good_fails_at_once_and_is_not_retried(monkeypatch):
    scene = make_scene()
    make_notice(scene)
    notices_publish_due()
    monkeypatch.setattr(_RefusingBackend, "code", 550)
    monkeypatch.setattr(
        delivery_service.mailers.__class__, "default", property(lambda self: _RefusingBackend())
    )
    now = timezone.now()

    notice_deliveries_send(now=now)
    notice_deliveries_send(now=now + timedelta(hours=1))

    failed = NoticeDelivery.objects.get(recipient=scene.amy, channel="email")
    assert failed.status == DeliveryStatus.FAILED
    assert failed.last_error.startswith("SMTPRecipientsRefused: ")
    assert [m.to for m in mail.outbox] == [["cat@example.com"]]


def test_a_crash_between_sending_and_marking_never_resends_on_its_own(monkeypatch):
    """The message went out, then the worker died before marking it sent: the row stays
    `sending`, later runs leave it alone, and after a while it is reported as interrupted for
    the owner to retry (who accepts it may arrive twice)."""
    scene = make_scene()
    notice = make_notice(scene, cohorts=[scene.eu])
    notices_publish_due()

    monkeypatch.setattr(delivery_service, "_advance", _crash_marking(after=1))
    with pytest.raises(RuntimeError):
        notice_deliveries_send()
    monkeypatch.undo()
    assert len(mail.outbox) == 1
    email = NoticeDelivery.objects.get(notice=notice, channel="email")
    assert email.status == DeliveryStatus.SENDING

    assert notice_deliveries_send() == 0
    assert len(mail.outbox) == 1

    notice_deliveries_send(now=timezone.now() + timedelta(minutes=11))
    email.refresh_from_db()
    assert (email.status, email.last_error) == (DeliveryStatus.FAILED, MSG_INTERRUPTED)
    notice_deliveries_send(now=timezone.now() + timedelta(hours=5))
    assert len(mail.outbox) == 1  # never automatically

    notice_delivery_retry(delivery=email, actor=scene.owner)
    assert notice_deliveries_send() == 1
    assert len(mail.outbox) == 2
    email.refresh_from_db()
    assert email.status == DeliveryStatus.SENT
    assert ActivityEntry.objects.filter(verb="retried delivery of notice").count() == 1


def _many(scene, count: int) -> None:
    """`count` more people in the UK cohort (all with email on)."""
    from accounts.models import User
    from rollout.services.cohorts import cohort_members_add

    many = User.objects.bulk_create(
        [User(email=f"agent{i:03d}@example.com", display_name=f"Agent {i}") for i in range(count)]
    )
    cohort_members_add(cohort=scene.uk, users=many, actor=scene.owner)


def _crash_marking(after: int):
    """A stand-in for the sender's _advance that kills the worker when it is about to mark the
    `after`-th message sent: that message went out, its mark never happens, and nothing the
    worker would have done after (its `finally` blocks included) touches the database."""
    real = delivery_service._advance
    marks = []

    def advance(sent, next_up, now=None):
        if sent is not None:
            marks.append(sent.pk)
        if len(marks) >= after:
            raise RuntimeError("worker killed")
        return real(sent, next_up, now)

    return advance


def test_a_crash_leaves_one_email_in_doubt_and_the_rest_is_sent_once(monkeypatch):
    """Emails are claimed a group at a time (`queued`) and marked one by one as they go out: a
    worker dying between a send and its mark leaves that one message `sending` (in doubt, never
    resent); the rest of its group is `queued`, due again once the claim is stale; the other
    groups stay pending."""
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    monkeypatch.setattr(delivery_service, "EMAIL_GROUP", 20)
    scene = make_scene()
    _many(scene, 48)  # with Amy and Cat: 50 emails, three groups of 20
    notice = make_notice(scene)
    notices_publish_due()

    monkeypatch.setattr(delivery_service, "_advance", _crash_marking(after=5))
    with pytest.raises(RuntimeError):
        notice_deliveries_send()
    monkeypatch.undo()

    emails = NoticeDelivery.objects.filter(notice=notice, channel="email")
    statuses = Counter(emails.values_list("status", flat=True))
    assert statuses == {"sent": 4, "sending": 1, "queued": 15, "pending": 30}
    assert len(mail.outbox) == 5
    in_doubt = emails.get(status=DeliveryStatus.SENDING)
    assert set(
        NoticeDelivery.objects.filter(notice=notice, channel="in_app").values_list(
            "status", flat=True
        )
    ) == {DeliveryStatus.SENT}  # the inbox first, before any email

    assert notice_deliveries_send() == 30  # the claimed ones wait until the claim is stale
    assert notice_deliveries_send(now=timezone.now() + timedelta(minutes=2)) == 15
    notice_deliveries_send(now=timezone.now() + timedelta(minutes=11))

    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients)) == 50
    assert list(emails.filter(status=DeliveryStatus.FAILED)) == [in_doubt]
    in_doubt.refresh_from_db()
    assert in_doubt.last_error == MSG_INTERRUPTED
    assert emails.filter(status=DeliveryStatus.SENT).count() == 49
    assert set(emails.values_list("attempts", flat=True)) == {1, MAX_ATTEMPTS}


def test_a_sender_whose_claim_went_stale_leaves_its_rows_to_whoever_took_them(monkeypatch):
    """A sender so slow that its claimed group went stale (released, then claimed and sent by
    another run) sends none of those rows itself: the move from `queued` to `sending` decides
    who sends, so each email goes out once."""
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    scene = make_scene()
    _many(scene, 3)  # with Amy and Cat: five emails, one group
    notice = make_notice(scene)
    now = timezone.now()
    slow_group = claimed_group(now)
    assert len(slow_group) == 5

    assert notice_deliveries_send(now=now + timedelta(minutes=2)) == 5  # another run
    outbox = delivery_service._Outbox()
    try:
        assert delivery_service._send_emails(slow_group, outbox) == (0, False)
    finally:
        outbox.close()

    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients)) == 5
    emails = NoticeDelivery.objects.filter(notice=notice, channel="email")
    assert set(emails.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}


def test_stopped_mid_group_the_sent_are_marked_and_the_untried_are_due_again(monkeypatch):
    """The soft time limit (or a database gone for good) stops the run in the middle of a group:
    what went out is marked sent, the message in flight stays in doubt, and the rest of the
    group goes back to pending with no attempt counted."""
    from celery.exceptions import SoftTimeLimitExceeded

    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    scene = make_scene()
    _many(scene, 3)  # with Amy and Cat: five emails, one group
    notice = make_notice(scene)
    notices_publish_due()

    class StoppedAtTheThird(locmem.EmailBackend):
        def send_messages(self, messages):
            if len(mail.outbox) == 2:
                raise SoftTimeLimitExceeded()
            return super().send_messages(messages)

    monkeypatch.setattr(
        delivery_service.mailers.__class__, "default", property(lambda self: StoppedAtTheThird())
    )
    with pytest.raises(SoftTimeLimitExceeded):
        notice_deliveries_send()

    emails = NoticeDelivery.objects.filter(notice=notice, channel="email").order_by(
        "created_at", "pk"
    )
    assert [(e.status, e.attempts) for e in emails] == [
        (DeliveryStatus.SENT, 1),
        (DeliveryStatus.SENT, 1),
        (DeliveryStatus.SENDING, 1),  # in flight: in doubt
        (DeliveryStatus.PENDING, 0),
        (DeliveryStatus.PENDING, 0),
    ]


def test_the_sender_needs_a_few_queries_per_group_of_emails_and_one_per_email(
    django_assert_max_num_queries,
):
    scene = make_scene()
    _many(scene, 98)  # 101 people: 101 in the app, 100 emails in five groups
    make_notice(scene)
    notices_publish_due()

    # 142: the stale checks (2); the inbox in one batch (lock and read, audience, mark: 6 with
    # the savepoint and its release); per group of 20 emails lock and read, audience, claim (5,
    # and the retries asked for with the first) and one statement per email, which marks the one
    # before sent and begins it, and the group's last mark (21); the last, empty, claim (3).
    with django_assert_max_num_queries(142):
        assert notice_deliveries_send() == 201
    assert len(mail.outbox) == 100


def test_retrying_a_delivery_that_did_not_fail_is_refused():
    scene = make_scene()
    make_notice(scene)
    notices_publish_due()
    delivery = NoticeDelivery.objects.first()
    with pytest.raises(ApplicationError) as error:
        notice_delivery_retry(delivery=delivery, actor=scene.owner)
    assert error.value.message == MSG_NOT_FAILED


def test_the_broker_down_at_publish_time_only_delays_delivery(
    monkeypatch, django_capture_on_commit_callbacks
):
    from rollout import tasks

    scene = make_scene()
    notice = make_notice(scene)

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.send_notice_deliveries, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        notices_publish_due()
    assert {d[3] for d in _deliveries(notice)} == {"pending"}
    assert mail.outbox == []

    monkeypatch.undo()
    assert tasks.deliver_notices() == 5  # the every-minute sweep
    assert {d[3] for d in _deliveries(notice)} == {"sent"}
    assert len(mail.outbox) == 2


def test_publishing_wakes_the_sender_after_commit(django_capture_on_commit_callbacks):
    scene = make_scene()
    notice = make_notice(scene)
    with django_capture_on_commit_callbacks(execute=True):
        notices_publish_due()
    assert {d[3] for d in _deliveries(notice)} == {"sent"}


@override_settings(ROLLOUT_NOTICE_SENDERS=3)
def test_a_fan_out_wakes_as_many_senders_as_configured_a_retry_one(monkeypatch):
    """Publishing wakes ROLLOUT_NOTICE_SENDERS runs, so that several workers share a large
    fan-out; a retry of one delivery needs one."""
    woken: list[str] = []
    monkeypatch.setattr(delivery_service, "wake", woken.append)
    scene = make_scene()
    make_notice(scene)

    notices_publish_due()
    assert woken == ["rollout.tasks.send_notice_deliveries"] * 3

    woken.clear()
    failed = NoticeDelivery.objects.filter(channel="email").first()
    NoticeDelivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)
    notice_delivery_retry(delivery=failed, actor=scene.owner)
    assert woken == ["rollout.tasks.send_notice_deliveries"]


def test_reminders_go_once_to_those_who_have_not_acknowledged():
    scene = make_scene()
    now = timezone.now()
    notice = make_notice(scene, requires_ack=True, reminder_hours=24)
    notices_publish_due(now=now)
    notice_deliveries_send(now=now)
    NoticeReceipt.objects.filter(recipient=scene.amy).update(acknowledged_at=now)
    mail.outbox.clear()
    remind_at = notice.effective_at - timedelta(hours=24)

    assert notice_reminders_send(now=remind_at - timedelta(minutes=1)) == 0
    assert notice_reminders_send(now=remind_at) == 2
    assert notice_reminders_send(now=remind_at + timedelta(hours=1)) == 0
    notice_deliveries_send(now=remind_at)

    assert _deliveries(notice, kind="reminder") == [
        ("ben@example.com", "in_app", "reminder", "sent"),
        ("cat@example.com", "email", "reminder", "sent"),
        ("cat@example.com", "in_app", "reminder", "sent"),
    ]
    assert [m.to for m in mail.outbox] == [["cat@example.com"]]
    assert mail.outbox[0].subject.startswith("[Rollout] Reminder: ")
    receipt = NoticeReceipt.objects.get(notice=notice, recipient=scene.cat)
    assert receipt.reminded_at is not None
    notice.refresh_from_db()
    assert notice.reminded_at == remind_at


def test_no_reminder_for_a_notice_published_inside_the_reminder_window():
    scene = make_scene()
    now = timezone.now()
    make_notice(scene, requires_ack=True, reminder_hours=48, effective_in=timedelta(hours=24))
    notices_publish_due(now=now)
    assert notice_reminders_send(now=now) == 0
    assert not NoticeDelivery.objects.filter(kind="reminder").exists()


def test_a_reminder_to_someone_who_acknowledged_before_it_was_sent_is_skipped():
    scene = make_scene()
    now = timezone.now()
    notice = make_notice(scene, cohorts=[scene.uk], requires_ack=True, reminder_hours=24)
    notices_publish_due(now=now)
    notice_deliveries_send(now=now)
    remind_at = notice.effective_at - timedelta(hours=24)
    notice_reminders_send(now=remind_at)
    NoticeReceipt.objects.filter(recipient=scene.cat).update(acknowledged_at=remind_at)
    mail.outbox.clear()

    notice_deliveries_send(now=remind_at)

    assert {d[3] for d in _deliveries(notice, kind="reminder")} == {"skipped"}
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_batch_deliver_each_exactly_once(monkeypatch):
    """Two threads, each its own database connection, sending the same pending rows at once."""
    if connection.vendor != "postgresql":
        pytest.skip("Row locks with SKIP LOCKED need PostgreSQL (DATABASE_URL=postgres://...).")
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)  # the workers send
    scene = make_scene()
    extra = [UserFactory(email=f"agent{i}@example.com") for i in range(12)]
    from rollout.services.cohorts import cohort_members_add

    cohort_members_add(cohort=scene.uk, users=extra, actor=scene.owner)
    notice = make_notice(scene)
    notices_publish_due()
    expected = NoticeDelivery.objects.filter(notice=notice).count()

    def drain() -> int:
        total = 0
        while NoticeDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            total += notice_deliveries_send(limit=4)
        return total

    assert sum(at_once(drain)) == expected
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients)) == 14  # Amy, Cat and the 12 (Ben: no email)
    assert set(NoticeDelivery.objects.filter(notice=notice).values_list("status", flat=True)) == {
        DeliveryStatus.SENT
    }


def test_a_notice_whose_title_breaks_the_header_fails_alone_and_the_batch_goes_on():
    """Issue 13, item 1: a title with CR/LF stored before validation existed. Django refuses the
    subject at send time; that notice's emails fail with the reason (never retried: it will not
    go away) and everyone behind it gets the normal notice exactly once."""
    scene = make_scene()
    many = [UserFactory(email=f"agent{i}@example.com") for i in range(30)]
    from rollout.services.cohorts import cohort_members_add

    cohort_members_add(cohort=scene.uk, users=many, actor=scene.owner)
    bad = make_notice(scene, title="Bad\r\nBcc: everyone@example.com", cohorts=[scene.eu])
    good = make_notice(scene, title="Normal notice")
    notices_publish_due()

    notice_deliveries_send()

    bad_email = NoticeDelivery.objects.get(notice=bad, channel="email")
    assert bad_email.status == DeliveryStatus.FAILED
    assert "linefeed or carriage return" in bad_email.last_error
    assert set(NoticeDelivery.objects.filter(notice=good).values_list("status", flat=True)) == {
        DeliveryStatus.SENT
    }
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients)) == 32  # Amy, Cat and the 30 (Ben: no email)
    assert all(m.subject == "[Rollout] Normal notice" for m in mail.outbox)
    # The failure will not go away: later runs do not try it again.
    notice_deliveries_send(now=timezone.now() + timedelta(hours=1))
    bad_email.refresh_from_db()
    assert bad_email.status == DeliveryStatus.FAILED
    assert "linefeed or carriage return" in bad_email.last_error
    assert len(mail.outbox) == 32


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_before_the_mark_reconnects_and_marks_the_email_sent(monkeypatch):
    """Issue 13, item 7: the email went out, then the database connection died under the
    mark-sent UPDATE. The sender reconnects and marks it; nothing is reported interrupted and
    nothing is sent twice. On PostgreSQL the backend is really terminated (pg_terminate_backend
    from a second connection); on SQLite the UPDATE raises the OperationalError a lost connection
    raises."""
    from django.db import OperationalError

    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)  # this test sends
    scene = make_scene()
    notice = make_notice(scene, cohorts=[scene.eu])
    notices_publish_due()
    cut: list[str] = []

    def lose_connection(execute, sql, params, many, context):
        marking = sql.startswith("UPDATE") and "status = 'sent'" in sql
        if marking and not cut:
            cut.append(sql)
            if connection.vendor != "postgresql":
                raise OperationalError("server closed the connection unexpectedly")
            terminate_backend(connection)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(lose_connection):
            assert notice_deliveries_send() == 3  # Amy and Ben in the app, Amy by email
    finally:
        if connection.connection is not None and not connection.is_usable():
            connection.close()  # so a failing run still lets the test database be flushed

    assert cut, "the mark never ran"
    email = NoticeDelivery.objects.get(notice=notice, channel="email")
    assert (email.status, email.last_error) == (DeliveryStatus.SENT, "")
    assert [m.to for m in mail.outbox] == [["amy@example.com"]]
    notice_deliveries_send(now=timezone.now() + timedelta(minutes=11))
    email.refresh_from_db()
    assert email.status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1


def test_the_publish_wake_up_alone_delivers_a_fan_out_larger_than_one_batch(
    django_capture_on_commit_callbacks,
):
    """Issue 13, item 8: the sender keeps going while rows remain, so a notice reaches its last
    person without waiting for the once-a-minute sweep. 260 more people: 522 email and in-app
    rows, more than one batch of 500."""
    from accounts.models import User
    from rollout.services.cohorts import cohort_members_add

    scene = make_scene()
    many = User.objects.bulk_create(
        [User(email=f"agent{i}@example.com", display_name=f"Agent {i}") for i in range(260)]
    )
    cohort_members_add(cohort=scene.uk, users=many, actor=scene.owner)
    notice = make_notice(scene)

    with django_capture_on_commit_callbacks(execute=True):
        notices_publish_due()  # wakes the sender (run in-process in tests)

    statuses = NoticeDelivery.objects.filter(notice=notice).values_list("status", flat=True)
    assert len(statuses) == 2 * 262 + 1  # Ben: in the app only
    assert set(statuses) == {DeliveryStatus.SENT}
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients)) == 262


def test_a_run_out_of_time_hands_the_rest_to_a_new_run(monkeypatch):
    scene = make_scene()
    make_notice(scene)
    notices_publish_due()
    woken: list[bool] = []
    monkeypatch.setattr(delivery_service, "wake_sender", lambda: woken.append(True))

    assert notice_deliveries_send(limit=2, budget=0) == 2  # one batch, then hand over

    assert woken == [True]
    assert NoticeDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 3


def test_reminders_of_one_notice_failing_never_hold_back_another_notices(monkeypatch):
    """Issue 13, "the same for the reminder sender": a notice whose reminders cannot be queued
    (here: an error while queueing them) is left for the next sweep and logged; the other notice's
    reminders are queued and sent; a reminder whose subject Django refuses fails alone."""
    scene = make_scene()
    now = timezone.now()
    broken = make_notice(scene, title="Broken", requires_ack=True, reminder_hours=24)
    poison = make_notice(
        scene, title="Poison\r\nBcc: all@example.com", requires_ack=True, reminder_hours=24
    )
    fine = make_notice(scene, title="Fine", requires_ack=True, reminder_hours=24)
    notices_publish_due(now=now)
    notice_deliveries_send(now=now)
    mail.outbox.clear()
    remind_at = fine.effective_at - timedelta(hours=24) + timedelta(minutes=1)
    real_create = delivery_service._create_deliveries

    def create(notice, *args, **kwargs):
        if notice.pk == broken.pk:
            raise RuntimeError("a bug")
        return real_create(notice, *args, **kwargs)

    monkeypatch.setattr(delivery_service, "_create_deliveries", create)

    assert notice_reminders_send(now=remind_at) == 6  # Amy, Ben, Cat for each of two notices
    notice_deliveries_send(now=remind_at)

    broken.refresh_from_db()
    assert broken.reminded_at is None  # tried again by the next sweep
    assert _deliveries(fine, kind="reminder", channel="email") == [
        ("amy@example.com", "email", "reminder", "sent"),
        ("cat@example.com", "email", "reminder", "sent"),
    ]
    assert {d[3] for d in _deliveries(poison, kind="reminder", channel="email")} == {"failed"}
    assert sorted(m.to[0] for m in mail.outbox) == ["amy@example.com", "cat@example.com"]
    assert all(m.subject == "[Rollout] Reminder: Fine" for m in mail.outbox)


def _email_as_rendered_per_recipient(delivery, receipt):
    """The email as the sender built it before the mail merge: both templates rendered for each
    recipient with the recipient in the context."""
    notice = delivery.notice
    is_reminder = delivery.kind == "reminder"
    context = {
        "notice": notice,
        "workflow": notice.workflow,
        "recipient": delivery.recipient,
        "is_reminder": is_reminder,
        "link": settings.SITE_URL + reverse("inbox_notice", kwargs={"receipt_id": receipt.pk}),
    }
    prefix = "Reminder: " if is_reminder else ""
    return (
        f"[Rollout] {prefix}{notice.title}"[:250],
        render_to_string("rollout/email/notice.txt", context),
        render_to_string("rollout/email/notice.html", context),
    )


@pytest.mark.parametrize("merged", [True, False], ids=["merged", "template-not-mergeable"])
@pytest.mark.parametrize("kind", ["notice", "reminder"])
@override_settings(SITE_URL="https://rollout.example.com/r?a=1&b='2'")
def test_each_email_is_the_text_rendering_the_templates_for_its_recipient_gives(
    kind, merged, monkeypatch
):
    """The templates are rendered once per notice and filled in per recipient: byte for byte
    what rendering them for each recipient gives, escaping included (names, title, link). A
    template the merge cannot fill in is rendered per recipient."""
    from rollout.services.cohorts import cohort_members_add

    if not merged:
        monkeypatch.setattr(delivery_service, "merge_render", lambda *args: None)

    scene = make_scene()
    scene.workflow.name = 'Fish & <chips> "drafting"'
    scene.workflow.save()
    people = [
        UserFactory(email="zoe@example.com", display_name='Zoë <b>"Bold"</b> & O\'Brien'),
        UserFactory(email="x&y@example.com", display_name="<script>alert(1)</script>"),
    ]
    cohort_members_add(cohort=scene.uk, users=people, actor=scene.owner)
    notice = make_notice(
        scene,
        title="Prompts <b>changed</b> & “quoted”",
        body="We **shorten** the drafts & <tags>.",
        urgent=True,
        requires_ack=True,
        reminder_hours=24,
    )
    notices_publish_due()
    rendered: dict = {}
    deliveries = NoticeDelivery.objects.filter(notice=notice, channel="email").select_related(
        "notice__workflow", "recipient"
    )
    assert len(deliveries) == 4  # Amy, Cat and the two above (Ben: no email)
    for delivery in deliveries:
        receipt = NoticeReceipt.objects.get(notice=notice, recipient=delivery.recipient)
        delivery.kind = kind
        delivery.receipt_id = receipt.pk  # as the sender reads it

        message = delivery_service._email_message(delivery, rendered)

        subject, text, html = _email_as_rendered_per_recipient(delivery, receipt)
        assert message.subject == subject
        assert message.body == text
        assert message.alternatives[0] == (html, "text/html")
        assert message.to == [delivery.recipient.email]
    # Rendered once, and merged rather than rendered per recipient (when it can be).
    [email] = rendered.values()
    assert (email.text is not None, email.html is not None) == (merged, merged)


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_two_workers_on_one_notice_send_each_email_once_and_leave_none_unsent(monkeypatch):
    """Two sender runs at once, each on its own database connection, on a notice to 300 people:
    every email goes out exactly once, both workers share the work, every row ends sent."""
    from accounts.models import User
    from rollout.services.cohorts import cohort_members_add

    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)  # the workers send
    scene = make_scene()
    many = User.objects.bulk_create(
        [User(email=f"agent{i}@example.com", display_name=f"Agent {i}") for i in range(297)]
    )
    cohort_members_add(cohort=scene.uk, users=many, actor=scene.owner)  # with Amy, Ben, Cat: 300
    notice = make_notice(scene)
    notices_publish_due()
    sent_by: dict[str, list[str]] = {}
    lock = threading.Lock()

    class Recording(locmem.EmailBackend):
        """Records which worker sent what, taking a moment per message as a server would."""

        def send_messages(self, messages):
            time.sleep(0.001)
            with lock:
                for message in messages:
                    # A run's own lanes (threads named after it) count as the run.
                    run = threading.current_thread().name.split(" lane ")[0]
                    sent_by.setdefault(message.to[0], []).append(run)
            return super().send_messages(messages)

    monkeypatch.setattr(
        delivery_service.mailers.__class__, "default", property(lambda self: Recording())
    )
    counts = at_once(notice_deliveries_send)
    rows = NoticeDelivery.objects.filter(notice=notice)
    assert sum(counts) == rows.count() == 300 + 299  # Ben: in the app only
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    wanted = set(rows.filter(channel="email").values_list("recipient__email", flat=True))
    assert len(wanted) == 299
    assert set(sent_by) == wanted
    assert all(len(workers) == 1 for workers in sent_by.values()), "an email sent twice"
    assert len(mail.outbox) == 299
    by_worker = {workers[0] for workers in sent_by.values()}
    assert by_worker == {"worker-0", "worker-1"}, "one worker did everything"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_run_sends_over_several_lanes_each_email_once(monkeypatch, settings):
    """On PostgreSQL one sender run sends a fan-out over ROLLOUT_NOTICE_EMAIL_LANES connections
    at once (threads, each claiming groups of its own): every email goes out once, the lanes
    share the work, and their database connections are closed when they are done."""
    from accounts.models import User
    from rollout.services.cohorts import cohort_members_add

    settings.ROLLOUT_NOTICE_EMAIL_LANES = 3
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    monkeypatch.setattr(delivery_service, "EMAIL_GROUP", 20)  # six groups for three lanes
    scene = make_scene()
    many = User.objects.bulk_create(
        [User(email=f"agent{i}@example.com", display_name=f"Agent {i}") for i in range(117)]
    )
    cohort_members_add(cohort=scene.uk, users=many, actor=scene.owner)  # with Amy, Ben, Cat: 120
    notice = make_notice(scene)
    notices_publish_due()
    sent_by: dict[str, list[int]] = {}
    lock = threading.Lock()

    class Recording(locmem.EmailBackend):
        def send_messages(self, messages):
            time.sleep(0.002)  # a mail server's moment: the lanes overlap
            with lock:
                for message in messages:
                    sent_by.setdefault(message.to[0], []).append(threading.get_ident())
            return super().send_messages(messages)

    monkeypatch.setattr(
        delivery_service.mailers.__class__, "default", property(lambda self: Recording())
    )

    assert notice_deliveries_send() == 120 + 119  # Ben: in the app only

    rows = NoticeDelivery.objects.filter(notice=notice)
    assert set(rows.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}
    assert len(sent_by) == 119
    assert all(len(lanes) == 1 for lanes in sent_by.values()), "an email sent twice"
    assert len({lane for lanes in sent_by.values() for lane in lanes}) == 3


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_lane_that_fails_stops_the_run_and_its_error_is_raised(monkeypatch, settings):
    """An error in another lane (its database gone, say) reaches the task, as an error in the
    run's own thread would; the other lanes stop and nothing is sent twice."""
    from django.db import OperationalError

    from accounts.models import User
    from rollout.services.cohorts import cohort_members_add

    settings.ROLLOUT_NOTICE_EMAIL_LANES = 2
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    scene = make_scene()
    many = User.objects.bulk_create(
        [User(email=f"agent{i}@example.com", display_name=f"Agent {i}") for i in range(57)]
    )
    cohort_members_add(cohort=scene.uk, users=many, actor=scene.owner)
    make_notice(scene)
    notices_publish_due()
    main = threading.get_ident()
    real_claim = delivery_service._claim

    def claim(*args, **kwargs):
        if threading.get_ident() != main:
            raise OperationalError("the lane's database is gone")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(delivery_service, "_claim", claim)
    with pytest.raises(OperationalError, match="the lane's database is gone"):
        notice_deliveries_send()
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients))


def test_a_group_cut_short_by_the_deadline_goes_back_to_due(monkeypatch):
    """A group of EMAIL_GROUP takes long to send through a slow mail server: past the run's
    deadline the sender stops between two messages (never in the middle of one) and the rows
    it did not reach are due again, no attempt counted, for the run it hands over to."""
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    scene = make_scene()
    _many(scene, 3)  # with Amy and Cat: five emails, one group
    notice = make_notice(scene)
    now = timezone.now()
    group = claimed_group(now)
    outbox = delivery_service._Outbox()
    clock = iter([0.0, 0.0, 10.0])  # two messages before the deadline, then past it

    monkeypatch.setattr(delivery_service.time, "monotonic", lambda: next(clock, 10.0))
    try:
        assert delivery_service._send_emails(group, outbox, deadline=5.0) == (2, False)
    finally:
        outbox.close()

    emails = NoticeDelivery.objects.filter(notice=notice, channel="email").order_by(
        "created_at", "pk"
    )
    assert [(e.status, e.attempts) for e in emails] == [
        (DeliveryStatus.SENT, 1),
        (DeliveryStatus.SENT, 1),
        (DeliveryStatus.PENDING, 0),
        (DeliveryStatus.PENDING, 0),
        (DeliveryStatus.PENDING, 0),
    ]
    assert len(mail.outbox) == 2

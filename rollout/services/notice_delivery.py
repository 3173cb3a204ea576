"""Publishing change notices and delivering them exactly once per recipient and channel (rule 6).

The database is the record; the broker only wakes the sender. `notices_publish_due`,
`notice_reminders_send` and `notice_deliveries_send` all pick up whatever is due, so the
every-minute sweep (rollout.tasks.deliver_notices) delivers what a lost wake-up or a broker outage
left behind.

Who is "in scope" (audience "everyone"): the members of every cohort of the workflow, enrolled or
not yet. A cohort about to be enrolled is exactly who must hear of the change ahead of time (rule 3
asks for a notice to the newly enrolled cohorts before the promotion), so "enrolled only" would
miss the people the notice is for. Followers are added when the notice includes them and they may
still see the workflow. Only active users receive anything.

Exactly once, per channel (in-app first: the whole audience has the notice in its inbox within
seconds, before the first email goes out):
* in-app: the inbox row is the receipt; a batch of deliveries is re-checked and marked sent
  inside the transaction that holds their row locks, so each happens once or not at all.
* email: a mail server is outside our transaction, so "send, then mark" cannot be atomic. A
  sender claims a group of up to EMAIL_GROUP due rows in one short transaction (row locks, SKIP
  LOCKED, still due and still wanted?) and moves them to `queued`: no other sender takes them.
  Then row by row over the run's single SMTP connection: one statement marks the row just sent
  `sent` and moves the next from `queued` to `sending` (its attempt begins), and only then does
  that next message go out (over SMTP the statement runs while the server answers that message's
  envelope, and the message itself, which is what the server accepts, follows once the statement
  has committed: _Advance). So at any moment at most one row per sender is `sending`, and a crash
  leaves at most that one in doubt: never re-sent automatically (which could double it); after
  STALE_SENDING it is reported as failed with MSG_INTERRUPTED, and the owner's Retry decides.
  Rows a crash leaves `queued` were never tried: after QUEUED_STALE they are due again. A row is
  sent only by the sender whose statement moved it out of `queued`, so even a group released
  while its sender still lives (a very slow mail server) is sent once. Each failure is isolated
  (failed with the reason, retried with backoff up to MAX_ATTEMPTS if it may pass). Email is at
  most once automatically and never lost silently.

Each notice's email is rendered once per run and time zone (its times read in the recipient's
zone, theirs or the organisation's default) and filled in per recipient (rollout.lib.mail_merge):
byte for byte what rendering the templates for each recipient in their zone gives; its MIME
headers are built once too (core.mail.MailStencil).
"""

import logging
import select
import smtplib
import threading
import time
import weakref
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import mailers
from django.db import DatabaseError, connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailCategory, User, wanting_email
from accounts.selectors import organisation_time_zone_subquery, user_time_zone
from accounts.unsubscribe import unsubscribe_headers
from core.db import retry_on_lost_connection
from core.errors import ApplicationError
from core.mail import (
    FanOutEmail,
    MailStencil,
    SMTPBackend,
    email_subject,
    failure_reason,
    smtp_refused_for_good,
)
from core.wake import wake
from rollout.lib.mail_merge import Merge, MergeFields, MergeRecord, merge_render
from rollout.models import (
    ChangeNotice,
    Cohort,
    CohortMember,
    DeliveryChannel,
    DeliveryStatus,
    Follow,
    NoticeAudience,
    NoticeDelivery,
    NoticeReceipt,
    NoticeStatus,
)
from rollout.permissions import may_use_workflow
from rollout.selectors.blackouts import (
    BLOCKED_NOTICE,
    blackout_block_message,
    blackout_covering,
)
from rollout.services.activity import activity_record
from rollout.services.notifications import notification_send

logger = logging.getLogger(__name__)

NOTICE, REMINDER = "notice", "reminder"
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=1)  # automatic retries after 1, 2, 4, 8 minutes
STALE_SENDING = timedelta(minutes=10)  # longer than a task may run (time_limit=300)
# Claimed rows no sender has tried for this long (their sender died) are due again; a live sender
# that still holds some simply finds them taken (see the module's docstring).
QUEUED_STALE = timedelta(minutes=1)
PUBLISH_BATCH = 50
SEND_BATCH = 500  # in-app rows delivered per transaction
# Email rows claimed together. Claiming 100 at a time makes a fan-out about a quarter faster (the
# claim costs about as much for 100 rows as for 20, and nothing overlaps it), but a sender then
# spends less of its time between groups, with nothing in flight: `make chaos` found 4-5 emails in
# doubt after 3 SIGKILLs with 100 (four runs) against 2-4 with 20, and its figures must not get
# worse (README, Chaos). So 20.
EMAIL_GROUP = 20
SEND_BUDGET = 180.0  # seconds of sending per run before handing over (task soft limit: 240)

EMAIL_TEXT, EMAIL_HTML = "rollout/email/notice.txt", "rollout/email/notice.html"
RECIPIENT_FIELDS = ("display_name", "email")  # what the email templates may print of the recipient

MSG_INTERRUPTED = (
    "Interrupted while sending: the email may or may not have arrived. Retry sends it again."
)
MSG_NOT_FAILED = "Only a failed delivery can be retried."


# --- Audience ------------------------------------------------------------------------------------


def notice_audience_cohorts(notice: ChangeNotice) -> QuerySet[Cohort]:
    """The cohorts the notice goes to: the chosen ones, or every cohort of the workflow."""
    if notice.audience == NoticeAudience.EVERYONE:
        return Cohort.objects.filter(workflow_id=notice.workflow_id)
    return notice.cohorts.all()


def _followers_who_may_see(notice: ChangeNotice) -> QuerySet[Follow]:
    return Follow.objects.filter(workflow_id=notice.workflow_id, user__is_active=True).filter(
        may_use_workflow(notice.workflow_id)
    )


def notice_audience_resolve(
    notice: ChangeNotice, *, among: Collection[int] | None = None
) -> dict[int, int | None]:
    """`{user_id: cohort_id}` of everyone the notice goes to now (cohort None: a follower), or of
    those of them `among` the given user ids (the sender's re-check of a batch). Someone in
    several audience cohorts is counted under the first (lowest id). Two queries."""
    recipients: dict[int, int | None] = {}
    members = CohortMember.objects.filter(
        cohort__in=notice_audience_cohorts(notice), user__is_active=True
    ).order_by("cohort_id", "user_id")
    if among is not None:
        members = members.filter(user_id__in=among)
    for user_id, cohort_id in members.values_list("user_id", "cohort_id"):
        recipients.setdefault(user_id, cohort_id)
    if notice.include_followers:
        followers = _followers_who_may_see(notice)
        if among is not None:
            followers = followers.filter(user_id__in=among)
        for user_id in followers.values_list("user_id", flat=True):
            recipients.setdefault(user_id, None)
    return recipients


# --- Publishing ----------------------------------------------------------------------------------


def notices_publish_due(*, now: datetime | None = None) -> int:
    """Publish every scheduled notice whose publish time has come. Returns how many. Each notice
    is published in its own transaction under its row lock; a notice locked by someone editing it
    is skipped and picked up by the next sweep."""
    now = now or timezone.now()
    published = 0
    held: list[int] = []  # blocked by a blackout window this run: not looked at again
    for _ in range(PUBLISH_BATCH):
        with transaction.atomic():
            notice = (
                ChangeNotice.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("workflow__owner")
                .filter(status=NoticeStatus.SCHEDULED, publish_at__lte=now)
                .exclude(pk__in=held)
                .order_by("publish_at", "pk")
                .first()
            )
            if notice is None:
                break
            if _held_by_blackout(notice, now):
                held.append(notice.pk)
                continue
            _publish(notice, now)
            published += 1
    return published


def _held_by_blackout(notice: ChangeNotice, now: datetime) -> bool:
    """Rule 10 at run time: a window created after the notice was scheduled, over its publish or
    effective time, holds it — it stays scheduled, marked blocked with the window's name and
    end, and its owner is told once — instead of publishing into the window. Once no window
    holds it, the mark is cleared and it is published."""
    workflow = notice.workflow
    window = blackout_covering(workflow, now) or blackout_covering(workflow, notice.effective_at)
    if window is None:
        if notice.blocked_reason:
            notice.blocked_reason = ""
            notice.save(update_fields=["blocked_reason", "updated_at"])
        return False
    reason = blackout_block_message(window, BLOCKED_NOTICE)
    if notice.blocked_reason != reason:
        notice.blocked_reason = reason
        notice.save(update_fields=["blocked_reason", "updated_at"])
        activity_record(
            workflow=workflow,
            actor=None,
            verb="held by a blackout window",
            target=f"notice “{notice.title}”",
            note=reason,
        )
        notification_send(
            recipient=workflow.owner,
            workflow=workflow,
            title=f"Notice held by the “{window.name}” blackout: {notice.title}",
            body=reason,
            url=reverse("notice_edit", kwargs={"slug": workflow.slug, "notice_id": notice.pk}),
            email=EmailCategory.UPDATES,
        )
    return True


def notice_publish_locked(notice: ChangeNotice, now: datetime) -> None:
    """Publish one notice at once, inside the caller's transaction, which holds its row (an
    incident's explanation and updates, rollout.services.notices.notice_publish_for_incident)."""
    _publish(notice, now)


def _publish(notice: ChangeNotice, now: datetime) -> None:
    recipients = notice_audience_resolve(notice)
    wants_email = set(
        User.objects.filter(wanting_email(EmailCategory.NOTICES), pk__in=recipients).values_list(
            "pk", flat=True
        )
    )
    NoticeReceipt.objects.bulk_create(
        [
            NoticeReceipt(notice=notice, recipient_id=user_id, cohort_id=cohort_id)
            for user_id, cohort_id in recipients.items()
        ],
        ignore_conflicts=True,
    )
    _create_deliveries(notice, recipients, wants_email, kind=NOTICE)
    before = notice.get_status_display()
    notice.status = NoticeStatus.PUBLISHED
    notice.published_at = now
    notice.save(update_fields=["status", "published_at", "updated_at"])
    activity_record(
        workflow=notice.workflow,
        actor=None,
        verb="published notice",
        target=notice.title,
        changes={
            "status": [before, notice.get_status_display()],
            "recipients": ["—", str(len(recipients))],
        },
    )
    wake_sender(settings.ROLLOUT_NOTICE_SENDERS)


def _create_deliveries(notice: ChangeNotice, user_ids, wants_email: set[int], *, kind: str) -> None:
    rows = []
    for user_id in user_ids:
        rows.append(
            NoticeDelivery(
                notice=notice, recipient_id=user_id, channel=DeliveryChannel.IN_APP, kind=kind
            )
        )
        if user_id in wants_email:
            rows.append(
                NoticeDelivery(
                    notice=notice, recipient_id=user_id, channel=DeliveryChannel.EMAIL, kind=kind
                )
            )
    # The unique (notice, recipient, channel, kind) constraint makes a second run add nothing.
    NoticeDelivery.objects.bulk_create(rows, ignore_conflicts=True)


def wake_sender(senders: int = 1) -> None:
    """Wake `senders` sender runs after commit: for a fan-out, settings.ROLLOUT_NOTICE_SENDERS,
    so that several workers share it. The broker is only a wake-up call: if it is down, the
    sweep sends."""
    for _ in range(senders):
        wake("rollout.tasks.send_notice_deliveries")


# --- Reminders -----------------------------------------------------------------------------------


def notice_reminders_send(*, now: datetime | None = None) -> int:
    """Once per notice: remind those who have not acknowledged, `reminder_hours` before it takes
    effect. A notice published inside that window gets no reminder (it just arrived), nor does
    one already in effect. Returns how many reminders were queued.

    Each notice in its own transaction under its row lock (one held by someone editing it is
    skipped until the next sweep): an error with one notice is logged, leaves that notice for
    the next sweep, and never holds back the others."""
    now = now or timezone.now()
    queued = 0
    candidates = ChangeNotice.objects.filter(
        status=NoticeStatus.PUBLISHED,
        requires_ack=True,
        reminder_hours__isnull=False,
        reminded_at__isnull=True,
        effective_at__gt=now,
    )
    for notice_id in list(candidates.order_by("effective_at", "pk").values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                notice = candidates.select_for_update(skip_locked=True).filter(pk=notice_id).first()
                if notice is not None:
                    queued += _remind(notice, now)
        except (SoftTimeLimitExceeded, DatabaseError):
            raise
        except Exception:
            logger.exception("Reminders of notice %s could not be queued", notice_id)
    if queued:
        wake_sender(settings.ROLLOUT_NOTICE_SENDERS)
    return queued


def _remind(notice: ChangeNotice, now: datetime) -> int:
    """Queue the notice's reminders if their time has come. Returns how many."""
    remind_at = notice.effective_at - timedelta(hours=notice.reminder_hours)
    if now < remind_at:
        return 0
    queued = 0
    if notice.published_at and notice.published_at < remind_at:
        pending = list(
            NoticeReceipt.objects.filter(
                notice=notice, acknowledged_at__isnull=True, recipient__is_active=True
            ).values_list("recipient_id", "recipient__email_reminders")
        )
        wants_email = {user_id for user_id, email in pending if email}
        _create_deliveries(notice, [u for u, _ in pending], wants_email, kind=REMINDER)
        queued = len(pending)
    notice.reminded_at = now
    notice.save(update_fields=["reminded_at", "updated_at"])
    return queued


# --- Sending -------------------------------------------------------------------------------------


def _retry_due_q(now: datetime) -> Q:
    """Failed rows whose backoff has passed (1, 2, 4, 8 minutes after the attempt that failed;
    `sent_at` holds when that attempt began). With the pending ones, what is due."""
    due = Q()
    for attempts in range(1, MAX_ATTEMPTS):
        due |= Q(
            status=DeliveryStatus.FAILED,
            attempts=attempts,
            sent_at__lte=now - BACKOFF_BASE * 2 ** (attempts - 1),
        )
    return due


def notice_deliveries_send(
    *, limit: int = SEND_BATCH, now: datetime | None = None, budget: float = SEND_BUDGET
) -> int:
    """Deliver what is due until nothing is: first every in-app row, `limit` per transaction, so
    the whole audience has the notice in its inbox within seconds; then the emails, a group of
    up to EMAIL_GROUP at a time (so a fan-out to thousands completes from the publish wake-up,
    not minute by minute from the sweep). After `budget` seconds, well inside the task's time
    limit, it stops and wakes a new run for the rest. Returns how many this call delivered.

    Safe to run concurrently and twice: rows are locked with SKIP LOCKED, an email group is
    moved to `queued` before it goes out (so two workers, or two lanes, never hold the same
    row), and a delivered row is never due again. Audience, account and email preference are
    re-checked, in bulk, when rows are claimed; whoever no longer qualifies is `skipped`."""
    now = now or timezone.now()
    started = time.monotonic()
    _release_stale_sending(now)
    delivered = 0
    while True:
        locked, in_app = _deliver_in_app(limit, now)
        delivered += in_app
        if locked < limit:
            break
        if time.monotonic() - started > budget:
            wake_sender()  # a fresh run goes on; the sweep is the safety net
            return delivered
    group = min(limit, EMAIL_GROUP)
    sent, more = _send_email_lanes(group, now, deadline=started + budget)
    if more:
        wake_sender()  # out of time: a fresh run goes on; the sweep is the safety net
    return delivered + sent


def _send_email_lanes(group: int, now: datetime, *, deadline: float) -> tuple[int, bool]:
    """Send due emails over settings.ROLLOUT_NOTICE_EMAIL_LANES SMTP connections at once, each
    lane claiming and sending groups of its own (_email_lane), so that while one lane waits for
    the database the other's message is at the mail server. Returns (how many were sent,
    whether time ran out with more due).

    Lanes beyond this thread run on PostgreSQL only, outside any transaction (each thread has
    its own database connection, which must see what this one committed). If this thread is
    stopped (the task's soft time limit), the other lanes stop after their message in flight
    and are waited for."""
    lanes = settings.ROLLOUT_NOTICE_EMAIL_LANES
    if lanes < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return _email_lane(group, now, deadline=deadline)
    stop = threading.Event()
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def lane() -> None:
        try:
            results.append(_email_lane(group, now, deadline=deadline, stop=stop))
        except BaseException as exc:  # noqa: BLE001 — raised again in the calling thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    run = threading.current_thread().name
    others = [
        threading.Thread(target=lane, name=f"{run} lane {n}", daemon=True)
        for n in range(2, lanes + 1)
    ]
    for thread in others:
        thread.start()
    try:
        results.append(_email_lane(group, now, deadline=deadline, stop=stop))
    finally:
        stop.set()
        for thread in others:
            thread.join()
    if errors:
        raise errors[0]
    return sum(sent for sent, _ in results), any(more for _, more in results)


def _email_lane(
    group: int, now: datetime, *, deadline: float, stop: threading.Event | None = None
) -> tuple[int, bool]:
    """Claim and send groups of due emails over one SMTP connection until none is due, the mail
    server cannot be reached, `stop` is set or the deadline passes. Returns (how many were sent,
    whether time ran out with more due)."""
    outbox = _Outbox()
    retries = True  # failed rows due again go first; asked for again only while a group fills
    delivered = 0
    try:
        while stop is None or not stop.is_set():
            locked, emails, retries = _claim(group, now, retries=retries)
            sent, server_down = _send_emails(emails, outbox, deadline=deadline)
            delivered += sent
            if server_down:
                return delivered, False  # the rest waits for the server
            if time.monotonic() > deadline:
                return delivered, True  # (a group cut short at the deadline went back to due)
            if locked < group:
                return delivered, False  # nothing more due
    finally:
        outbox.close()
    return delivered, False


def _release_stale_sending(now: datetime) -> None:
    """Email rows stuck in `sending` (the worker died mid-send): report, never resend. Rows left
    `queued` (claimed by a worker that died before trying them): due again."""
    NoticeDelivery.objects.filter(
        status=DeliveryStatus.SENDING, sent_at__lte=now - STALE_SENDING
    ).update(status=DeliveryStatus.FAILED, last_error=MSG_INTERRUPTED, attempts=MAX_ATTEMPTS)
    NoticeDelivery.objects.filter(
        status=DeliveryStatus.QUEUED, sent_at__lte=now - QUEUED_STALE
    ).update(status=DeliveryStatus.PENDING)


@transaction.atomic
def _deliver_in_app(limit: int, now: datetime) -> tuple[int, int]:
    """Lock up to `limit` due in-app rows, re-check them and deliver them, all in one transaction:
    the inbox row is the receipt, so marking the delivery sent under its lock delivers it once or
    not at all. Returns (rows locked, delivered). At most seven queries, whatever `limit`."""
    rows, _ = _lock_due(DeliveryChannel.IN_APP, limit, now, retries=True)
    wanted, skipped = _recheck(rows)
    _skip(skipped)
    NoticeDelivery.objects.filter(pk__in=[row.pk for row in wanted]).update(
        status=DeliveryStatus.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
    )
    reminded = [row.receipt_id for row in wanted if row.kind == REMINDER]
    NoticeReceipt.objects.filter(pk__in=reminded).update(reminded_at=now)
    return len(rows), len(wanted)


@transaction.atomic
def _claim(size: int, now: datetime, *, retries: bool) -> tuple[int, list[NoticeDelivery], bool]:
    """Claim a group of due email rows in one short transaction: lock up to `size` (SKIP LOCKED
    passes over rows another worker is claiming), re-check them, skip whoever no longer
    qualifies, and move the rest to `queued` (stamped with the time of the claim), committed
    before any message goes out, so that no other worker takes them. Returns (rows locked, the
    deliveries to send as they were before the claim (see _release), whether more failed rows
    may be due again). Three queries for the group, one more to skip, one more with `retries`."""
    rows, more_retries = _lock_due(DeliveryChannel.EMAIL, size, now, retries=retries)
    wanted, skipped = _recheck(rows)
    _skip(skipped)
    NoticeDelivery.objects.filter(pk__in=[row.pk for row in wanted]).update(
        status=DeliveryStatus.QUEUED, sent_at=timezone.now()
    )
    return len(rows), wanted, more_retries


def _lock_due(
    channel: str, limit: int, now: datetime, *, retries: bool
) -> tuple[list[NoticeDelivery], bool]:
    """Lock up to `limit` due rows of `channel`, oldest first: (with `retries`) failed ones whose
    backoff has passed, then pending ones. Returns them and whether more failed ones may be due.

    Each statement locks in a subquery that reads ids only and reads the locked rows with what
    sending needs (_read); the retries' OR stays out of the pending one. Joined or ORed, a large
    fan-out's every due row would be joined and sorted again for each group."""
    due = (
        NoticeDelivery.objects.select_for_update(skip_locked=True)
        .filter(channel=channel)
        .order_by("created_at", "pk")
        .values("pk")
    )
    rows = _read(due.filter(_retry_due_q(now))[:limit]) if retries else []
    more_retries = len(rows) == limit
    if len(rows) < limit:
        rows += _read(due.filter(status=DeliveryStatus.PENDING)[: limit - len(rows)])
    return rows, more_retries


def _read(locked: QuerySet) -> list[NoticeDelivery]:
    """The rows `locked` (a locking subquery of ids) selects, with their notice, workflow and
    recipient, and their receipt's id and acknowledgement (`receipt_id`, `acknowledged_at`;
    None without a receipt). One statement."""
    receipt = NoticeReceipt.objects.filter(
        notice_id=OuterRef("notice_id"), recipient_id=OuterRef("recipient_id")
    )
    rows = list(
        NoticeDelivery.objects.filter(pk__in=locked)
        .select_related("notice__workflow", "recipient")
        .annotate(
            receipt_id=Subquery(receipt.values("pk")[:1]),
            acknowledged_at=Subquery(receipt.values("acknowledged_at")[:1]),
            organisation_time_zone=organisation_time_zone_subquery(),
        )
        .order_by("created_at", "pk")
    )
    # Each recipient's zone is theirs or the organisation's default: read here, in the same
    # statement, so that _email_message asks nothing more of the database (user_time_zone).
    for row in rows:
        row.recipient.organisation_time_zone = row.organisation_time_zone
    return rows


def _recheck(rows: list[NoticeDelivery]) -> tuple[list[NoticeDelivery], list[NoticeDelivery]]:
    """Split rows read by _read into those still wanted and those to skip: the person left the
    audience or lost access to the workflow, was deactivated, turned that email off (notices and
    reminders apart), or has acknowledged what a reminder is about. One query per notice: its
    audience among these recipients only."""
    audiences = {
        notice.pk: notice_audience_resolve(
            notice, among={row.recipient_id for row in rows if row.notice_id == notice.pk}
        )
        for notice in {row.notice_id: row.notice for row in rows}.values()
    }
    wanted: list[NoticeDelivery] = []
    skipped: list[NoticeDelivery] = []
    for row in rows:
        (wanted if _still_wanted(row, audiences[row.notice_id]) else skipped).append(row)
    return wanted, skipped


def _skip(rows: list[NoticeDelivery]) -> None:
    NoticeDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=DeliveryStatus.SKIPPED
    )


def _still_wanted(row: NoticeDelivery, audience: dict[int, int | None]) -> bool:
    if row.receipt_id is None or not row.recipient.is_active or row.recipient_id not in audience:
        return False
    if row.notice.status != NoticeStatus.PUBLISHED:
        return False
    if row.channel == DeliveryChannel.EMAIL and not row.recipient.wants_email(_category(row)):
        return False
    return not (row.kind == REMINDER and row.acknowledged_at is not None)


def _category(row: NoticeDelivery) -> EmailCategory:
    """A notice's email is a change notice; its reminder, a reminder: each turned off apart."""
    return EmailCategory.REMINDERS if row.kind == REMINDER else EmailCategory.NOTICES


class _Outbox:
    """The run's one connection to the mail server, opened for the first message and again only
    after a failure broke it, and each notice's email rendered once for the run."""

    def __init__(self) -> None:
        self.connection = mailers.default
        self.is_open = False
        self.rendered: dict[tuple[object, ...], _NoticeEmail] = {}

    @property
    def overlaps(self) -> bool:
        """Whether a message's mark can be on its way to the database while the mail server
        answers its envelope (_Advance): over SMTP (core.mail.SMTPBackend.send_when), on
        PostgreSQL, outside a transaction."""
        return (
            isinstance(self.connection, SMTPBackend)
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block
        )

    def send(
        self,
        message: FanOutEmail,
        when: Callable[[], bool],
        meanwhile: Callable[[], object] | None = None,
    ) -> bool:
        """Send `message` once `when()` says it may go: after its envelope over SMTP, before
        anything with any other backend. Returns whether it went (False: `when()` said no).
        Over SMTP, `meanwhile()` runs while the server reads the message."""
        if not self.is_open:
            self.connection.open()
            self.is_open = True
        if isinstance(self.connection, SMTPBackend):
            went = self.connection.send_when(message, when, meanwhile)
            self.is_open = self.connection.connection is not None
            return went
        if not when():
            return False
        # One message per call: send_messages only counts, it cannot say which one failed.
        if self.connection.send_messages([message]) != 1:
            raise smtplib.SMTPException("The mail server accepted no recipient.")
        return True

    def close(self) -> None:
        self.connection.close()
        self.is_open = False


def _send_emails(
    emails: list[NoticeDelivery], outbox: _Outbox, *, deadline: float | None = None
) -> tuple[int, bool]:
    """Send a claimed group message by message over the outbox's connection, until the
    `deadline` (time.monotonic()) if one is given: a slow mail server must not keep a group of
    EMAIL_GROUP going past the task's time limit. Returns (how many were sent, whether it
    stopped because no connection to the mail server could be opened).

    One statement per message (_advance) marks the one just sent `sent` and begins the next
    (`queued` to `sending`, one more attempt); the next message is accepted by the mail server
    only once that is committed, and only if the statement found it still `queued` (else another
    sender has it). Over SMTP on PostgreSQL the statement is on its way while the server answers
    the next message's envelope, and the message itself follows once it is committed (_Advance):
    the database's round trip and commit cost no time of their own.

    Failures are isolated per row and marked at once. A transient one (the server unreachable, a
    timeout, a 4xx answer) is retried with backoff. One that trying again cannot fix — a header
    Django refuses (a title with a line break stored before validation existed), an address the
    server refuses for good (5xx), any other error building or sending this one message — fails
    the row for good with the reason, and the group goes on.

    However the group ends, the rows not reached go back to what they were (due again, no
    attempt counted). Only the message in flight when something else stopped the run (the soft
    time limit, the database gone for good) stays `sending`, as does the one in flight when the
    worker is killed outright: at most one row in doubt."""
    sent = 0
    untried = deque(emails)
    server_down = False
    just_sent: NoticeDelivery | None = None
    advance: _Advance | None = None
    built: dict[int, tuple[FanOutEmail | None, Exception | None]] = {}

    def build(delivery: NoticeDelivery) -> tuple[FanOutEmail | None, Exception | None]:
        """The delivery's message, or what kept it from being built."""
        try:
            return _email_message(delivery, outbox.rendered), None
        except (SoftTimeLimitExceeded, DatabaseError):
            raise  # not this message's fault: the row stays claimed, due again later
        except Exception as exc:
            return None, exc

    def build_next() -> None:
        if untried and untried[0].pk not in built:
            built[untried[0].pk] = build(untried[0])

    try:
        while untried:
            if deadline is not None and time.monotonic() > deadline:
                break  # the rest goes back to due (below)
            delivery = untried[0]
            message, problem = built.pop(delivery.pk, None) or build(delivery)
            untried.popleft()  # from here: neither sent nor untried
            advance = _Advance(just_sent, delivery, overlap=outbox.overlaps)
            just_sent = None
            if message is None:
                if advance.began():
                    logger.error("Notice delivery %s cannot be sent", delivery.pk, exc_info=problem)
                    _mark_failed(delivery, failure_reason(problem), permanent=True)
                continue
            try:
                went = outbox.send(message, when=advance.began, meanwhile=build_next)
            except (smtplib.SMTPException, OSError) as exc:
                if not advance.began():
                    continue  # never begun: another sender has it
                if smtp_refused_for_good(exc):
                    _mark_failed(delivery, failure_reason(exc), permanent=True)
                    continue
                _mark_failed(delivery, failure_reason(exc))
                if not outbox.is_open:
                    server_down = True
                    break  # no connection at all: the rest wait for the next run
                outbox.close()  # broken: the next message opens a new one
            except (SoftTimeLimitExceeded, DatabaseError):
                raise  # not this message's fault: the row stays `sending`, reported later
            except Exception as exc:
                if advance.began():
                    logger.exception("Notice delivery %s cannot be sent", delivery.pk)
                    _mark_failed(delivery, failure_reason(exc), permanent=True)
            else:
                if went:
                    just_sent = delivery
                    sent += 1
                # else: released while this sender was slow, and taken by another
    finally:
        if advance is not None:
            advance.settle()  # an answer still on its way, before the connection is used again
        if just_sent is not None:
            _advance(just_sent, None)
        _release(untried)
    return sent, server_down


@dataclass(frozen=True)
class _NoticeEmail:
    """A notice's email (or reminder) rendered once: its subject, the context it was rendered
    with, and the text and HTML bodies ready to fill in per recipient (None: that template does
    more than print the recipient's values, so it is rendered per recipient)."""

    stencil: MailStencil  # its subject and sender
    context: dict[str, object]
    text: Merge | None
    html: Merge | None


def _notice_email(notice: ChangeNotice, *, is_reminder: bool) -> _NoticeEmail:
    prefix = "Reminder: " if is_reminder else ""
    context = {"notice": notice, "workflow": notice.workflow, "is_reminder": is_reminder}
    fields = MergeFields()
    merged = {
        **context,
        "recipient": MergeRecord(fields, "recipient", RECIPIENT_FIELDS),
        "link": fields.field("link"),
    }
    return _NoticeEmail(
        stencil=MailStencil(subject=email_subject(f"{prefix}{notice.title}")[:250]),
        context=context,
        text=merge_render(get_template(EMAIL_TEXT), merged, fields),
        html=merge_render(get_template(EMAIL_HTML), merged, fields),
    )


def _email_message(
    delivery: NoticeDelivery, rendered: dict[tuple[object, ...], _NoticeEmail] | None = None
) -> FanOutEmail:
    """The email of one delivery (read by _read: `receipt_id` is its receipt's): its notice's
    email, rendered once per run (`rendered` keeps them) and filled in with this recipient's
    values — the same text as rendering the templates for them alone, in their zone (a test
    compares)."""
    rendered = {} if rendered is None else rendered
    notice = delivery.notice
    recipient = delivery.recipient
    reader_zone = user_time_zone(recipient)
    # A published notice no longer changes, but its workflow may be renamed during the run. Its
    # times read in the recipient's zone: one rendering per zone among the recipients.
    key = (notice.pk, delivery.kind, notice.updated_at, notice.workflow.name, reader_zone.key)
    email = rendered.get(key)
    if email is None:
        with timezone.override(reader_zone):
            email = _notice_email(notice, is_reminder=delivery.kind == REMINDER)
        rendered[key] = email
    link = settings.SITE_URL + reverse("inbox_notice", kwargs={"receipt_id": delivery.receipt_id})
    values = {"link": link, **MergeRecord.values("recipient", recipient, RECIPIENT_FIELDS)}
    context = {**email.context, "recipient": recipient, "link": link}

    def body(merge: Merge | None, template_name: str) -> str:
        if merge is not None:
            return merge.fill(values)
        with timezone.override(reader_zone):
            return render_to_string(template_name, context)

    return email.stencil.email(
        to=recipient.email,
        text=body(email.text, EMAIL_TEXT),
        html=body(email.html, EMAIL_HTML),
        headers=unsubscribe_headers(recipient, _category(delivery)),
    )


def _advance(
    sent: NoticeDelivery | None, next_up: NoticeDelivery | None, now: datetime | None = None
) -> bool:
    """In one autocommit statement: mark `sent` (a row whose message just went out) sent, and
    begin `next_up`: from `queued` to `sending`, one more attempt, its `sent_at` the time the
    attempt began. Returns whether `next_up` began: False when it was no longer `queued` (its
    claim went stale and another sender has it), so this sender must not send it.

    Survives a lost connection, as _mark_failed does: the message is out, whatever happens to
    the connection after. A repeat after a statement that did commit finds `next_up` already
    begun at the same instant, and says it began. On PostgreSQL the statement is prepared once
    per connection: it runs once per email, and planning it each time would cost more than
    running it."""
    if sent is None and next_up is None:
        return False
    now = now or timezone.now()
    if next_up is None:
        sql, params = _MARK_SENT, {"sent": sent.pk, "now": now}
    elif sent is None:
        sql, params = _BEGIN, {"next": next_up.pk, "now": now}
    else:
        sql, params = _MARK_SENT_AND_BEGIN, {"sent": sent.pk, "next": next_up.pk, "now": now}

    def write() -> set[int]:
        with _statement_cursor() as cursor:
            cursor.execute(sql, params)
            return {row[0] for row in cursor.fetchall()}

    changed = retry_on_lost_connection(write)
    return next_up is not None and next_up.pk in changed


def _statement_cursor():
    """A cursor of the default connection that, on PostgreSQL, binds parameters on the server,
    so that psycopg prepares a statement run again and again (after a few runs) and PostgreSQL
    plans it once per connection. Django's own cursors bind on the client: every run's text
    differs, and is planned again. Wrapped by Django, so execute wrappers and query logging see
    it."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    return connection.make_cursor(psycopg.Cursor(connection.connection))


# The statements of _advance, written out (rollout_noticedelivery; statuses sent, sending, queued).
_MARK_SENT = (
    "UPDATE rollout_noticedelivery SET status = 'sent', last_error = '', sent_at = %(now)s"
    " WHERE id = %(sent)s AND status = 'sending' RETURNING id"
)
_BEGIN = (
    "UPDATE rollout_noticedelivery SET status = 'sending', attempts = attempts + 1,"
    " sent_at = %(now)s WHERE id = %(next)s"
    " AND (status = 'queued' OR (status = 'sending' AND sent_at = %(now)s)) RETURNING id"
)
_MARK_SENT_AND_BEGIN = (
    "UPDATE rollout_noticedelivery SET sent_at = %(now)s,"
    " status = CASE WHEN id = %(sent)s THEN 'sent' ELSE 'sending' END,"
    " attempts = CASE WHEN id = %(sent)s THEN attempts ELSE attempts + 1 END,"
    " last_error = CASE WHEN id = %(sent)s THEN '' ELSE last_error END"
    " WHERE id IN (%(sent)s, %(next)s) AND ((id = %(sent)s AND status = 'sending') OR"
    " (id = %(next)s AND (status = 'queued' OR (status = 'sending' AND sent_at = %(now)s))))"
    " RETURNING id"
)


class _Advance:
    """_advance's statement (mark the message just sent, begin the next), sent to PostgreSQL
    without waiting for its answer: while it runs and commits, the mail server answers the next
    message's envelope (MAIL FROM, RCPT TO, DATA). `began()` waits for the answer, and the
    message itself goes only after it (core.mail.SMTPBackend.send_when). The order that makes a
    crash leave at most one row in doubt is kept: a message is accepted by the server only once
    its row is committed `sending`, and the mark of the one before and the begin of this one are
    still one statement, committed together or not at all.

    Without `overlap` (another mail backend, SQLite, inside a transaction) it is _advance, run at
    once. Any trouble with the statement on its way (a lost connection, an error) and it is run
    again the ordinary way, which reconnects and re-marks (a repeat is harmless, see _advance).
    The statement runs on the default connection, bypassing Django's cursor (neither execute
    wrappers nor query logging see it): nothing else may use that connection until `began()` or
    `settle()` has collected the answer."""

    def __init__(
        self, sent: NoticeDelivery | None, next_up: NoticeDelivery, *, overlap: bool
    ) -> None:
        self.sent, self.next_up = sent, next_up
        self.now = timezone.now()
        self._began: bool | None = None
        self._pgconn = None
        if overlap:
            try:
                self._pgconn = _advance_send(sent, next_up, self.now)
            except (psycopg.Error, DatabaseError):
                self._pgconn = None  # run the ordinary way in began(), which reconnects
        else:
            self._began = _advance(sent, next_up, self.now)

    def began(self) -> bool:
        """Whether `next_up` began (see _advance), once the statement is committed."""
        if self._began is None:
            changed = None
            if self._pgconn is not None:
                try:
                    changed = _advance_collect(self._pgconn)
                except psycopg.Error:
                    changed = None
                self._pgconn = None
            if changed is None:
                if connection.connection is not None:  # prepared again on its next use
                    _advance_prepared.discard(connection.connection)
                self._began = _advance(self.sent, self.next_up, self.now)
            else:
                self._began = self.next_up.pk in changed
        return self._began

    def settle(self) -> None:
        """Collect an answer still on its way, if any, so that the connection can be used again
        (after an error elsewhere: one here would only hide it)."""
        if self._pgconn is not None:
            try:
                _advance_collect(self._pgconn)
            except psycopg.Error:
                logger.warning("The mark of notice delivery %s went unanswered", self.next_up.pk)
            self._pgconn = None


# The connections (psycopg's) on which _advance_send's statements are prepared.
_advance_prepared: weakref.WeakSet = weakref.WeakSet()
_ADVANCE_PREPARED = {
    _BEGIN: "rollout_notice_begin",
    _MARK_SENT_AND_BEGIN: "rollout_notice_mark_sent_and_begin",
}


def _advance_send(sent: NoticeDelivery | None, next_up: NoticeDelivery, now: datetime):
    """Send _advance's statement over the default connection and return its libpq connection,
    whose answer _advance_collect reads. Prepared once per connection (with a Django cursor:
    the first statement of each connection is an ordinary one)."""
    connection.ensure_connection()
    raw = connection.connection
    if raw not in _advance_prepared:
        with connection.cursor() as cursor:
            for sql, name in _ADVANCE_PREPARED.items():
                numbered = sql.replace("%(sent)s", "$1").replace("%(next)s", "$2")
                numbered = numbered.replace("%(now)s", "$3")
                cursor.execute(f"PREPARE {name} (bigint, bigint, timestamptz) AS {numbered}")
        _advance_prepared.add(raw)
    name = _ADVANCE_PREPARED[_BEGIN if sent is None else _MARK_SENT_AND_BEGIN]
    pgconn = raw.pgconn
    params = [str(sent.pk if sent else 0).encode(), str(next_up.pk).encode()]
    pgconn.send_query_prepared(name.encode(), [*params, now.isoformat().encode()])
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLOUT)
    while pgconn.flush():  # nonblocking: what did not fit in the socket's buffer
        poller.poll()
    return pgconn


def _advance_collect(pgconn) -> set[int] | None:
    """The ids the statement sent by _advance_send changed, once it answers; None if it failed
    (its error is left for the ordinary run to raise). Raises psycopg.Error for a broken
    connection."""
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    pgconn.consume_input()
    while pgconn.is_busy():
        poller.poll()
        pgconn.consume_input()
    changed: set[int] | None = set()
    while (result := pgconn.get_result()) is not None:
        if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
            changed = None
        elif changed is not None:
            changed.update(int(result.get_value(row, 0)) for row in range(result.ntuples))
    return changed


def _mark_failed(delivery: NoticeDelivery, reason: str, *, permanent: bool = False) -> None:
    """Record the failure; a permanent one uses up the attempts, so only the owner's Retry sends
    the row again. Both marks survive a lost connection (core.db): the message is out, or was
    refused, whatever happens to the connection after; without the retry the row would be
    reported "interrupted" and a Retry would send it twice."""
    logger.warning("Notice delivery %s failed: %s", delivery.pk, reason)
    changes: dict[str, object] = {"status": DeliveryStatus.FAILED, "last_error": reason}
    if permanent:
        changes["attempts"] = MAX_ATTEMPTS
    retry_on_lost_connection(
        lambda: NoticeDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            **changes
        )
    )


def _release(emails: Iterable[NoticeDelivery]) -> None:
    """Put claimed rows that were never tried back as they were before the claim: due again, no
    attempt counted. One UPDATE per earlier state (usually one: pending, never tried)."""
    states: defaultdict[tuple[object, ...], list[int]] = defaultdict(list)
    for delivery in emails:
        states[(delivery.status, delivery.sent_at)].append(delivery.pk)
    for (status, sent_at), ids in states.items():
        back = NoticeDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.QUEUED)
        retry_on_lost_connection(partial(back.update, status=status, sent_at=sent_at))


# --- The owner's retry ---------------------------------------------------------------------------


@transaction.atomic
def notice_delivery_retry(*, delivery: NoticeDelivery, actor: User) -> NoticeDelivery:
    """Send a failed delivery again (also one whose outcome is unknown after a crash: the owner
    accepts that it may arrive twice). Raises ApplicationError unless it failed."""
    locked = NoticeDelivery.objects.select_for_update().select_related("notice", "recipient")
    delivery = locked.get(pk=delivery.pk)
    if delivery.status != DeliveryStatus.FAILED:
        raise ApplicationError(MSG_NOT_FAILED)
    delivery.status = DeliveryStatus.PENDING
    delivery.save(update_fields=["status"])
    activity_record(
        workflow=delivery.notice.workflow,
        actor=actor,
        verb="retried delivery of notice",
        target=delivery.notice.title,
        changes={
            "recipient": ["—", delivery.recipient.email],
            "channel": ["—", delivery.get_channel_display()],
        },
        note=delivery.last_error,
    )
    wake_sender()
    return delivery


def notice_sweep(*, now: datetime | None = None) -> int:
    """The every-minute sweep: publish due notices, queue due reminders, send due deliveries, so a
    broker that was down at publish time only delays delivery. Returns deliveries sent."""
    notices_publish_due(now=now)
    notice_reminders_send(now=now)
    return notice_deliveries_send(now=now)

"""Change notices for `seed_demo`, written, scheduled, published and delivered through the services.

Support reply drafting: its EU agents heard of the limited roll-out nine days before it began
(the draft the promotion made, completed and published), of a prompt change two weeks ago and of
the closed incident's explanation (the draft closing it made); yesterday an urgent notice went out
that refunds are never drafted, effective sooner than the lead time, approved by the ops leader.
A model change is scheduled: it publishes in two days and takes effect in nine. Elena (executive)
follows the workflow, so she gets its notices too. Contract clause review's cohorts heard of the
limited and broad roll-outs before each began. Acknowledgement is partial everywhere: some
recipients acknowledged, some only read, some did neither. Maya has one notice unread and one read
but not acknowledged.

Scheduling refuses a publish time in the past, so a notice that went out days ago is written and
scheduled at a time clear of blackouts, then its publish and effective times are moved to the
story's (the only writes here that are not a service's). Publishing and delivery take `now=` and
run at the story's publish time; `Story.at` moves the other timestamps a step writes to when it
happened, as in rollout.management.demo.feedback.

The emails of those deliveries go out while the demo is built, not when the story says: the
embedded mailer writes them under var/mail/ without echoing them to the console (a dozen notices
would flood `make run`'s terminal), the test mailer keeps them as usual, and a real mail server
gets none (`demo_mailer`): the demo mails nobody, as in demo_feedback.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Max, Model
from django.test import override_settings
from django.utils import formats, timezone

from accounts.models import User
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    Cohort,
    Follow,
    Incident,
    NoticeAudience,
    NoticeDelivery,
    NoticeKind,
    NoticeReceipt,
    NoticeStatus,
    Notification,
    Workflow,
)
from rollout.selectors.blackouts import blackout_covering
from rollout.services.follows import follow
from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
from rollout.services.notice_receipts import notice_receipt_acknowledge, notice_receipt_read
from rollout.services.notices import (
    notice_approve_urgent,
    notice_create,
    notice_create_scheduled,
    notice_schedule,
    notice_update,
)

OPS = "ops@example.com"
MEMBER = "member@example.com"
EXEC = "exec@example.com"
EU_COHORT = "EU tier-1 agents"
INCIDENT_TITLE = "Drafts quoted the old 30-day return window"
READ, ACK = "read", "acknowledged"

# Every timestamp a step may write, per model, with the path from the row to its workflow.
_STAMPED: tuple[tuple[type[Model], str, tuple[str, ...]], ...] = (
    (ActivityEntry, "workflow", ("created_at",)),
    (Notification, "workflow", ("created_at",)),
    (Follow, "workflow", ("created_at",)),
    (ChangeNotice, "workflow", ("created_at", "updated_at", "approved_at")),
    (NoticeReceipt, "notice__workflow", ("created_at", "read_at", "acknowledged_at")),
    (NoticeDelivery, "notice__workflow", ("created_at", "sent_at")),
)


FILE_MAILER = "django.core.mail.backends.filebased.EmailBackend"
MEMORY_MAILER = "django.core.mail.backends.locmem.EmailBackend"
CONSOLE_ECHO_MAILER = "accounts.mail.FileAndConsoleEmailBackend"


@contextmanager
def demo_mailer() -> Iterator[None]:
    """The default mailer while the demo's notices are delivered: files only for the embedded
    file-and-console mailer, unchanged for a file or memory one, memory for anything else."""
    mailer = settings.MAILERS.get("default", {})
    backend = mailer.get("BACKEND", "")
    if backend in (FILE_MAILER, MEMORY_MAILER):
        yield
        return
    if backend == CONSOLE_ECHO_MAILER:
        replacement = {"BACKEND": FILE_MAILER, "OPTIONS": mailer.get("OPTIONS", {})}
    else:
        replacement = {"BACKEND": MEMORY_MAILER}
    with override_settings(MAILERS={**settings.MAILERS, "default": replacement}):
        yield


@dataclass(frozen=True)
class Timeline:
    """When a notice was written, scheduled (and approved), published and takes effect."""

    drafted: datetime
    scheduled: datetime
    publish: datetime
    effective: datetime
    approved: datetime | None = None


@dataclass
class Story:
    workflow: Workflow
    users: dict[str, User]
    now: datetime = field(default_factory=timezone.now)

    def when(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        day = timezone.localdate(self.now) - timedelta(days=days_ago)
        return timezone.make_aware(datetime.combine(day, time(hour, minute)))

    @property
    def owner(self) -> User:
        return self.workflow.owner

    @contextmanager
    def at(self, when: datetime) -> Iterator[None]:
        """Move every timestamp the block writes for this workflow to `when`."""
        if when > self.now:
            raise ValueError("Demo history is in the past.")
        since = timezone.now()
        yield
        for model, path, names in _STAMPED:
            rows = model.objects.filter(**{path: self.workflow.pk})
            for name in names:
                rows.filter(**{f"{name}__gte": since}).update(**{name: when})

    def clear_of_blackouts(self, publish: datetime, gap: timedelta) -> tuple[datetime, datetime]:
        """(publish, publish + gap), moved past any blackout window covering either (rule 10)."""
        while True:
            window = blackout_covering(self.workflow, publish) or blackout_covering(
                self.workflow, publish + gap
            )
            if window is None:
                return publish, publish + gap
            publish = max(publish, window.ends_at) + timedelta(hours=1)

    def follow(self, email: str, when: datetime) -> None:
        with self.at(when):
            follow(workflow=self.workflow, user=self.users[email])

    def announce(
        self,
        draft: ChangeNotice | None,
        t: Timeline,
        *,
        cohorts: list[Cohort],
        reads: dict[str, tuple[str, datetime]],
        **fields: object,
    ) -> ChangeNotice:
        """Complete `draft` (or write a new notice), schedule it (an urgent one is approved by the
        ops leader), publish and deliver it at `t.publish`; then `reads`: {email: (READ or ACK,
        when)}. Recipients not in `reads` neither read nor acknowledged it."""
        # Written and scheduled for a time still ahead, then moved to the story's times.
        publish, effective = self.clear_of_blackouts(
            self.now + timedelta(hours=1), t.effective - t.publish
        )
        fields |= {"publish_at": publish, "effective_at": effective}
        with self.at(t.drafted):
            if draft is None:
                draft = notice_create(
                    workflow=self.workflow, actor=self.owner, cohorts=cohorts, **fields
                )
            else:
                self._redate_draft(draft, t.drafted)
                draft = notice_update(notice=draft, actor=self.owner, cohorts=cohorts, **fields)
        with self.at(t.scheduled):
            notice = notice_schedule(notice=draft, actor=self.owner)
        if notice.status == NoticeStatus.AWAITING_APPROVAL:
            if t.approved is None:
                raise ValueError(f"The urgent notice “{notice.title}” needs an approval time.")
            with self.at(t.approved):
                notice = notice_approve_urgent(
                    notice=notice,
                    actor=self.users[OPS],
                    note="Approved: the refund wording has to stop now.",
                )
        ChangeNotice.objects.filter(pk=notice.pk).update(
            publish_at=t.publish, effective_at=t.effective
        )
        with self.at(t.publish):
            notices_publish_due(now=t.publish)
            notice_deliveries_send(now=t.publish)
        self.record_reads(notice, reads)
        notice.refresh_from_db()
        return notice

    def record_reads(self, notice: ChangeNotice, reads: dict[str, tuple[str, datetime]]) -> None:
        """`reads`: {email: (READ or ACK, when)} of the notice's recipients (others skipped)."""
        receipts = {
            r.recipient.email: r
            for r in NoticeReceipt.objects.filter(notice=notice).select_related("recipient")
        }
        for email, (state, at) in sorted(reads.items(), key=lambda item: item[1][1]):
            if email not in receipts:
                continue
            with self.at(at):
                if state == ACK:
                    notice_receipt_acknowledge(receipt=receipts[email])
                else:
                    notice_receipt_read(receipt=receipts[email])

    def _redate_draft(self, draft: ChangeNotice, when: datetime) -> None:
        """A draft the product made while the plan was built: dated when the story writes it."""
        ChangeNotice.objects.filter(pk=draft.pk).update(created_at=when, updated_at=when)
        ActivityEntry.objects.filter(
            workflow=self.workflow, verb="drafted automatically", target=f"notice “{draft.title}”"
        ).update(created_at=when)

    def finish(self) -> None:
        latest = ActivityEntry.objects.filter(workflow=self.workflow).aggregate(
            at=Max("created_at")
        )
        Workflow.objects.filter(pk=self.workflow.pk).update(last_activity_at=latest["at"])


def _enrolment_draft(workflow: Workflow, cohort: Cohort) -> ChangeNotice | None:
    """The cohort-enrolment draft a promotion made for `cohort`, if it is still a draft."""
    return (
        ChangeNotice.objects.filter(
            workflow=workflow,
            kind=NoticeKind.COHORT_ENROLMENT,
            status=NoticeStatus.DRAFT,
            cohorts=cohort,
        )
        .order_by("pk")
        .first()
    )


def _day(at: datetime) -> str:
    return formats.date_format(timezone.localtime(at), "l j F")


# --- Support reply drafting ----------------------------------------------------------------------


def _support(s: Story) -> None:
    eu = Cohort.objects.get(workflow=s.workflow, name=EU_COHORT)
    s.follow(EXEC, s.when(44, 11))
    limited = Timeline(
        drafted=s.when(37, 14),
        scheduled=s.when(36, 15),
        publish=s.when(35, 9),
        effective=s.when(26, 9),
    )
    s.announce(
        _enrolment_draft(s.workflow, eu),
        limited,
        cohorts=[eu],
        kind=NoticeKind.COHORT_ENROLMENT,
        title="The limited roll-out starts for you",
        body=f"You are in **{EU_COHORT}**, the first team to get AI-drafted replies in the "
        f"limited roll-out of “Support reply drafting”.\n\n"
        f"From **{_day(limited.effective)}** every tier-1 ticket you open has a draft reply "
        "ready in the sidebar.\n\n"
        "## What changes for you\n\n"
        "- Read and edit every draft before you send it: you stay responsible for the reply.\n"
        "- Refunds and complaints are never drafted; write those yourself as today.\n"
        "- Flag a bad draft with the thumbs-down button and say what was wrong.\n\n"
        "## Questions\n\nAsk Owen Clarke, who owns this workflow.",
        audience=NoticeAudience.COHORTS,
        include_followers=True,
        requires_ack=True,
        reads={
            MEMBER: (ACK, s.when(35, 9, 40)),
            "lukas.schmidt@example.com": (ACK, s.when(35, 10, 5)),
            "sofia.rossi@example.com": (ACK, s.when(34, 8, 50)),
            "camille.dubois@example.com": (READ, s.when(33, 16, 20)),
            EXEC: (READ, s.when(35, 18, 0)),
        },
    )
    prompt = Timeline(
        drafted=s.when(15, 16),
        scheduled=s.when(15, 16, 30),
        publish=s.when(14, 9),
        effective=s.when(7, 9),
    )
    s.announce(
        None,
        prompt,
        cohorts=[eu],
        kind=NoticeKind.PROMPT_CHANGE,
        title="New drafting prompt: shorter replies, the order number first",
        body="Your feedback says the drafts are too long and you hunt for the order they are "
        "about. From **" + _day(prompt.effective) + "** the prompt changes:\n\n"
        "- drafts are at most three short paragraphs;\n"
        "- the first line names the order number and its status;\n"
        "- a ticket about two orders gets a draft about the newest one, and a note for you.\n\n"
        "Nothing else changes. Tell us with the feedback button if a draft gets worse.",
        audience=NoticeAudience.COHORTS,
        include_followers=True,
        requires_ack=True,
        reads={
            MEMBER: (READ, s.when(13, 9, 15)),
            "lukas.schmidt@example.com": (ACK, s.when(14, 9, 30)),
            "sofia.rossi@example.com": (ACK, s.when(14, 11, 0)),
            "jonas.berg@example.com": (ACK, s.when(12, 8, 45)),
            EXEC: (READ, s.when(14, 17, 10)),
        },
    )
    _incident_explanation(s, eu)
    _urgent_refunds(s, eu)
    _model_change(s)


def _incident_explanation(s: Story, eu: Cohort) -> None:
    """The explanation closing the incident published at once (demo_feedback): delivered then,
    and read by the people it affected."""
    incident = Incident.objects.filter(workflow=s.workflow, title=INCIDENT_TITLE).first()
    if incident is None or incident.closed_at is None:
        return
    notice = ChangeNotice.objects.filter(
        incident=incident, kind=NoticeKind.INCIDENT_EXPLANATION, status=NoticeStatus.PUBLISHED
    ).first()
    if notice is None:
        return
    closed = incident.closed_at
    with s.at(closed):
        notice_deliveries_send(now=closed)
    s.record_reads(
        notice,
        {
            MEMBER: (READ, closed + timedelta(hours=1, minutes=10)),
            "lukas.schmidt@example.com": (READ, closed + timedelta(hours=3)),
            "sofia.rossi@example.com": (READ, closed + timedelta(hours=19)),
        },
    )


def _urgent_refunds(s: Story, eu: Cohort) -> None:
    """Effective sooner than the lead time: urgent, with a reason, approved by the ops leader."""
    s.announce(
        None,
        Timeline(
            drafted=s.when(1, 14, 30),
            scheduled=s.when(1, 14, 45),
            approved=s.when(1, 16, 10),
            publish=s.when(1, 16, 30),
            effective=s.when(-1, 8),
        ),
        cohorts=[eu],
        kind=NoticeKind.PROMPT_CHANGE,
        title="From tomorrow, drafts never mention refunds",
        body="A draft promised a customer a full refund for a damaged item. Refunds are never "
        "drafted, and the drafts should not have talked about them at all.\n\n"
        "From **tomorrow morning** a check removes any sentence about refunds, credits or "
        "compensation from a draft, and the sidebar tells you it did.\n\n"
        "Until then, **read every draft for refund wording** before you send it.",
        audience=NoticeAudience.COHORTS,
        include_followers=True,
        requires_ack=True,
        urgent_reason="A draft promised a customer a full refund. Every day we wait means more "
        "drafts that can promise money we do not owe; the check is ready and tested.",
        reads={
            "lukas.schmidt@example.com": (ACK, s.when(1, 16, 50)),
            "sofia.rossi@example.com": (READ, s.when(1, 17, 5)),
            "jonas.berg@example.com": (ACK, s.when(1, 18, 20)),
        },
    )


def _model_change(s: Story) -> None:
    """Scheduled, not yet published: it publishes in two days and takes effect in nine."""
    start = s.when(-2, 9)
    publish, effective = s.clear_of_blackouts(start, s.when(-9, 9) - start)
    notice_create_scheduled(
        workflow=s.workflow,
        actor=s.owner,
        kind=NoticeKind.MODEL_CHANGE,
        title="Drafts move to gpt-5 (2025-08-07)",
        body=f"From **{_day(effective)}** Support reply drafting uses **OpenAI · gpt-5 · "
        "2025-08-07** instead of gpt-4.1.\n\n"
        "## What changes for you\n\n"
        "- Drafts in German and French read more naturally in our tests.\n"
        "- The first draft takes about a second longer to appear.\n\n"
        "Quality is measured against a new baseline from the change, and the thresholds still "
        "apply: if the error rate rises, the roll-out pauses on its own.",
        audience=NoticeAudience.EVERYONE,
        include_followers=True,
        requires_ack=True,
        reminder_hours=48,
        publish_at=publish,
        effective_at=effective,
    )


# --- Contract clause review ----------------------------------------------------------------------


def _contracts(s: Story) -> None:
    for name, phase, effective_days_ago, body, reads in (
        (
            "Commercial counsel",
            "limited",
            60,
            "From **{day}** each customer contract you open in the contract tool shows the "
            "non-standard clauses flagged, with fallback wording from the playbook beside "
            "them.\n\n- You decide: a suggestion is never sent without you.\n"
            "- Mark a missed clause with “Missed”; Legal Ops reviews them every week.",
            {
                "grace.liu@example.com": (ACK, 67),
                "samuel.adeyemi@example.com": (READ, 66),
            },
        ),
        (
            "Procurement reviewers",
            "broad",
            54,
            "From **{day}** supplier contracts reach you with the non-standard clauses already "
            "flagged, before they go to Legal.\n\n"
            "- Check the liability caps and renewal terms it flags first.\n"
            "- Mark a missed clause with “Missed”: counsel sees it too.",
            {"nora.lindqvist@example.com": (ACK, 61)},
        ),
    ):
        cohort = Cohort.objects.filter(workflow=s.workflow, name=name).first()
        if cohort is None:
            continue
        effective = s.when(effective_days_ago, 9)
        publish = s.when(effective_days_ago + 8, 9)
        s.announce(
            _enrolment_draft(s.workflow, cohort),
            Timeline(
                drafted=s.when(effective_days_ago + 10, 15),
                scheduled=s.when(effective_days_ago + 9, 11),
                publish=publish,
                effective=effective,
            ),
            cohorts=[cohort],
            kind=NoticeKind.COHORT_ENROLMENT,
            title=f"The {phase} roll-out starts for you",
            body=f"You are in **{name}**.\n\n" + body.format(day=_day(effective)),
            audience=NoticeAudience.COHORTS,
            include_followers=False,
            requires_ack=True,
            reads={
                email: (state, s.when(days_ago, 10, 30))
                for email, (state, days_ago) in reads.items()
            },
        )


STORIES = {
    "support-reply-drafting": (EU_COHORT, _support),
    "contract-clause-review": ("Commercial counsel", _contracts),
}


def demo_notices_seed(*, workflow: Workflow, users: dict[str, User]) -> bool:
    """Tell `workflow`'s notice story, if it has one, its demo plan (the cohort the story needs)
    is there and none of its notices has been scheduled yet. Returns whether it did."""
    story = STORIES.get(workflow.slug)
    if story is None:
        return False
    cohort, tell = story
    if not Cohort.objects.filter(workflow=workflow, name=cohort).exists():
        return False
    # An incident's explanation is published when the incident closes (demo_feedback), before
    # the story is told: it does not count as the story's.
    told = ChangeNotice.objects.filter(workflow=workflow, incident__isnull=True)
    if told.exclude(status=NoticeStatus.DRAFT).exists():
        return False
    s = Story(workflow=Workflow.objects.select_related("owner").get(pk=workflow.pk), users=users)
    with demo_mailer():
        tell(s)
    s.finish()
    return True

"""Feedback, an escalation and an incident for `seed_demo`, written through the services.

Support reply drafting gets the fullest story: reports of every kind from its live EU agents (some
through the AI tool's API, one from an outsourced agent Rollout does not know), triaged by its
owner to every status, with comments, "me too" votes and a merged duplicate. A run of wrong
return windows became an incident, now closed with its explanation drafted. Two hours ago an agent
reported a harmful draft: the escalation it opened went unacknowledged at level 1 and now waits at
level 2 (the ops leader). Contract clause review gets a few reports from counsel.

The services stamp rows with the real clock; `Story.at` moves what one step wrote to when it
happened (demo history, as in rollout.management.demo.planning: only timestamps move). Steps are
written in the order they happened, so "last changed" times come out right.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import F, Max, Model
from django.utils import timezone

from accounts.models import User
from rollout.lib.markdown import render_markdown
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    Cohort,
    Escalation,
    EscalationEvent,
    Feedback,
    FeedbackCategory,
    FeedbackComment,
    FeedbackRating,
    FeedbackStatus,
    FeedbackVote,
    Incident,
    NoticeKind,
    Notification,
    Severity,
    Workflow,
)
from rollout.services.escalations import escalations_advance
from rollout.services.feedback import (
    feedback_comment_add,
    feedback_create,
    feedback_merge,
    feedback_triage,
    feedback_vote,
)
from rollout.services.incidents import (
    incident_close,
    incident_notice_draft,
    incident_open,
    incident_update_add,
)

OPS = "ops@example.com"
MEMBER = "member@example.com"
EU_COHORT = "EU tier-1 agents"
INCIDENT_TITLE = "Drafts quoted the old 30-day return window"
# The harmful report was filed this long ago; level 1 (30 minutes) let it climb to level 2.
HARMFUL_AGO = timedelta(hours=2)

# Every timestamp a step may write, per model, with the path from the row to its workflow.
_STAMPED: tuple[tuple[type[Model], str, tuple[str, ...]], ...] = (
    (ActivityEntry, "workflow", ("created_at",)),
    (Notification, "workflow", ("created_at",)),
    (Feedback, "workflow", ("created_at", "updated_at")),
    (FeedbackComment, "feedback__workflow", ("created_at",)),
    (FeedbackVote, "feedback__workflow", ("created_at",)),
    (Incident, "workflow", ("opened_at",)),
)


@dataclass
class Story:
    workflow: Workflow
    users: dict[str, User]
    now: datetime = field(default_factory=timezone.now)
    reports: dict[str, Feedback] = field(default_factory=dict)

    def when(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        day = timezone.localdate(self.now) - timedelta(days=days_ago)
        return timezone.make_aware(datetime.combine(day, time(hour, minute)))

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

    def user(self, email: str) -> User:
        return self.users[email]

    def report(
        self,
        key: str,
        when: datetime,
        *,
        by: str,
        rating: str,
        category: str,
        text: str,
        api: bool = False,
    ) -> Feedback:
        """Filed in the app by a demo user, or (`api`) by the AI tool for `by`, an email or an
        external id. Nobody asked for the extra email: the demo does not mail anyone."""
        with self.at(when):
            if api:
                feedback = feedback_create(
                    workflow=self.workflow,
                    rating=rating,
                    category=category,
                    text=text,
                    user_ref=by,
                    source="api",
                    notify_by_email=False,
                )
            else:
                feedback = feedback_create(
                    workflow=self.workflow,
                    rating=rating,
                    category=category,
                    text=text,
                    author=self.user(by),
                    notify_by_email=False,
                )
        self.reports[key] = feedback
        return feedback

    def triage(self, key: str, when: datetime, *, by: str, **changes: object) -> None:
        with self.at(when):
            self.reports[key] = feedback_triage(
                feedback=self.reports[key], actor=self.user(by), **changes
            )

    def comment(self, key: str, when: datetime, *, by: str, text: str) -> None:
        with self.at(when):
            feedback_comment_add(feedback=self.reports[key], author=self.user(by), text=text)

    def vote(self, key: str, when: datetime, *, by: str) -> None:
        with self.at(when):
            feedback_vote(feedback=self.reports[key], user=self.user(by), notify_by_email=False)

    def merge(self, key: str, into: str, when: datetime, *, by: str) -> None:
        with self.at(when):
            feedback_merge(
                duplicate=self.reports[key], into=self.reports[into], actor=self.user(by)
            )

    def finish(self) -> None:
        latest = ActivityEntry.objects.filter(workflow=self.workflow).aggregate(
            at=Max("created_at")
        )
        Workflow.objects.filter(pk=self.workflow.pk).update(last_activity_at=latest["at"])


# --- Support reply drafting ----------------------------------------------------------------------


def _support(s: Story) -> None:
    owner = s.workflow.owner.email
    s.report(
        "praise",
        s.when(15, 14, 20),
        by=MEMBER,
        rating=FeedbackRating.HELPFUL,
        category=FeedbackCategory.PRAISE,
        text="Late-delivery ticket: the draft had the right tracking link, carrier and the new "
        "delivery date from the order. I sent it with one word changed.",
    )
    s.triage(
        "praise",
        s.when(15, 16, 5),
        by=owner,
        status=FeedbackStatus.ACKNOWLEDGED,
        severity=Severity.LOW,
    )
    s.report(
        "slow",
        s.when(12, 9, 10),
        by="jonas.berg@example.com",
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.SLOW,
        text="On Monday mornings the draft takes 8–10 seconds to appear. By then I have started "
        "typing the reply myself.",
    )
    s.vote("slow", s.when(12, 9, 40), by=MEMBER)
    s.report(
        "no-contact-form",
        s.when(11, 13, 30),
        by="camille.dubois@example.com",
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.MISSING_CAPABILITY,
        text="Tickets from the German contact form never get a draft, only emailed tickets do.",
    )
    s.triage(
        "slow",
        s.when(11, 15, 0),
        by=owner,
        status=FeedbackStatus.IN_PROGRESS,
        severity=Severity.MEDIUM,
        assignee=s.workflow.owner,
    )
    s.comment(
        "slow",
        s.when(11, 15, 5),
        by=owner,
        text="The Monday backlog hits the model's rate limit. We are moving drafting to a "
        "queue with a higher limit; I will post here when it is live.",
    )
    s.vote("slow", s.when(11, 16, 30), by="lukas.schmidt@example.com")
    s.report(
        "two-orders",
        s.when(10, 10, 45),
        by=MEMBER,
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.CONFUSING,
        text="When a customer writes about two orders the draft mixes them up: the first "
        "paragraph is about one order and the tracking link is for the other.",
    )
    s.triage(
        "no-contact-form",
        s.when(10, 11, 30),
        by=owner,
        status=FeedbackStatus.WONT_FIX,
        severity=Severity.LOW,
    )
    s.comment(
        "no-contact-form",
        s.when(10, 11, 32),
        by=owner,
        text="Contact-form tickets come in through the German brand, which is outside this "
        "pilot. They are part of the broad roll-out plan, so I am closing this one here.",
    )
    s.triage(
        "two-orders",
        s.when(10, 14, 0),
        by=owner,
        status=FeedbackStatus.ACKNOWLEDGED,
        severity=Severity.MEDIUM,
    )
    s.comment(
        "two-orders",
        s.when(10, 14, 2),
        by=owner,
        text="Thanks, Maya. Could you add a ticket number or two? I want to see which orders "
        "the draft was given.",
    )
    s.comment(
        "two-orders",
        s.when(10, 15, 20),
        by=MEMBER,
        text="ZD-48213, and ZD-48390 this morning. Both customers had a second order in the "
        "last week.",
    )
    s.vote("two-orders", s.when(9, 10, 0), by="sofia.rossi@example.com")
    s.triage("two-orders", s.when(9, 11, 0), by=owner, status=FeedbackStatus.IN_PROGRESS)
    _return_window(s, owner)
    s.report(
        "refund-promised",
        s.when(3, 11, 15),
        by="camille.dubois@example.com",
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.WRONG_OUTPUT,
        text="A draft promised a full refund for a damaged item. Refunds should never be "
        "drafted: I rewrote it and passed the ticket to the refunds team.",
    )
    s.report(
        "sidebar-glitch",
        s.when(3, 16, 40),
        by="zd-agent-5120",
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.OTHER,
        text="The sidebar said 'draft unavailable' on a ticket that had just been reassigned "
        "to me.",
        api=True,
    )
    s.triage(
        "refund-promised",
        s.when(2, 9, 30),
        by=owner,
        status=FeedbackStatus.ACKNOWLEDGED,
        severity=Severity.HIGH,
        assignee=s.workflow.owner,
    )
    s.report(
        "good-german",
        s.when(1, 10, 5),
        by="jonas.berg@example.com",
        rating=FeedbackRating.HELPFUL,
        category=FeedbackCategory.PRAISE,
        text="Very good German reply to a delivery complaint: right tone, and the correct "
        "returns address for Germany.",
        api=True,
    )
    _harmful(s)


def _return_window(s: Story, owner: str) -> None:
    """Reports of a wrong return window, a duplicate merged, and the incident they led to."""
    wrong = s.report(
        "return-window",
        s.when(8, 10, 40),
        by="sofia.rossi@example.com",
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.WRONG_OUTPUT,
        text="The draft told a customer she has 30 days to return her order. Since the policy "
        "change it is 14 days.",
    )
    s.report(
        "return-window-dup",
        s.when(8, 10, 55),
        by="lukas.schmidt@example.com",
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.WRONG_OUTPUT,
        text="Return period in the draft is wrong (says 30 days).",
        api=True,
    )
    s.vote("return-window", s.when(8, 11, 0), by="camille.dubois@example.com")
    s.merge("return-window-dup", "return-window", s.when(8, 11, 10), by=owner)
    s.triage(
        "return-window",
        s.when(8, 11, 15),
        by=owner,
        status=FeedbackStatus.IN_PROGRESS,
        severity=Severity.HIGH,
        assignee=s.workflow.owner,
    )
    cohort = Cohort.objects.get(workflow=s.workflow, name=EU_COHORT)
    with s.at(s.when(8, 11, 30)):
        incident = incident_open(
            workflow=s.workflow,
            actor=s.workflow.owner,
            title=INCIDENT_TITLE,
            started_at=s.when(8, 9, 0),
            detected_by=f"Agent feedback (#{wrong.pk} and a duplicate)",
            impact="EU tier-1 agents got drafts quoting a 30-day return window instead of 14 "
            "days, for about a day and a half. 41 drafts mentioned returns; 6 were sent "
            "unchanged.",
            severity=Severity.MEDIUM,
            cohorts=[cohort],
        )
    entries = (
        (
            s.when(8, 11, 45),
            "Cause found: this week's help-centre macros export was skipped, so the drafts "
            "used last week's macros, from before the returns policy changed.",
        ),
        (
            s.when(8, 12, 30),
            "Returns macros taken out of the drafting context; EU agents told in their channel "
            "to check every return window by hand until further notice.",
        ),
        (
            s.when(7, 16, 0),
            "Fresh export loaded and compared with the Help Center. The 6 customers who got "
            "the wrong window were sent a correction.",
        ),
        (
            s.when(5, 10, 0),
            "Two working days without a wrong return window. The export check now rejects an "
            "export older than 8 days.",
        ),
    )
    for at, text in entries:
        with s.at(at):
            incident_update_add(incident=incident, actor=s.workflow.owner, text=text, at=at)
    s.comment(
        "return-window",
        s.when(5, 10, 10),
        by=owner,
        text="Fixed: the macros are current again, and a stale export is now refused. "
        "Thanks for the quick reports.",
    )
    s.triage("return-window", s.when(5, 10, 12), by=owner, status=FeedbackStatus.RESOLVED)
    closed = s.when(4, 9, 30)
    with s.at(closed):
        incident = incident_close(
            incident=incident,
            actor=s.workflow.owner,
            what_happened="For about a day and a half, reply drafts told customers they had 30 "
            "days to return an order. The returns window has been 14 days since the policy "
            "change: the drafts were using last week's copy of the help-centre macros, because "
            "this week's copy was not loaded.",
            what_changed="The macros are current again, and an out-of-date copy is now refused "
            "instead of used. Customers who were given the wrong window have been sent a "
            "correction.",
        )
    # Closed then, not now: the notice's timeline ends with the closing time.
    incident.closed_at = closed
    title, body = incident_notice_draft(incident, cohorts=list(incident.cohorts.all()))
    Incident.objects.filter(pk=incident.pk).update(
        closed_at=closed, notice_title=title, notice_body=body
    )
    # Its explanation was published as it closed: then, with those texts.
    ChangeNotice.objects.filter(incident=incident, kind=NoticeKind.INCIDENT_EXPLANATION).update(
        title=title,
        body=body,
        body_html=render_markdown(body),
        created_at=closed,
        publish_at=closed,
        effective_at=closed,
        published_at=closed,
    )


def _harmful(s: Story) -> None:
    """The harmful report opens an escalation; level 1 does not acknowledge within 30 minutes,
    so the scheduler's tick notifies level 2, where it waits."""
    opened = s.now - HARMFUL_AGO
    feedback = s.report(
        "harmful",
        opened,
        by=MEMBER,
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.HARMFUL,
        text="The draft for a customer asking about her parcel included another customer's "
        "name and delivery address, from a different order. I did not send it (ZD-48811).",
    )
    escalation = Escalation.objects.get(feedback=feedback)
    shift = escalation.opened_at - opened
    Escalation.objects.filter(pk=escalation.pk).update(
        opened_at=opened, next_step_at=F("next_step_at") - shift
    )
    EscalationEvent.objects.filter(escalation=escalation).update(at=F("at") - shift)
    escalation.refresh_from_db()
    # The tick runs on time when level 1's response target has passed.
    due = escalation.next_step_at
    with s.at(due):
        escalations_advance(now=due)


# --- Contract clause review ----------------------------------------------------------------------


def _contracts(s: Story) -> None:
    owner = s.workflow.owner.email
    s.report(
        "fallback-wording",
        s.when(33, 15, 0),
        by="samuel.adeyemi@example.com",
        rating=FeedbackRating.HELPFUL,
        category=FeedbackCategory.PRAISE,
        text="The fallback wording for the auto-renewal clause was exactly what I would have "
        "proposed. It saved me half an hour on the reseller agreement.",
    )
    s.triage("fallback-wording", s.when(32, 9, 0), by=owner, status=FeedbackStatus.ACKNOWLEDGED)
    s.report(
        "missed-cap",
        s.when(3, 14, 10),
        by="grace.liu@example.com",
        rating=FeedbackRating.NOT_HELPFUL,
        category=FeedbackCategory.WRONG_OUTPUT,
        text="The uncapped indemnity in the supplier MSA was not flagged. This is the clause "
        "type that was missed before the pause.",
    )
    s.vote("missed-cap", s.when(2, 10, 0), by="samuel.adeyemi@example.com")
    s.triage(
        "missed-cap",
        s.when(2, 11, 0),
        by=owner,
        status=FeedbackStatus.IN_PROGRESS,
        severity=Severity.HIGH,
        assignee=s.workflow.owner,
    )


STORIES = {
    "support-reply-drafting": (EU_COHORT, _support),
    "contract-clause-review": ("Commercial counsel", _contracts),
}


def demo_feedback_seed(*, workflow: Workflow, users: dict[str, User]) -> bool:
    """Tell `workflow`'s feedback story, if it has one and its demo plan (the cohort the story
    needs) is there. Returns whether it did."""
    story = STORIES.get(workflow.slug)
    if story is None:
        return False
    cohort, tell = story
    if not Cohort.objects.filter(workflow=workflow, name=cohort).exists():
        return False
    s = Story(workflow=Workflow.objects.select_related("owner").get(pk=workflow.pk), users=users)
    tell(s)
    s.finish()
    return True

"""The roll-out plans of the demo workflows, for `seed_demo`: built through the services.

Each workflow's plan is a short story told step by step. After each step `History.on(days_ago)`
back-dates the rows that step wrote, so the demo shows weeks of history and the gates' minimum
durations are met the way they would be in real life.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Max, Model
from django.utils import timezone

from accounts.models import User
from rollout.models import (
    ActivityEntry,
    AIConfiguration,
    BlackoutWindow,
    BreachAction,
    Cohort,
    CohortMember,
    Comparator,
    DataSource,
    EnrolmentPhase,
    EnrolmentSetting,
    EscalationChannel,
    FallbackMode,
    Metric,
    Phase,
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
    ReadinessAnswer,
    ReadinessAnswerValue,
    ReadinessQuestion,
    SourceKind,
    Threshold,
    ThresholdScope,
    Verdict,
    Workflow,
)
from rollout.services.blackouts import blackout_create
from rollout.services.cohorts import cohort_create, cohort_enrol, cohort_members_add
from rollout.services.data_sources import data_source_create
from rollout.services.escalation_path import escalation_level_add
from rollout.services.phase_control import phase_pause, phase_resume
from rollout.services.phases import add_months, plan_create_default
from rollout.services.plan_settings import plan_settings_update
from rollout.services.promotions import (
    promotion_approve,
    promotion_execute,
    promotion_override,
    promotion_request,
)
from rollout.services.readiness import readiness_answer
from rollout.services.thresholds import threshold_create

OPS = "ops@example.com"
MEMBER = "member@example.com"

# The people in the demo cohorts, besides the four logins: (email, display name).
EU_AGENTS = (
    ("lukas.schmidt@example.com", "Lukas Schmidt"),
    ("sofia.rossi@example.com", "Sofia Rossi"),
    ("camille.dubois@example.com", "Camille Dubois"),
    ("jonas.berg@example.com", "Jonas Berg"),
)
US_AGENTS = (
    ("marcus.johnson@example.com", "Marcus Johnson"),
    ("ashley.rivera@example.com", "Ashley Rivera"),
    ("tyler.brooks@example.com", "Tyler Brooks"),
)
AP_CLERKS = (
    ("aoife.murphy@example.com", "Aoife Murphy"),
    ("conor.walsh@example.com", "Conor Walsh"),
)
COUNSEL = (
    ("grace.liu@example.com", "Grace Liu"),
    ("samuel.adeyemi@example.com", "Samuel Adeyemi"),
)
PROCUREMENT = (
    ("nora.lindqvist@example.com", "Nora Lindqvist"),
    ("ben.carter@example.com", "Ben Carter"),
)
COHORT_PEOPLE = EU_AGENTS + US_AGENTS + AP_CLERKS + COUNSEL + PROCUREMENT

ORG_BLACKOUT_NAME = "Q4 close"
DEMO_OVERRIDE_REASON = "Demo history: approved despite the gate to show a workflow at this phase."

# Every timestamp a plan step may write, per model, with the path from the row to its workflow.
_STAMPED: tuple[tuple[type[Model], str, tuple[str, ...]], ...] = (
    (Workflow, "pk", ("created_at",)),
    (ActivityEntry, "workflow", ("created_at",)),
    (Phase, "workflow", ("actual_start", "actual_end", "paused_at", "baseline_start")),
    (AIConfiguration, "workflow", ("effective_at", "recorded_at")),
    (DataSource, "workflow", ("created_at",)),
    (ReadinessAnswer, "workflow", ("answered_at",)),
    (Cohort, "workflow", ("created_at", "enrolled_at")),
    (CohortMember, "cohort__workflow", ("added_at",)),
    (EnrolmentSetting, "workflow", ("effective_at",)),
    (Threshold, "workflow", ("created_at", "updated_at")),
    (PromotionRequest, "workflow", ("requested_at", "decided_at")),
    (PromotionApproval, "request__workflow", ("created_at",)),
    (BlackoutWindow, "workflow", ("created_at",)),
)


@dataclass
class History:
    """Back-dates what the services wrote for one workflow during this run of the command."""

    workflow: Workflow
    # When the command started: every row written since then is "now" and not yet back-dated.
    started: datetime
    users: dict[str, User]
    today: date = field(default_factory=timezone.localdate)

    @property
    def owner(self) -> User:
        return self.workflow.owner

    @property
    def ops(self) -> User:
        return self.users[OPS]

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    def on(self, days_ago: int, hour: int = 10) -> None:
        """Move what was written since the last call to `days_ago` days ago at `hour`.

        Demo history, not a domain write: the services stamp rows with the real clock, and a demo
        whose whole plan happened in one second would show no timeline and fail every minimum
        duration. Only timestamps move, with queryset updates; nothing else is changed.
        """
        if days_ago < 1:
            raise ValueError("Demo history is back-dated by at least a day.")
        when = timezone.make_aware(datetime.combine(self.day(days_ago), time(hour)))
        for model, path, names in _STAMPED:
            rows = model.objects.filter(**{path: self.workflow.pk})
            for name in names:
                rows.filter(**{f"{name}__gte": self.started}).update(**{name: when})

    def finish(self) -> None:
        latest = ActivityEntry.objects.filter(workflow=self.workflow).aggregate(
            at=Max("created_at")
        )
        Workflow.objects.filter(pk=self.workflow.pk).update(last_activity_at=latest["at"])

    def people(self, pairs: tuple[tuple[str, str], ...], *extra: str) -> list[User]:
        return [self.users[email] for email in (*extra, *(e for e, _ in pairs))]

    def promote(self, note: str) -> PromotionRequest:
        """The owner asks, the ops leader approves (or overrides a failing gate), and it runs."""
        request = promotion_request(workflow=self.workflow, actor=self.owner, note=note)
        if all(item["status"] == Verdict.PASS for item in request.gate_snapshot):
            request = promotion_approve(request=request, actor=self.ops, note="Gate passes.")
        else:
            request = promotion_override(
                request=request, actor=self.ops, reason=DEMO_OVERRIDE_REASON
            )
        if request.status != PromotionStatus.EXECUTED:
            request = promotion_execute(request=request, actor=self.ops)
        return request

    def answer(self, question: str, answer: str, evidence: str) -> None:
        readiness_answer(
            workflow=self.workflow,
            actor=self.owner,
            question=question,
            answer=answer,
            evidence=evidence,
        )

    def settings(self, **changes: object) -> None:
        workflow = Workflow.objects.get(pk=self.workflow.pk)
        values = {
            "lead_time_days": workflow.lead_time_days,
            "required_approvals": workflow.required_approvals,
            "review_cadence_days": workflow.review_cadence_days,
            "next_review_due": workflow.next_review_due,
            "fallback_mode": workflow.fallback_mode,
        }
        plan_settings_update(workflow=workflow, actor=self.owner, **(values | changes))


def _source(h: History, days_verified_ago: int, **fields: str) -> None:
    data_source_create(
        workflow=h.workflow, actor=h.owner, last_verified_at=h.day(days_verified_ago), **fields
    )


def _threshold(h: History, **fields: object) -> None:
    defaults = {
        "marginal_limit": None,
        "window_days": 7,
        "min_sample": 100,
        "scope": ThresholdScope.WORKFLOW,
    }
    threshold_create(workflow=h.workflow, actor=h.owner, **(defaults | fields))


def _cohort(
    h: History, name: str, description: str, members: list[User], phase: str, percentage: int
) -> None:
    cohort = cohort_create(workflow=h.workflow, name=name, description=description, actor=h.owner)
    cohort_members_add(cohort=cohort, users=members, actor=h.owner)
    cohort_enrol(cohort=cohort, phase=phase, percentage=percentage, actor=h.owner)


# --- Support reply drafting: in the limited roll-out, everything in order -----------------------


def _support(h: History) -> None:
    h.on(82)  # the workflow itself was created a few days before its plan
    plan_create_default(workflow=h.workflow, start_date=h.day(75), actor=h.owner)
    h.on(75, 9)
    _source(
        h,
        3,
        name="Zendesk tickets",
        kind=SourceKind.LIVE,
        description="New and updated tier-1 tickets, with the customer's last five orders.",
        freshness="Updated within 5 minutes",
        validation="Webhook signatures are checked; a ticket without a requester is skipped; "
        "an alert fires when no ticket arrives for 30 minutes in business hours.",
        version="Zendesk API v2",
    )
    _source(
        h,
        6,
        name="Help-centre macros export",
        kind=SourceKind.STATIC_EXPORT,
        live_equivalent="Zendesk Help Center API (macros endpoint)",
        description="The approved reply macros, exported weekly while the API access is set up.",
        freshness="Re-exported every Monday",
        validation="Row count compared with the previous export; macros with an empty body "
        "are rejected.",
        version="Export of 16 Nov 2026",
    )
    h.on(74)
    escalation_level_add(
        workflow=h.workflow,
        actor=h.owner,
        contact=h.owner,
        channel=EscalationChannel.IN_APP,
        response_target_minutes=30,
    )
    escalation_level_add(
        workflow=h.workflow,
        actor=h.owner,
        contact=h.ops,
        channel=EscalationChannel.EMAIL,
        response_target_minutes=120,
    )
    h.on(73)
    h.answer(
        ReadinessQuestion.LIVE_DATA,
        ReadinessAnswerValue.YES,
        "Tickets come from the Zendesk webhook; macros are mapped to the Help Center API.",
    )
    h.answer(
        ReadinessQuestion.NAMED_OWNER,
        ReadinessAnswerValue.YES,
        "Owen Clarke, support operations lead.",
    )
    h.answer(
        ReadinessQuestion.ESCALATION_PATH,
        ReadinessAnswerValue.YES,
        "Two levels: Owen in-app (30 min), then Olivia by email.",
    )
    h.answer(
        ReadinessQuestion.LOGGING,
        ReadinessAnswerValue.YES,
        "Every draft, edit and send is logged with the ticket id.",
    )
    h.on(70)
    h.promote("Sources documented and the escalation path is in place: ready for shadow mode.")
    h.on(47, 11)
    _threshold(
        h,
        metric=Metric.ERROR_RATE,
        comparator=Comparator.AT_MOST,
        limit=0.02,
        marginal_limit=0.03,
        bad_output="A draft that states a wrong order status, refund amount or policy.",
        action=BreachAction.PAUSE_ROLLOUT,
    )
    _threshold(
        h,
        metric=Metric.OVERRIDE_RATE,
        comparator=Comparator.AT_MOST,
        limit=0.15,
        bad_output="An agent throws the draft away and writes the reply from scratch.",
        action=BreachAction.BLOCK_PROMOTION,
    )
    _threshold(
        h,
        metric=Metric.ACCEPTANCE_RATE,
        comparator=Comparator.AT_LEAST,
        limit=0.6,
        window_days=14,
        bad_output="Fewer than six in ten drafts are sent with light edits or none.",
        action=BreachAction.ALERT,
    )
    h.settings(review_cadence_days=90, next_review_due=add_months(h.day(75), 6))
    h.on(45)
    _cohort(
        h,
        "EU tier-1 agents",
        "The Dublin and Berlin tier-1 queue, English and German tickets.",
        h.people(EU_AGENTS, MEMBER),
        EnrolmentPhase.LIMITED,
        100,
    )
    _cohort(
        h,
        "US tier-1 agents",
        "The Austin tier-1 queue; a quarter of the agents start with the broad roll-out.",
        h.people(US_AGENTS),
        EnrolmentPhase.BROAD,
        25,
    )
    h.on(40)
    h.answer(
        ReadinessQuestion.THRESHOLDS,
        ReadinessAnswerValue.YES,
        "Error, override and acceptance rate thresholds are set.",
    )
    h.answer(
        ReadinessQuestion.BAD_OUTPUT_HANDLING,
        ReadinessAnswerValue.YES,
        "Agents flag a bad draft with one click; flagged drafts go to the weekly prompt review.",
    )
    h.answer(
        ReadinessQuestion.FAILURE_MODES,
        ReadinessAnswerValue.YES,
        "Agents' 45-minute training covers wrong order data, invented policies and tone.",
    )
    h.answer(
        ReadinessQuestion.SHADOW_RUN,
        ReadinessAnswerValue.YES,
        "Three weeks in shadow: 91% of drafts matched the sent reply.",
    )
    h.answer(
        ReadinessQuestion.COMMUNICATION_PLAN,
        ReadinessAnswerValue.YES,
        "EU agents told at the team meeting of 29 Oct; FAQ on the support wiki.",
    )
    h.on(26)
    h.promote("Shadow agreement is steady and the EU agents have been briefed.")
    h.on(19, 9)


# --- Invoice coding: in shadow, a promotion to limited waits for an ops leader -------------------


def _invoices(h: History) -> None:
    h.on(50)
    plan_create_default(workflow=h.workflow, start_date=h.day(44), actor=h.owner)
    h.on(44, 9)
    _source(
        h,
        2,
        name="AP mailbox",
        kind=SourceKind.LIVE,
        description="Supplier invoices (PDF) arriving in ap@, read through Microsoft Graph.",
        freshness="Read within 10 minutes of arrival",
        validation="Duplicate invoice numbers per supplier are rejected; unreadable PDFs go to "
        "a manual queue.",
        version="Graph API v1.0",
    )
    _source(
        h,
        5,
        name="Chart of accounts",
        kind=SourceKind.STATIC_EXPORT,
        live_equivalent="SAP S/4HANA G/L accounts OData service",
        description="Ledger accounts and cost centres, exported from SAP each night.",
        freshness="Nightly",
        validation="Accounts blocked for posting are dropped from the export.",
        version="FY2026",
    )
    escalation_level_add(
        workflow=h.workflow,
        actor=h.owner,
        contact=h.owner,
        channel=EscalationChannel.EMAIL,
        response_target_minutes=60,
    )
    h.on(42)
    h.answer(
        ReadinessQuestion.NAMED_OWNER, ReadinessAnswerValue.YES, "Priya Shah, finance systems."
    )
    h.answer(
        ReadinessQuestion.ESCALATION_PATH,
        ReadinessAnswerValue.YES,
        "Priya by email within an hour.",
    )
    h.answer(
        ReadinessQuestion.LIVE_DATA,
        ReadinessAnswerValue.YES,
        "Invoices from the live mailbox; the chart of accounts is mapped to the SAP OData service.",
    )
    h.on(40)
    h.promote("Both inputs are documented; shadow coding can start beside the AP clerks.")
    h.on(16, 11)
    # Added during shadow and not documented yet: the owner's to-do, shown on the sources page.
    data_source_create(
        workflow=h.workflow,
        actor=h.owner,
        name="Cost-centre owners",
        kind=SourceKind.LIVE,
        description="Who approves spend on each cost centre, from the HR system.",
    )
    _threshold(
        h,
        metric=Metric.ERROR_RATE,
        comparator=Comparator.AT_MOST,
        limit=0.03,
        marginal_limit=0.05,
        bad_output="A line coded to the wrong ledger account or with the wrong VAT treatment.",
        action=BreachAction.BLOCK_PROMOTION,
    )
    _cohort(
        h,
        "Dublin AP clerks",
        "The accounts-payable clerks who approve coded invoices in the ERP.",
        h.people(AP_CLERKS),
        EnrolmentPhase.LIMITED,
        100,
    )
    h.on(9)
    h.answer(
        ReadinessQuestion.LOGGING,
        ReadinessAnswerValue.YES,
        "Each proposal is stored with the invoice id and the model's reasons.",
    )
    h.answer(
        ReadinessQuestion.SHADOW_RUN,
        ReadinessAnswerValue.YES,
        "Nine days in shadow: 94% of lines coded as the clerks did.",
    )
    h.answer(
        ReadinessQuestion.BAD_OUTPUT_HANDLING,
        ReadinessAnswerValue.PARTLY,
        "Clerks correct the coding in the ERP; the corrections are not yet fed back.",
    )
    h.answer(
        ReadinessQuestion.FAILURE_MODES,
        ReadinessAnswerValue.PARTLY,
        "Briefed the Dublin clerks; the Cork team not yet.",
    )
    h.on(5)
    blackout_create(
        workflow=h.workflow,
        actor=h.owner,
        name="Month-end close",
        **_month_end(timezone.now()),
    )
    h.on(3)
    promotion_request(
        workflow=h.workflow,
        actor=h.owner,
        note="Shadow coding has matched the clerks on 94% of lines for two weeks; ready for "
        "the Dublin AP clerks.",
    )
    h.on(1, 15)


def _month_end(now: datetime) -> dict[str, datetime]:
    """The last three days of the first month whose close is still wholly ahead."""
    local = timezone.localtime(now).date()
    year, month = local.year, local.month
    while True:
        last = date(year, month, calendar.monthrange(year, month)[1])
        starts = timezone.make_aware(datetime.combine(last - timedelta(days=2), time()))
        if starts > now:
            ends = timezone.make_aware(datetime.combine(last + timedelta(days=2), time()))
            return {"starts_at": starts, "ends_at": ends}
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


# --- Sales lead scoring: still in the data audit, one export unmapped ---------------------------


def _leads(h: History) -> None:
    h.on(12)
    plan_create_default(workflow=h.workflow, start_date=h.day(9), actor=h.owner)
    h.on(9, 9)
    _source(
        h,
        4,
        name="HubSpot form submissions",
        kind=SourceKind.LIVE,
        description="Inbound leads from the website forms, with UTM source and company size.",
        freshness="Within 15 minutes",
        validation="Submissions without a company domain are scored as low fit, not dropped.",
        version="HubSpot CRM API v3",
    )
    _source(
        h,
        4,
        name="Trade-show leads 2026",
        kind=SourceKind.STATIC_EXPORT,
        description="Badge scans from the spring and autumn trade shows, one CSV per event.",
        freshness="After each event",
        validation="Rows without an email address are dropped; duplicates merged by email.",
        version="Autumn 2026",
    )
    escalation_level_add(
        workflow=h.workflow,
        actor=h.owner,
        contact=h.owner,
        channel=EscalationChannel.EMAIL,
        response_target_minutes=240,
    )
    h.on(6)
    h.answer(
        ReadinessQuestion.NAMED_OWNER,
        ReadinessAnswerValue.YES,
        "Daniel Okafor, revenue operations.",
    )
    h.answer(
        ReadinessQuestion.LIVE_DATA,
        ReadinessAnswerValue.PARTLY,
        "Web forms are live; trade-show leads still arrive as a CSV after each event.",
    )
    h.answer(ReadinessQuestion.LOGGING, ReadinessAnswerValue.NO, "")
    h.on(4)


# --- Contract clause review: in the broad roll-out, paused by hand, resumed, paused by a breach ---


def _contracts(h: History) -> None:
    h.on(118)
    plan_create_default(workflow=h.workflow, start_date=h.day(110), actor=h.owner)
    h.on(110, 9)
    _source(
        h,
        7,
        name="Contract repository",
        kind=SourceKind.LIVE,
        description="Incoming customer and supplier contracts from the contract lifecycle tool.",
        freshness="Within an hour of upload",
        validation="Scanned contracts without a text layer are sent for OCR first.",
        version="Ironclad API 2026-06",
    )
    _source(
        h,
        30,
        name="Legal playbook",
        kind=SourceKind.LIVE,
        description="Standard positions and fallback wording, maintained by Legal Ops.",
        freshness="Same day as a playbook change",
        validation="Each clause type must have a standard and at least one fallback.",
        version="Playbook v7",
    )
    escalation_level_add(
        workflow=h.workflow,
        actor=h.owner,
        contact=h.owner,
        channel=EscalationChannel.IN_APP,
        response_target_minutes=60,
    )
    escalation_level_add(
        workflow=h.workflow,
        actor=h.owner,
        contact=h.ops,
        channel=EscalationChannel.EMAIL,
        response_target_minutes=240,
    )
    h.on(105)
    h.promote("Both sources are live and documented.")
    h.on(82, 11)
    _threshold(
        h,
        metric=Metric.ERROR_RATE,
        comparator=Comparator.AT_MOST,
        limit=0.01,
        marginal_limit=0.02,
        bad_output="A non-standard liability, renewal or data-processing clause is not flagged.",
        action=BreachAction.PAUSE_ROLLOUT,
    )
    _threshold(
        h,
        metric=Metric.OVERRIDE_RATE,
        comparator=Comparator.AT_MOST,
        limit=0.2,
        bad_output="The lawyer rejects the suggested fallback wording.",
        action=BreachAction.BLOCK_PROMOTION,
    )
    h.settings(review_cadence_days=90, next_review_due=add_months(h.day(110), 6))
    _cohort(
        h,
        "Commercial counsel",
        "The two lawyers who review customer contracts.",
        h.people(COUNSEL),
        EnrolmentPhase.LIMITED,
        100,
    )
    _cohort(
        h,
        "Procurement reviewers",
        "Procurement leads who review supplier contracts before Legal.",
        h.people(PROCUREMENT),
        EnrolmentPhase.BROAD,
        100,
    )
    h.on(70)
    for question, evidence in (
        (ReadinessQuestion.LIVE_DATA, "Contracts and the playbook both come from live systems."),
        (
            ReadinessQuestion.BAD_OUTPUT_HANDLING,
            "Lawyers mark a missed clause; each one is reviewed weekly.",
        ),
        (
            ReadinessQuestion.FAILURE_MODES,
            "Counsel walked through ten missed-clause examples in training.",
        ),
        (ReadinessQuestion.NAMED_OWNER, "Hannah Weber, Legal Ops."),
        (ReadinessQuestion.ESCALATION_PATH, "Hannah in-app within an hour, then Olivia by email."),
        (ReadinessQuestion.THRESHOLDS, "Missed-clause and override rates are defined."),
        (ReadinessQuestion.LOGGING, "Every flag and suggestion is logged with the contract id."),
        (ReadinessQuestion.SHADOW_RUN, "Four weeks in shadow on 212 contracts."),
        (
            ReadinessQuestion.COMMUNICATION_PLAN,
            "Announced at the legal all-hands; procurement told by email.",
        ),
    ):
        h.answer(question, ReadinessAnswerValue.YES, evidence)
    h.on(60)
    h.promote("Shadow results reviewed with counsel: start with customer contracts.")
    h.on(54, 11)
    h.promote("Limited roll-out ran clean for four weeks: procurement joins.")
    h.on(26, 11)
    phase_pause(
        workflow=h.workflow,
        actor=h.owner,
        fallback_mode=FallbackMode.OFF,
        reason="Clause extraction missed indemnity caps in 3 contracts; paused while the "
        "prompt is fixed",
    )
    h.on(12, 16)
    phase_resume(workflow=h.workflow, actor=h.owner)
    # What happens next is in the usage (demo_usage): the error rate climbs again in the last
    # days, and its pause_rollout threshold pauses the broad roll-out as soon as it is evaluated.
    h.on(9, 10)


PLANS = {
    "support-reply-drafting": _support,
    "invoice-coding": _invoices,
    "sales-lead-scoring": _leads,
    "contract-clause-review": _contracts,
}


def demo_plan_seed(*, workflow: Workflow, users: dict[str, User], started: datetime) -> None:
    """Build the demo roll-out plan of `workflow` (which has none yet)."""
    history = History(workflow=workflow, started=started, users=users)
    PLANS[workflow.slug](history)
    history.finish()


def org_blackout_dates(now: datetime) -> dict[str, datetime]:
    """The year-end close: 21 December to 1 January, this year's unless it is already over."""
    year = timezone.localtime(now).year
    zone = timezone.get_current_timezone()
    while True:
        starts = datetime(year, 12, 21, tzinfo=zone)
        ends = datetime(year + 1, 1, 1, tzinfo=zone)
        if ends > now:
            return {"starts_at": starts, "ends_at": ends}
        year += 1


def demo_org_blackout_seed(*, ops: User) -> BlackoutWindow | None:
    """The org-wide year-end blackout, unless a window of that name exists already."""
    if BlackoutWindow.objects.filter(workflow=None, name=ORG_BLACKOUT_NAME).exists():
        return None
    return blackout_create(actor=ops, name=ORG_BLACKOUT_NAME, **org_blackout_dates(timezone.now()))

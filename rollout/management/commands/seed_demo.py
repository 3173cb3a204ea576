"""`python manage.py seed_demo [--reset]`: a realistic demo portfolio, built through the services.

Idempotent: a demo user, a demo workflow's roll-out plan, its usage or the org-wide blackout that
already exists is left exactly as it is, so running the command twice changes nothing. `--reset`
deletes the demo data first (demo workflows with their plans, usage, activity and permissions, the
org-wide blackouts demo users made, the demo users) and builds it again.

The usage (rollout.management.demo.usage) goes through the ingestion service, then the rollups,
threshold evaluation and drift run as they would after real ingestion, so the demo opens with its
numbers ready — including the breach that pauses a roll-out. Then feedback
(rollout.management.demo.feedback): reports of every kind and status, a closed incident, and an
escalation waiting at level 2 of Support reply drafting's path. Last, change notices
(rollout.management.demo.notices): published ones, partly read and acknowledged, an urgent one an
ops leader approved, and a scheduled model change. Then reviews (rollout.management.demo.reviews):
a completed one with its snapshot and decisions, one due soon and one overdue. Last, output
reviews (rollout.management.demo.output_reviews): a cohort reviewed at a 10% sample, its review
queue with graded and waiting drafts and a named reviewer, and a pending request for less review.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.utils import timezone

from accounts.models import User
from accounts.roles import EXECUTIVES, OPS_LEADERS
from core.errors import ApplicationError
from rollout.management.demo.briefings import demo_briefing_report, demo_briefings_seed
from rollout.management.demo.costs import demo_costs_seed
from rollout.management.demo.feedback import demo_feedback_seed
from rollout.management.demo.notices import demo_notices_seed
from rollout.management.demo.outcomes import demo_outcomes_seed
from rollout.management.demo.output_reviews import (
    demo_output_reviews_report,
    demo_output_reviews_seed,
)
from rollout.management.demo.planning import (
    COHORT_PEOPLE,
    ORG_BLACKOUT_NAME,
    demo_org_blackout_seed,
    demo_plan_seed,
)
from rollout.management.demo.reviews import demo_review_report, demo_reviews_seed
from rollout.management.demo.sources import demo_sources_seed
from rollout.management.demo.tokens import demo_tokens_seed
from rollout.management.demo.usage import demo_usage_seed
from rollout.models import (
    IN_PROGRESS,
    ActivityEntry,
    BlackoutWindow,
    ChangeNotice,
    CohortDrift,
    DriftStatus,
    Escalation,
    EscalationStatus,
    Feedback,
    Incident,
    NoticeReceipt,
    NoticeStatus,
    Phase,
    UsageEvent,
    Workflow,
)
from rollout.services.ai_config import VERB_OBSERVED
from rollout.services.drift import METRIC_LABELS, drift_evaluate_workflow
from rollout.services.evaluation import thresholds_evaluate_workflow
from rollout.services.workflows import workflow_create, workflow_handover, workflow_update

DEMO_PASSWORD = "rollout-demo"


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    roles: tuple[str, ...] = ()
    # Shown in the `make run` banner for the four logins a newcomer tries first.
    login_hint: str = ""
    is_staff: bool = False


@dataclass(frozen=True)
class DemoWorkflow:
    slug: str
    name: str
    owner: str
    summary: str
    business_action: str
    model_provider: str
    model_name: str
    model_version: str
    prompt_version: str = ""
    # Later edits as (actor email, fields), then an optional handover (new owner email, note):
    # the activity log then shows a real history, not just "created".
    edits: tuple[tuple[str, dict[str, str]], ...] = field(default_factory=tuple)
    handover: tuple[str, str] | None = None


OPS = "ops@example.com"
OWNER = "owner@example.com"
MEMBER = "member@example.com"
EXEC = "exec@example.com"

DEMO_USERS = (
    DemoUser(
        OPS,
        "Olivia Bennett",
        (OPS_LEADERS,),
        "ops leader: sees everything, creates workflows, names owners",
        is_staff=True,
    ),
    DemoUser(OWNER, "Owen Clarke", (), "workflow owner: runs Support reply drafting"),
    DemoUser(MEMBER, "Maya Chen", (), "team member: sees only what is shared with them"),
    DemoUser(EXEC, "Elena Ruiz", (EXECUTIVES,), "executive: read-only view of the portfolio"),
    DemoUser("priya.shah@example.com", "Priya Shah"),
    DemoUser("daniel.okafor@example.com", "Daniel Okafor"),
    DemoUser("hannah.weber@example.com", "Hannah Weber"),
    *(DemoUser(email, name) for email, name in COHORT_PEOPLE),
)
DEMO_LOGINS = tuple(u for u in DEMO_USERS if u.login_hint)

DEMO_WORKFLOWS = (
    DemoWorkflow(
        slug="support-reply-drafting",
        name="Support reply drafting",
        owner=OWNER,
        summary=(
            "Drafts the first reply to tier-1 support tickets from the help-centre articles and "
            "the customer's order history. An agent reviews and edits every draft before it is "
            "sent; refunds and complaints are never drafted."
        ),
        business_action="Reply email sent to the customer",
        model_provider="OpenAI",
        model_name="gpt-4o",
        model_version="2024-11-20",
        edits=(
            (
                OWNER,
                {"model_name": "gpt-4.1", "model_version": "2025-04-14"},
            ),
        ),
    ),
    DemoWorkflow(
        slug="invoice-coding",
        name="Invoice coding",
        owner="priya.shah@example.com",
        summary=(
            "Reads supplier invoices from the accounts-payable mailbox and proposes the ledger "
            "account, cost centre and VAT treatment for each line. Proposals wait in the ERP "
            "approval queue; nothing is posted without an accountant's approval."
        ),
        business_action="Invoice lines coded in the ERP approval queue",
        model_provider="Anthropic",
        model_name="claude-sonnet-4-5",
        model_version="2025-09-29",
        prompt_version="v6",
    ),
    DemoWorkflow(
        slug="sales-lead-scoring",
        name="Sales lead scoring",
        owner="daniel.okafor@example.com",
        summary=(
            "Scores inbound leads from web forms and events on fit and buying intent, so the SDR "
            "team calls the most promising ones first. The score and its three main reasons "
            "appear on the CRM record."
        ),
        business_action="Lead priority set in the CRM",
        model_provider="Google",
        model_name="gemini-2.5-flash",
        model_version="2025-06-17",
        edits=(
            (
                OPS,
                {
                    "business_action": "Lead priority and next-step task set in the CRM",
                },
            ),
        ),
    ),
    DemoWorkflow(
        slug="contract-clause-review",
        name="Contract clause review",
        owner="daniel.okafor@example.com",
        summary=(
            "Flags non-standard clauses in incoming customer and supplier contracts (liability "
            "caps, auto-renewal, data-processing terms) against the legal playbook and suggests "
            "fallback wording for the reviewing lawyer."
        ),
        business_action="Redline suggestions sent to the reviewing lawyer",
        model_provider="Anthropic",
        model_name="claude-opus-4-1",
        model_version="2025-08-05",
        handover=(
            "hannah.weber@example.com",
            "Legal Ops runs it from here: the pilot has grown from sales order forms to every "
            "supplier contract.",
        ),
    ),
)


class Command(BaseCommand):
    help = "Create the demo users and workflows (idempotent). --reset deletes and recreates them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo workflows, their activity and the demo users, then rebuild them.",
        )
        parser.add_argument(
            "--usage-scale",
            type=float,
            default=1.0,
            help="How much of the demo usage to generate, from 0 (none) to 1 (the default: "
            "tens of thousands of events over three months). Tests use a small share.",
        )

    def handle(
        self, *args: object, reset: bool = False, usage_scale: float = 1.0, **options: object
    ) -> None:
        if not 0 <= usage_scale <= 1:
            raise CommandError(f"--usage-scale must be between 0 and 1, not {usage_scale}.")
        # Rows written from now on are this run's: the demo plans back-date them (see History.on).
        started = timezone.now()
        # One transaction: a failure halfway leaves the database as it was.
        with transaction.atomic():
            if reset:
                self._reset()
            created = self._seed_users() + self._seed_workflows()
            created += self._seed_plans(started) + self._seed_blackouts()
            created += self._seed_usage(started, usage_scale)
            created += self._seed_sources(usage_scale)
            created += self._seed_costs(usage_scale)
            created += self._seed_feedback()
            created += self._seed_notices()
            created += self._seed_reviews()
            created += self._seed_briefings()
            created += self._seed_outcomes(usage_scale)
            created += self._seed_output_reviews()
            created += self._seed_tokens()
        if created:
            self.stdout.write(
                self.style.SUCCESS(f"Demo data ready. Every demo login's password: {DEMO_PASSWORD}")
            )
        else:
            self.stdout.write("Nothing to do: the demo data is already there.")

    def _reset(self) -> None:
        emails = [u.email for u in DEMO_USERS]
        slugs = [w.slug for w in DEMO_WORKFLOWS]
        foreign = Workflow.objects.filter(owner__email__in=emails).exclude(slug__in=slugs)
        if foreign.exists():
            names = ", ".join(f"{w.name} ({w.owner.email})" for w in foreign.with_owner())
            raise CommandError(
                f"Not resetting: demo users own workflows that are not demo data: {names}. "
                "Hand them over to someone else first."
            )
        workflows = Workflow.objects.filter(slug__in=slugs)
        workflow_count = workflows.count()
        # Plans, cohorts, escalation levels, answers, requests and per-workflow blackouts cascade.
        workflows.delete()
        # Org-wide windows protect their creator: those the demo users made go before the users.
        blackout_count, _ = BlackoutWindow.objects.filter(
            workflow__isnull=True, created_by__email__in=emails
        ).delete()
        # Activity on demo workflows went with them; what demo users did outside any workflow
        # (invitations, role changes) goes too. Their entries on other workflows stay, actor-less.
        ActivityEntry.objects.filter(workflow__isnull=True, actor__email__in=emails).delete()
        users = User.objects.filter(email__in=emails)
        user_count = users.count()
        try:
            users.delete()
        except (ProtectedError, RestrictedError) as exc:
            raise CommandError(
                f"Not resetting: other data still refers to the demo users ({exc.args[0]})"
            ) from exc
        windows = "window" if blackout_count == 1 else "windows"
        self.stdout.write(
            f"Deleted the demo data: {workflow_count} workflows with their plans, usage and "
            f"activity, {blackout_count} org-wide blackout {windows}, {user_count} users."
        )

    def _seed_users(self) -> int:
        existing = set(
            User.objects.filter(email__in=[u.email for u in DEMO_USERS]).values_list(
                "email", flat=True
            )
        )
        groups = {g.name: g for g in Group.objects.filter(name__in=[OPS_LEADERS, EXECUTIVES])}
        created = 0
        # One hash for every demo login: each costs a third of a second (most of a fresh seed's
        # time otherwise), and the demo password is public anyway.
        password = make_password(DEMO_PASSWORD)
        for demo in DEMO_USERS:
            if demo.email in existing:
                continue
            # Users are accounts, not domain records with a history: the manager creates them with
            # a known password (user_invite would mail a set-your-password link instead).
            user = User.objects.create_user(
                demo.email, None, display_name=demo.display_name, is_staff=demo.is_staff
            )
            user.password = password
            user.save(update_fields=["password"])
            user.groups.add(*(groups[role] for role in demo.roles))
            roles = ", ".join(demo.roles) or "no org role"
            self.stdout.write(f"Created user {demo.email} ({demo.display_name}, {roles}).")
            created += 1
        return created

    def _seed_workflows(self) -> int:
        existing = set(
            Workflow.objects.filter(slug__in=[w.slug for w in DEMO_WORKFLOWS]).values_list(
                "slug", flat=True
            )
        )
        missing = [w for w in DEMO_WORKFLOWS if w.slug not in existing]
        if not missing:
            return 0
        users = {u.email: u for u in User.objects.filter(email__in=[u.email for u in DEMO_USERS])}
        ops = users[OPS]
        for demo in missing:
            try:
                workflow = workflow_create(
                    actor=ops,
                    name=demo.name,
                    slug=demo.slug,
                    owner=users[demo.owner],
                    summary=demo.summary,
                    business_action=demo.business_action,
                    model_provider=demo.model_provider,
                    model_name=demo.model_name,
                    model_version=demo.model_version,
                    prompt_version=demo.prompt_version,
                )
                for actor_email, fields in demo.edits:
                    workflow = workflow_update(
                        workflow=workflow, actor=users[actor_email], **fields
                    )
                if demo.handover:
                    new_owner_email, note = demo.handover
                    workflow = workflow_handover(
                        workflow=workflow, actor=ops, new_owner=users[new_owner_email], note=note
                    )
            except ApplicationError as exc:
                raise CommandError(f"Could not create the workflow {demo.name}: {exc}") from exc
            history = ["created", *["edited"] * len(demo.edits)]
            if demo.handover:
                history.append("handed over")
            self.stdout.write(
                f"Created workflow {workflow.name} (owner {workflow.owner}; {', '.join(history)})."
            )
        return len(missing)

    def _seed_plans(self, started: datetime) -> int:
        """A roll-out plan for each demo workflow that has none yet (new, or seeded before plans
        existed). A workflow with any planning of its own (phases, sources, cohorts, escalation,
        readiness, thresholds) is left alone: the demo story would clash with it."""
        order = {w.slug: i for i, w in enumerate(DEMO_WORKFLOWS)}
        started_planning = (
            Q(phases__isnull=False)
            | Q(data_sources__isnull=False)
            | Q(cohorts__isnull=False)
            | Q(escalation_levels__isnull=False)
            | Q(readiness_answers__isnull=False)
            | Q(thresholds__isnull=False)
        )
        planned = Workflow.objects.filter(started_planning).values("pk")
        missing = sorted(
            Workflow.objects.filter(slug__in=order).exclude(pk__in=planned).select_related("owner"),
            key=lambda w: order[w.slug],
        )
        if not missing:
            return 0
        users = {u.email: u for u in User.objects.filter(email__in=[u.email for u in DEMO_USERS])}
        for workflow in missing:
            try:
                demo_plan_seed(workflow=workflow, users=users, started=started)
            except ApplicationError as exc:
                raise CommandError(f"Could not plan the workflow {workflow.name}: {exc}") from exc
            current = (
                Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS)
                .values_list("kind", "status")
                .first()
            )
            kind, status = current if current else ("none", "")
            self.stdout.write(f"Planned workflow {workflow.name} ({kind}, {status}).")
        return len(missing)

    def _seed_sources(self, scale: float) -> int:
        """The data sources' reports (rollout.management.demo.sources): a stale CRM export."""
        if not scale:
            return 0
        order = {w.slug: i for i, w in enumerate(DEMO_WORKFLOWS)}
        demo = sorted(
            Workflow.objects.filter(slug__in=order).with_owner(), key=lambda w: order[w.slug]
        )
        seeded = demo_sources_seed(workflows=demo, now=timezone.now())
        if not seeded.events and not seeded.heartbeats:
            return 0
        self.stdout.write(
            f"Stored {seeded.events:,} data-source reports and {seeded.heartbeats} heartbeats."
        )
        return 1

    def _seed_costs(self, scale: float) -> int:
        """Model prices and the pilot's costs (rollout.management.demo.costs)."""
        order = {w.slug: i for i, w in enumerate(DEMO_WORKFLOWS)}
        demo = sorted(
            Workflow.objects.filter(slug__in=order).with_owner(), key=lambda w: order[w.slug]
        )
        users = {u.email: u for u in User.objects.filter(email__in=[u.email for u in DEMO_USERS])}
        seeded = demo_costs_seed(workflows=demo, users=users, now=timezone.now(), scale=scale)
        if seeded.pilot_events:
            self.stdout.write(
                f"Stored {seeded.pilot_events:,} pilot events for Contract clause review's "
                "data audit."
            )
        if seeded.prices:
            self.stdout.write(f"Declared {seeded.prices} model prices.")
        return seeded.prices

    def _seed_blackouts(self) -> int:
        ops = User.objects.filter(email=OPS).first()
        if ops is None:
            return 0
        try:
            window = demo_org_blackout_seed(ops=ops)
        except ApplicationError as exc:
            raise CommandError(f"Could not add the blackout {ORG_BLACKOUT_NAME}: {exc}") from exc
        if window is None:
            return 0
        self.stdout.write(f"Created the org-wide blackout window {window.name}.")
        return 1

    def _seed_usage(self, started: datetime, scale: float) -> int:
        """Usage for each demo workflow that has none yet, then what ingestion sets off: rollups,
        threshold evaluation (which may pause a roll-out) and drift, for every demo workflow."""
        if not scale:
            return 0
        order = {w.slug: i for i, w in enumerate(DEMO_WORKFLOWS)}
        demo = sorted(Workflow.objects.filter(slug__in=order), key=lambda w: order[w.slug])
        used = set(
            UsageEvent.objects.filter(workflow__in=demo)
            .values_list("workflow_id", flat=True)
            .distinct()
            .order_by()
        )
        now = timezone.now()
        seeded = []
        for workflow in demo:
            if workflow.pk in used:
                continue
            usage = demo_usage_seed(workflow=workflow, now=now, scale=scale)
            if usage.events:
                seeded.append(workflow)
                self.stdout.write(
                    f"Stored {usage.events:,} usage events for {workflow.name} "
                    f"over {usage.days} days."
                )
        if not seeded:
            return 0
        evaluated_at = timezone.now()
        for workflow in demo:
            thresholds_evaluate_workflow(workflow=workflow, now=evaluated_at)
            drift_evaluate_workflow(workflow=workflow, now=evaluated_at)
        self.stdout.write("Rolled up the usage; evaluated thresholds and drift.")
        self._report_usage_story(started, demo)
        return len(seeded)

    def _seed_feedback(self) -> int:
        """Feedback, with the escalation and incident it led to, for each demo workflow that has
        a feedback story, its demo plan and no feedback yet."""
        order = {w.slug: i for i, w in enumerate(DEMO_WORKFLOWS)}
        given = Feedback.objects.filter(workflow__slug__in=order).values("workflow_id")
        missing = sorted(
            Workflow.objects.filter(slug__in=order).exclude(pk__in=given).select_related("owner"),
            key=lambda w: order[w.slug],
        )
        if not missing:
            return 0
        users = {u.email: u for u in User.objects.filter(email__in=[u.email for u in DEMO_USERS])}
        told = 0
        for workflow in missing:
            try:
                if not demo_feedback_seed(workflow=workflow, users=users):
                    continue
            except ApplicationError as exc:
                raise CommandError(
                    f"Could not add the feedback of the workflow {workflow.name}: {exc}"
                ) from exc
            told += 1
            count = Feedback.objects.filter(workflow=workflow).count()
            self.stdout.write(f"Added {count} feedback reports to {workflow.name}.")
            for incident in Incident.objects.filter(workflow=workflow, closed_at__isnull=False):
                self.stdout.write(f"Closed incident on {workflow.name}: {incident.title}.")
            waiting = Escalation.objects.filter(
                workflow=workflow, status=EscalationStatus.OPEN, step__gte=2
            ).select_related("current_contact")
            for escalation in waiting:
                self.stdout.write(
                    f"Escalation on {workflow.name} waits at step {escalation.step} for "
                    f"{escalation.current_contact}: {escalation.title}"
                )
        return told

    def _seed_notices(self) -> int:
        """Change notices for each demo workflow that has a notice story, its demo plan and no
        notice scheduled or published yet (drafts the product made are completed and sent)."""
        order = {w.slug: i for i, w in enumerate(DEMO_WORKFLOWS)}
        # An incident's explanation is published when it closes, before any story is told.
        sent = (
            ChangeNotice.objects.exclude(status=NoticeStatus.DRAFT)
            .filter(incident__isnull=True)
            .values("workflow_id")
        )
        missing = sorted(
            Workflow.objects.filter(slug__in=order).exclude(pk__in=sent).select_related("owner"),
            key=lambda w: order[w.slug],
        )
        if not missing:
            return 0
        users = {u.email: u for u in User.objects.filter(email__in=[u.email for u in DEMO_USERS])}
        told = 0
        for workflow in missing:
            try:
                if not demo_notices_seed(workflow=workflow, users=users):
                    continue
            except ApplicationError as exc:
                raise CommandError(
                    f"Could not add the notices of the workflow {workflow.name}: {exc}"
                ) from exc
            told += 1
            notices = ChangeNotice.objects.filter(workflow=workflow)
            for notice in notices.exclude(status=NoticeStatus.DRAFT).order_by("publish_at"):
                receipts = NoticeReceipt.objects.filter(notice=notice)
                if notice.status == NoticeStatus.PUBLISHED:
                    acknowledged = receipts.filter(acknowledged_at__isnull=False).count()
                    state = f"published, {acknowledged} of {receipts.count()} acknowledged"
                    if not notice.requires_ack:
                        state = f"published to {receipts.count()}"
                else:
                    state = notice.get_status_display().lower()
                urgent = ""
                if notice.urgent:
                    by = notice.approved_by
                    urgent = f", urgent, approved by {by}" if by else ", urgent, no approval needed"
                self.stdout.write(f"Notice on {workflow.name} ({state}{urgent}): {notice.title}")
        return told

    def _seed_reviews(self) -> int:
        """A completed review, one due soon and one overdue (rollout.management.demo.reviews),
        for the demo workflows whose story has one and that have none yet."""
        order = {w.slug: i for i, w in enumerate(DEMO_WORKFLOWS)}
        workflows = sorted(
            Workflow.objects.filter(slug__in=order).select_related("owner"),
            key=lambda w: order[w.slug],
        )
        users = {u.email: u for u in User.objects.filter(email__in=[u.email for u in DEMO_USERS])}
        told = 0
        for workflow in workflows:
            try:
                if not demo_reviews_seed(workflow=workflow, users=users):
                    continue
            except ApplicationError as exc:
                raise CommandError(
                    f"Could not add the review of the workflow {workflow.name}: {exc}"
                ) from exc
            told += 1
            self.stdout.write(demo_review_report(workflow))
        return told

    def _seed_briefings(self) -> int:
        """The failure-mode briefing (rollout.management.demo.briefings) of the demo workflow
        whose story has one and that has none yet."""
        users = {u.email: u for u in User.objects.filter(email__in=[u.email for u in DEMO_USERS])}
        told = 0
        for workflow in Workflow.objects.filter(slug__in=[w.slug for w in DEMO_WORKFLOWS]):
            try:
                if not demo_briefings_seed(workflow=workflow, users=users):
                    continue
            except ApplicationError as exc:
                raise CommandError(
                    f"Could not add the briefing of the workflow {workflow.name}: {exc}"
                ) from exc
            told += 1
            self.stdout.write(demo_briefing_report(workflow))
        return told

    def _seed_outcomes(self, scale: float) -> int:
        """Outcome holdouts (rollout.management.demo.outcomes): AI vs holdout on handle time."""
        if not scale:
            return 0
        order = {w.slug: i for i, w in enumerate(DEMO_WORKFLOWS)}
        demo = sorted(
            Workflow.objects.filter(slug__in=order).with_owner(), key=lambda w: order[w.slug]
        )
        seeded = demo_outcomes_seed(workflows=demo)
        if not seeded.workflows:
            return 0
        self.stdout.write(
            f"Stored {seeded.events:,} outcome events (AI vs holdout) for "
            f"{', '.join(seeded.workflows)}."
        )
        return 1

    def _seed_output_reviews(self) -> int:
        """The review queue and the autonomy ladder (rollout.management.demo.output_reviews) of
        the demo workflow whose story has them and that has no sampled output yet."""
        users = {u.email: u for u in User.objects.filter(email__in=[u.email for u in DEMO_USERS])}
        told = 0
        for workflow in Workflow.objects.filter(slug__in=[w.slug for w in DEMO_WORKFLOWS]):
            try:
                if not demo_output_reviews_seed(workflow=workflow, users=users):
                    continue
            except ApplicationError as exc:
                raise CommandError(
                    f"Could not add the output reviews of the workflow {workflow.name}: {exc}"
                ) from exc
            told += 1
            self.stdout.write(demo_output_reviews_report(workflow))
        return told

    def _seed_tokens(self) -> int:
        """The integration tokens (rollout.management.demo.tokens) of the demo workflow whose
        story has them and that has none yet."""
        added = 0
        for workflow in Workflow.objects.filter(slug__in=[w.slug for w in DEMO_WORKFLOWS]):
            if demo_tokens_seed(workflow=workflow, owner=workflow.owner):
                added += 1
                self.stdout.write(f"Added the API tokens of {workflow.name}, one mid-rotation.")
        return added

    def _report_usage_story(self, started: datetime, demo: list[Workflow]) -> None:
        pauses = ActivityEntry.objects.filter(
            workflow__in=demo, verb="paused", actor=None, created_at__gte=started
        ).select_related("workflow")
        for entry in pauses:
            self.stdout.write(f"Rollout paused {entry.workflow.name}: {entry.note}")
        observed = ActivityEntry.objects.filter(
            workflow__in=demo, verb=VERB_OBSERVED, created_at__gte=started
        ).select_related("workflow")
        for entry in observed:
            self.stdout.write(f"Unannounced change of {entry.workflow.name}'s AI: {entry.note}")
        drifting = (
            CohortDrift.objects.filter(workflow__in=demo, status=DriftStatus.DEGRADING)
            .select_related("workflow", "cohort")
            .order_by("workflow__name", "cohort__name", "metric")
        )
        for row in drifting:
            label = METRIC_LABELS.get(row.metric, row.metric)
            self.stdout.write(
                f"Drift in {row.workflow.name}, {row.cohort.name}: {label.lower()} degrading."
            )

"""The portfolio in a few numbers, and each owned workflow's state in one row: what the role homes
open with (an executive's and an ops leader's summary; an owner's workflows).

Read from what the rest of the product already keeps — health from the thresholds' and drift's last
verdicts, adoption from the usage rollups, counts of open escalations, incidents and feedback — in a
fixed number of queries, whatever the number of workflows and the data size.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count

from accounts.models import User
from rollout.models import (
    OPEN_ESCALATION,
    OPEN_FEEDBACK,
    PHASE_ORDER,
    Escalation,
    EscalationStatus,
    Feedback,
    PhaseKind,
    Severity,
    Workflow,
)
from rollout.selectors.escalations import open_escalation_counts
from rollout.selectors.health import SEVERITY, Health, HealthStatus, workflow_health
from rollout.selectors.incidents import open_incident_counts
from rollout.selectors.usage import usage_totals_by_workflow
from rollout.selectors.workflows import workflow_list_owned_by_activity, workflow_list_visible

ADOPTION_DAYS = 30
CRITICAL_SHOWN = 5
NO_PHASE = "No phase in progress"


@dataclass(frozen=True)
class Tally:
    label: str
    count: int
    key: str = ""


@dataclass(frozen=True)
class OverdueReview:
    name: str
    slug: str
    due: date


@dataclass(frozen=True)
class PortfolioSummary:
    """`by_phase` in roll-out order (workflows without a phase in progress last), `by_health`
    worst first, both only with the values that occur. Adoption is the members of every visible
    workflow's cohorts who used it in the last ADOPTION_DAYS days, over those members."""

    workflows: int
    by_phase: list[Tally]
    by_health: list[Tally]
    members: int
    active: int
    open_escalations: int
    critical: list[Escalation]
    critical_count: int
    open_incidents: int
    overdue_reviews: list["OverdueReview"]

    @property
    def adoption(self) -> float | None:
        return self.active / self.members if self.members else None


def portfolio_summary(user: User, *, today: date) -> PortfolioSummary:
    """The active (not retired) workflows `user` may see, summed up. Eight queries."""
    rows = list(
        workflow_list_visible(user)
        .filter(retired_at__isnull=True)
        .order_by("next_review_due", "name")
        .values_list("pk", "name", "slug", "next_review_due")
    )
    ids = [pk for pk, *_ in rows]
    health = workflow_health(ids) if ids else {}
    start = today - timedelta(days=ADOPTION_DAYS - 1)
    totals = usage_totals_by_workflow(ids, start=start, end=today) if ids else {}
    escalations = open_escalation_counts(ids) if ids else {}
    incidents = open_incident_counts(ids) if ids else {}
    critical = Escalation.objects.filter(
        workflow_id__in=ids, status__in=OPEN_ESCALATION, severity=Severity.CRITICAL
    )
    members = sum(total["members"] for total in totals.values())
    active = sum(min(total["active_users"], total["members"]) for total in totals.values())
    return PortfolioSummary(
        workflows=len(ids),
        by_phase=_by_phase(health.values()),
        by_health=_by_health(health.values()),
        members=members,
        active=active,
        open_escalations=sum(counts.total for counts in escalations.values()),
        critical=list(
            critical.select_related("workflow").order_by("opened_at", "pk")[:CRITICAL_SHOWN]
        ),
        critical_count=sum(counts.critical for counts in escalations.values()),
        open_incidents=sum(incidents.values()),
        overdue_reviews=[
            OverdueReview(name, slug, due) for _, name, slug, due in rows if due and due < today
        ],
    )


def _by_phase(healths) -> list[Tally]:
    counts = Counter(h.phase_kind for h in healths)
    tallies = [
        Tally(PhaseKind(kind).label, counts[kind], kind) for kind in PHASE_ORDER if counts[kind]
    ]
    if counts[""]:
        tallies.append(Tally(NO_PHASE, counts[""]))
    return tallies


def _by_health(healths) -> list[Tally]:
    counts = Counter(h.status for h in healths)
    order = sorted(counts, key=SEVERITY.__getitem__)
    return [Tally(HealthStatus(status).label, counts[status], status) for status in order]


@dataclass(frozen=True)
class OwnedWorkflow:
    workflow: Workflow
    health: Health
    open_feedback: int
    open_escalations: int
    unacknowledged: int


def owned_workflow_rows(user: User) -> list[OwnedWorkflow]:
    """Each workflow `user` owns, most recently active first, with its phase and health, its open
    feedback and its open escalations (of which not yet acknowledged). Five queries."""
    owned = list(workflow_list_owned_by_activity(user))
    ids = [w.pk for w in owned]
    if not ids:
        return []
    health = workflow_health(ids)
    feedback = dict(
        Feedback.objects.filter(workflow_id__in=ids, status__in=OPEN_FEEDBACK)
        .values("workflow_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("workflow_id", "n")
    )
    escalations = dict(
        Escalation.objects.filter(workflow_id__in=ids, status=EscalationStatus.OPEN)
        .values("workflow_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("workflow_id", "n")
    )
    open_counts = open_escalation_counts(ids)
    return [
        OwnedWorkflow(
            workflow=workflow,
            health=health[workflow.pk],
            open_feedback=feedback.get(workflow.pk, 0),
            open_escalations=open_counts[workflow.pk].total if workflow.pk in open_counts else 0,
            unacknowledged=escalations.get(workflow.pk, 0),
        )
        for workflow in owned
    ]

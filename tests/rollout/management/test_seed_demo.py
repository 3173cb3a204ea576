import re
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from accounts.roles import EXECUTIVES, OPS_LEADERS, role_names
from rollout.gates import gate_next
from rollout.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS, DEMO_WORKFLOWS
from rollout.models import (
    NOT_USAGE_KINDS,
    ActivityEntry,
    AIConfiguration,
    AutonomyRequest,
    BlackoutWindow,
    ChangeNotice,
    Cohort,
    CohortDrift,
    CohortMember,
    DataSource,
    Escalation,
    EscalationEvent,
    EscalationLevel,
    EventKind,
    Feedback,
    FeedbackCategory,
    FeedbackComment,
    FeedbackRating,
    FeedbackStatus,
    FeedbackVote,
    Follow,
    Incident,
    IncidentUpdate,
    NoticeDelivery,
    NoticeReceipt,
    Notification,
    OutputReview,
    Phase,
    PhaseStatus,
    PromotionRequest,
    PromotionStatus,
    ReadinessAnswer,
    Review,
    ReviewReminder,
    ReviewStatus,
    SourceKind,
    SourceState,
    SourceStatus,
    Threshold,
    ThresholdEvaluation,
    ThresholdStatus,
    UsageActiveUser,
    UsageDirtyDay,
    UsageEvent,
    UsageRollup,
    Workflow,
    WorkflowUserObjectPermission,
)
from rollout.permissions import can_change_workflow, can_use_workflow, can_view_workflow
from rollout.selectors.briefings import briefing_coverage
from rollout.selectors.costs import cost_daily, cost_total
from rollout.selectors.decision import decide
from rollout.selectors.escalations import escalation_list_for_contact
from rollout.selectors.inbox import inbox_list_for_user
from rollout.selectors.usage import usage_window
from rollout.services.briefings import briefing_acknowledge
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.django_db

DEMO_SLUGS = {w.slug for w in DEMO_WORKFLOWS}
MEMBER = "member@example.com"
LIGHT = "0.05"  # a twentieth of the default usage: enough to see it work, fast


def seed(*args: str, usage: str = "0") -> str:
    """Run the command; without usage unless asked (`usage` is --usage-scale): months of events
    take seconds to store and roll up, and most tests look at the plans only."""
    out = StringIO()
    call_command("seed_demo", *args, "--usage-scale", usage, stdout=out)
    return out.getvalue()


def user(email: str) -> User:
    # A fresh instance each time: guardian and role_names cache permissions on the instance.
    return User.objects.get(email=email)


def state() -> dict[str, object]:
    """Everything the command writes, to compare two runs."""
    return {
        "users": sorted(User.objects.values_list("email", "display_name", "password", "is_staff")),
        "groups": sorted(User.groups.through.objects.values_list("user__email", "group__name")),
        "workflows": sorted(
            Workflow.objects.values_list(
                "slug", "name", "owner__email", "summary", "business_action", "model_version"
            )
        ),
        "activity": sorted(
            # Rollout's own entries (a pause on breach) have no actor: sorted as text.
            ActivityEntry.objects.values_list("workflow__slug", "actor__email", "verb", "note"),
            key=str,
        ),
        "perms": sorted(
            WorkflowUserObjectPermission.objects.values_list(
                "user__email", "content_object__slug", "permission__codename"
            )
        ),
        "phases": sorted(
            Phase.objects.values_list("workflow__slug", "kind", "status", "actual_start")
        ),
        # The outcome studies' members left out: how many a story needs hangs on who the hash
        # holds out, so on primary keys, which a reset changes (rollout.management.demo.outcomes).
        "study-less members": CohortMember.objects.exclude(
            user__email__startswith="study."
        ).count(),
        "counts": {
            model.__name__: model.objects.count()
            for model in (
                Cohort,
                DataSource,
                EscalationLevel,
                PromotionRequest,
                ReadinessAnswer,
                Threshold,
                BlackoutWindow,
                Feedback,
                FeedbackComment,
                FeedbackVote,
                Escalation,
                EscalationEvent,
                Incident,
                IncidentUpdate,
            )
        },
        "usage": usage_counts(),
    }


def usage_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            UsageEvent,
            UsageRollup,
            UsageActiveUser,
            UsageDirtyDay,
            ThresholdStatus,
            ThresholdEvaluation,
            CohortDrift,
            Notification,
        )
    }


def events_by_workflow() -> dict[str, int]:
    """Usage events per workflow (the data sources' input_* reports and outcomes are not
    usage), without the outcome studies' people: who of them is held out hangs on the
    workflow's primary key, which a reset changes, and only the AI arm uses the AI."""
    return dict(
        UsageEvent.objects.exclude(kind__in=NOT_USAGE_KINDS)
        .exclude(user_ref__startswith="study.")
        .values("workflow__slug")
        .annotate(n=Count("event_id"))
        .values_list("workflow__slug", "n")
        .order_by()
    )


def in_progress(slug: str) -> Phase:
    return Phase.objects.get(workflow__slug=slug, status__in=[PhaseStatus.ACTIVE, "paused"])


def test_creates_the_demo_users_with_roles_and_the_demo_password() -> None:
    output = seed()

    assert User.objects.count() == len(DEMO_USERS) == 20
    assert role_names(user("ops@example.com")) == {OPS_LEADERS}
    assert role_names(user("exec@example.com")) == {EXECUTIVES}
    assert role_names(user("owner@example.com")) == frozenset()
    assert role_names(user("member@example.com")) == frozenset()
    for demo in DEMO_USERS:
        account = user(demo.email)
        assert account.check_password(DEMO_PASSWORD), demo.email
        assert account.display_name == demo.display_name
        assert " " in account.display_name  # a real first and last name, not the email
        assert account.is_active
        assert f"Created user {demo.email} ({demo.display_name}" in output
    assert user("ops@example.com").is_staff
    assert not user("owner@example.com").is_staff
    assert output.rstrip().endswith(
        f"Demo data ready. Every demo login's password: {DEMO_PASSWORD}"
    )


def test_creates_four_workflows_with_different_owners_through_the_services() -> None:
    output = seed()

    workflows = {w.slug: w for w in Workflow.objects.with_owner()}
    assert set(workflows) == {
        "support-reply-drafting",
        "invoice-coding",
        "sales-lead-scoring",
        "contract-clause-review",
    }
    assert workflows["support-reply-drafting"].owner.email == "owner@example.com"
    assert workflows["contract-clause-review"].owner.email == "hannah.weber@example.com"
    assert len({w.owner_id for w in workflows.values()}) == 4
    for workflow in workflows.values():
        assert workflow.summary and workflow.business_action
        assert workflow.model_provider and workflow.model_name and workflow.model_version
        assert workflow.last_activity_at is not None
        assert f"Created workflow {workflow.name} (owner {workflow.owner}" in output

    support = workflows["support-reply-drafting"]
    assert support.model_label == "OpenAI · gpt-4.1 · 2025-04-14"
    assert list(
        ActivityEntry.objects.filter(workflow=support, target=f"workflow {support.name}")
        .exclude(verb="promoted")
        .values_list("verb", "changes")
    ) == [
        ("edited", {"model": ["gpt-4o", "gpt-4.1"], "model version": ["2024-11-20", "2025-04-14"]}),
        ("created", {"owner": ["—", "Owen Clarke"]}),
    ]
    handover = ActivityEntry.objects.get(
        workflow__slug="contract-clause-review", verb="handed over"
    )
    assert handover.actor == user("ops@example.com")
    assert handover.changes == {"owner": ["Daniel Okafor", "Hannah Weber"]}
    assert handover.note.startswith("Legal Ops runs it from here")


def test_grants_the_owners_their_workflows_and_nothing_else() -> None:
    seed()
    support = Workflow.objects.get(slug="support-reply-drafting")
    invoices = Workflow.objects.get(slug="invoice-coding")
    contracts = Workflow.objects.get(slug="contract-clause-review")

    assert can_view_workflow(user("owner@example.com"), support)
    assert can_change_workflow(user("owner@example.com"), support)
    assert not can_view_workflow(user("owner@example.com"), invoices)
    assert not any(can_view_workflow(user("member@example.com"), w) for w in Workflow.objects.all())
    assert all(can_view_workflow(user("exec@example.com"), w) for w in Workflow.objects.all())
    assert not can_change_workflow(user("exec@example.com"), support)
    assert all(can_change_workflow(user("ops@example.com"), w) for w in Workflow.objects.all())
    # The handover moved the permissions: the previous owner no longer sees the workflow.
    assert can_change_workflow(user("hannah.weber@example.com"), contracts)
    assert not can_view_workflow(user("daniel.okafor@example.com"), contracts)


def test_running_it_twice_changes_nothing() -> None:
    seed(usage=LIGHT)
    before = state()
    assert before["usage"]["UsageEvent"] > 1000

    output = seed(usage=LIGHT)

    assert state() == before
    assert output == "Nothing to do: the demo data is already there.\n"


def test_leaves_an_existing_demo_user_as_it_is() -> None:
    UserFactory(email="owner@example.com", display_name="Someone Else")

    seed()

    owner = user("owner@example.com")
    assert owner.display_name == "Someone Else"
    assert not owner.check_password(DEMO_PASSWORD)
    assert Workflow.objects.get(slug="support-reply-drafting").owner == owner


def test_reset_deletes_the_demo_data_and_builds_it_again() -> None:
    seed(usage=LIGHT)
    fresh = state()
    fresh_usage = events_by_workflow()
    stranger = UserFactory(email="real.person@example.com", display_name="Real Person")
    real = make_workflow(owner=stranger, actor=user("ops@example.com"), slug="real-workflow")
    owner = user("owner@example.com")
    owner.display_name = "Renamed"
    owner.set_password("something-else")
    owner.save()
    Workflow.objects.filter(slug="invoice-coding").delete()
    UsageEvent.objects.filter(workflow__slug="support-reply-drafting", kind="accepted").delete()

    output = seed("--reset", usage=LIGHT)

    assert (
        "Deleted the demo data: 3 workflows with their plans, usage and activity, "
        "1 org-wide blackout window, 20 users."
    ) in output
    after = state()
    for key in ("groups", "workflows"):
        assert [row for row in after[key] if "real" not in str(row)] == fresh[key]
    assert user("owner@example.com").display_name == "Owen Clarke"
    assert user("owner@example.com").check_password(DEMO_PASSWORD)
    demo_activity = ActivityEntry.objects.filter(workflow__slug__in=DEMO_SLUGS)
    # Nothing doubled: the plans were rebuilt exactly, with the same back-dated history.
    assert demo_activity.count() == len([row for row in fresh["activity"] if row[0]])
    # The org-wide window's entry (no workflow) went with its demo author and came back once.
    org_wide = ActivityEntry.objects.filter(workflow=None, verb="added an org-wide blackout window")
    assert org_wide.count() == 1
    assert after["counts"] == fresh["counts"]
    assert after["study-less members"] == fresh["study-less members"]
    assert after["phases"] == fresh["phases"]
    # The usage was rebuilt too: as much as before, give or take what the clock moving on by a
    # few seconds brought (today's events run up to the moment of seeding).
    rebuilt = events_by_workflow()
    assert rebuilt.keys() == fresh_usage.keys() == DEMO_SLUGS - {"sales-lead-scoring"}
    for slug, count in fresh_usage.items():
        assert abs(rebuilt[slug] - count) <= 5, slug
    assert not UsageDirtyDay.objects.exists()
    # Data that is not demo data survives, with its permissions; the ops leader who created it
    # was a demo user, so its "created" entry stays with no actor.
    real.refresh_from_db()
    assert real.owner == stranger
    assert can_change_workflow(User.objects.get(pk=stranger.pk), real)
    assert ActivityEntry.objects.get(workflow=real).actor is None


def test_reset_refuses_while_a_demo_user_owns_other_workflows() -> None:
    seed()
    make_workflow(owner=user("owner@example.com"), actor=user("ops@example.com"), name="Real one")
    before = state()

    with pytest.raises(CommandError, match=r"Real one \(owner@example.com\)"):
        seed("--reset")

    assert state() == before


def test_puts_the_demo_workflows_in_different_phases() -> None:
    output = seed()

    phases = {slug: (in_progress(slug).kind, in_progress(slug).status) for slug in DEMO_SLUGS}
    # As planned; the usage then breaks a threshold of Contract clause review, which pauses its
    # broad roll-out (see test_the_default_usage_tells_the_demo_stories).
    assert phases == {
        "support-reply-drafting": ("limited", "active"),
        "invoice-coding": ("shadow", "active"),
        "sales-lead-scoring": ("audit", "active"),
        "contract-clause-review": ("broad", "active"),
    }
    assert "Planned workflow Contract clause review (broad, active)." in output
    # The history spans weeks: every phase that ran started in the past, in order.
    for slug in DEMO_SLUGS:
        workflow = Workflow.objects.get(slug=slug)
        assert workflow.plan_start_date < workflow.created_at.date() + timedelta(days=30)
        started = list(
            Phase.objects.filter(workflow=workflow, actual_start__isnull=False)
            .order_by("position")
            .values_list("actual_start", flat=True)
        )
        assert started == sorted(started)
        assert started[0] <= timezone.now() - timedelta(days=7)
        latest = ActivityEntry.objects.filter(workflow=workflow).first()
        assert workflow.last_activity_at == latest.created_at < timezone.now()
    support = Workflow.objects.get(slug="support-reply-drafting")
    assert support.plan_start_date == timezone.localdate() - timedelta(days=75)


def test_support_reply_drafting_is_live_for_its_limited_cohort() -> None:
    seed()
    support = Workflow.objects.get(slug="support-reply-drafting")

    cohorts = {
        c.name: (c.enrolled_phase, c.percentage, c.memberships.count())
        for c in Cohort.objects.filter(workflow=support)
    }
    assert cohorts == {
        "EU tier-1 agents": ("limited", 100, 5),
        "US tier-1 agents": ("broad", 25, 3),
    }
    eu = Cohort.objects.get(workflow=support, name="EU tier-1 agents")
    assert eu.members.filter(email="member@example.com").exists()
    # Live once the demo member has acknowledged the briefing (the demo leaves that to them).
    held_back = decide("support-reply-drafting", "member@example.com")
    assert (held_back.mode, held_back.reason) == ("shadow", "not_briefed")
    briefing_acknowledge(briefing=support.briefings.first(), user=user("member@example.com"))
    assert decide("support-reply-drafting", "member@example.com").mode == "live"
    assert can_use_workflow(user("member@example.com"), support)
    # The broad cohort's turn has not come yet.
    assert decide("support-reply-drafting", "marcus.johnson@example.com").mode == "off"

    sources = {
        s.name: (s.kind, s.live_equivalent, s.is_documented) for s in support.data_sources.all()
    }
    assert sources == {
        "Zendesk tickets": ("live", "", True),
        "Help-centre macros export": (
            "static_export",
            "Zendesk Help Center API (macros endpoint)",
            True,
        ),
    }
    answers = ReadinessAnswer.objects.filter(workflow=support)
    assert answers.count() == 9
    assert set(answers.values_list("answer", flat=True)) == {"yes"}
    assert all(answers.values_list("evidence", flat=True))
    assert list(
        EscalationLevel.objects.filter(workflow=support).values_list("position", "contact__email")
    ) == [(1, "owner@example.com"), (2, "ops@example.com")]
    assert sorted(
        Threshold.objects.filter(workflow=support).values_list(
            "metric", "comparator", "limit", "marginal_limit", "action"
        )
    ) == [
        ("acceptance_rate", "gte", 0.6, None, "alert"),
        ("error_rate", "lte", 0.02, 0.03, "pause_rollout"),
        ("override_rate", "lte", 0.15, None, "block_promotion"),
    ]
    assert support.review_cadence_days == 90
    # Promotions went through requests the ops leader approved, not direct writes.
    assert list(
        PromotionRequest.objects.filter(workflow=support)
        .order_by("requested_at")
        .values_list("to_phase__kind", "status", "requested_by__email")
    ) == [
        ("shadow", PromotionStatus.EXECUTED, "owner@example.com"),
        ("limited", PromotionStatus.EXECUTED, "owner@example.com"),
    ]


def test_invoice_coding_waits_for_an_ops_leader_and_has_a_blackout() -> None:
    seed()
    invoices = Workflow.objects.get(slug="invoice-coding")

    pending = PromotionRequest.objects.get(status=PromotionStatus.PENDING)
    assert pending.workflow == invoices
    assert pending.to_phase.kind == "limited"
    assert pending.requested_by.email == "priya.shah@example.com"
    gate = {item["key"]: item["status"] for item in pending.gate_snapshot}
    assert gate["readiness_all_yes"] == "fail"
    assert not all(s.is_documented for s in invoices.data_sources.all())
    window = BlackoutWindow.objects.get(workflow=invoices)
    assert window.name == "Month-end close"
    assert window.starts_at > timezone.now()


def test_sales_lead_scoring_shows_an_unmapped_export_and_contracts_was_paused_by_hand() -> None:
    seed()

    leads = Workflow.objects.get(slug="sales-lead-scoring")
    assert [s.name for s in leads.data_sources.all() if s.is_unmapped_export] == [
        "Trade-show leads 2026"
    ]
    assert 0 < ReadinessAnswer.objects.filter(workflow=leads).count() < 9
    contracts = Workflow.objects.get(slug="contract-clause-review")
    assert list(
        ActivityEntry.objects.filter(workflow=contracts, verb__in=["paused", "resumed"])
        .order_by("created_at")
        .values_list("verb", "actor__email", "note")
    ) == [
        (
            "paused",
            "hannah.weber@example.com",
            "Clause extraction missed indemnity caps in 3 contracts; paused while the prompt "
            "is fixed",
        ),
        ("resumed", "hannah.weber@example.com", ""),
    ]
    # Chosen at that pause: what people get whenever the roll-out is paused again.
    assert contracts.fallback_mode == "off"
    assert in_progress("contract-clause-review").status == "active"


def test_adds_the_org_wide_q4_close_blackout_once() -> None:
    seed()
    seed()

    window = BlackoutWindow.objects.get(workflow=None)
    assert window.name == "Q4 close"
    assert window.created_by.email == "ops@example.com"
    assert window.ends_at > timezone.now()
    assert (
        timezone.localtime(window.starts_at).month,
        timezone.localtime(window.starts_at).day,
    ) == (12, 21)


def test_plans_a_demo_workflow_seeded_before_plans_existed_and_leaves_planned_ones_alone() -> None:
    seed()
    # As a database seeded before plans existed: the workflow and its history, no planning.
    leads = Workflow.objects.get(slug="sales-lead-scoring")
    for related in (leads.phases, leads.data_sources, leads.escalation_levels):
        related.all().delete()
    leads.readiness_answers.all().delete()
    support_before = state()["phases"]

    output = seed()

    assert output.splitlines()[0] == "Planned workflow Sales lead scoring (audit, active)."
    assert in_progress("sales-lead-scoring").kind == "audit"
    assert [p for p in state()["phases"] if p[0] == "support-reply-drafting"] == [
        p for p in support_before if p[0] == "support-reply-drafting"
    ]


# --- Usage --------------------------------------------------------------------------------------


def test_the_default_usage_tells_the_demo_stories() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)  # the real default volume, as `make run` seeds it
    output = out.getvalue()

    # Months of usage for every workflow past its data audit, through the ingestion service.
    stored = {
        name: int(count.replace(",", ""))
        for count, name in re.findall(
            r"Stored ([\d,]+) usage events for (.+) over \d+ days\.", output
        )
    }
    # Contract clause review's data audit ran a pilot (rollout.management.demo.costs).
    for count, name in re.findall(r"Stored ([\d,]+) pilot events for (.+)'s data audit\.", output):
        stored[name] += int(count.replace(",", ""))
    by_slug = events_by_workflow()
    assert stored == {
        Workflow.objects.get(slug=slug).name: count for slug, count in by_slug.items()
    }
    assert set(by_slug) == DEMO_SLUGS - {"sales-lead-scoring"}  # an audit has no usage yet
    assert 20_000 < sum(by_slug.values()) < 80_000
    usage = UsageEvent.objects.exclude(kind__in=NOT_USAGE_KINDS)
    kinds = {
        slug: set(usage.filter(workflow__slug=slug).values_list("kind", flat=True))
        for slug in by_slug
    }
    assert kinds["invoice-coding"] == {"invocation", "agreed", "disagreed", "error"}  # shadow
    # Shadow mode first, then live outputs and what people did with them.
    every_kind = {c.value for c in EventKind} - NOT_USAGE_KINDS
    assert kinds["support-reply-drafting"] == kinds["contract-clause-review"] == every_kind
    assert_usage_follows_the_plans()
    assert_usage_looks_real()
    assert_rollups_are_ready(by_slug)
    assert_one_cohort_drifts(output)
    assert_contracts_paused_by_a_breach(output)
    assert_an_unannounced_prompt_change(output)
    assert_costs_over_three_months(output)

    before = state()
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert out.getvalue() == "Nothing to do: the demo data is already there.\n"
    assert state() == before


def assert_costs_over_three_months(output: str) -> None:
    """Prices declared, tokens or costs on the invocations, and Contract clause review's cost per
    accepted output over the last 90 days; the support partner's unpriced model version."""
    assert "Declared 3 model prices." in output
    today = timezone.localdate()
    contracts = Workflow.objects.get(slug="contract-clause-review")
    by_day = cost_daily(contracts, start=today - timedelta(days=89), end=today)
    days = sorted({day for _, day in by_day})
    assert days[0] <= today - timedelta(days=85)  # the pilot's first weekday
    assert cost_total(by_day).unknown == 0
    accepted = dict(
        UsageRollup.objects.filter(workflow=contracts, period="day", cohort=None)
        .filter(day__lte=today - timedelta(days=80))
        .values_list("day", "accepted")
    )
    assert sum(accepted.values()) > 0  # accepted outputs from the start of the 90 days
    support = Workflow.objects.get(slug="support-reply-drafting")
    support_total = cost_total(cost_daily(support, start=today - timedelta(days=90), end=today))
    assert set(support_total.unpriced) == {"gpt-4.1-mini"}  # the partner's tool, not priced
    assert 0 < support_total.unknown_share < 0.5
    invoices = Workflow.objects.get(slug="invoice-coding")
    invoice_total = cost_total(cost_daily(invoices, start=today - timedelta(days=90), end=today))
    assert invoice_total.known_cost > 0 and invoice_total.unknown == 0  # reported attrs.cost
    assert not UsageEvent.objects.filter(kind="accepted", attrs__has_key="input_tokens").exists()


def assert_usage_follows_the_plans() -> None:
    def first_event(slug: str, **filters: object) -> datetime:
        events = UsageEvent.objects.filter(workflow__slug=slug, **filters).exclude(
            kind__in=NOT_USAGE_KINDS
        )
        return events.order_by("occurred_at").values_list("occurred_at", flat=True).first()

    def started(slug: str, kind: str) -> datetime:
        return Phase.objects.get(workflow__slug=slug, kind=kind).actual_start

    now = timezone.now()
    assert first_event("invoice-coding") >= started("invoice-coding", "shadow")
    assert first_event("support-reply-drafting") >= started("support-reply-drafting", "shadow")
    live = {"kind__in": ["accepted", "edited", "overridden"]}
    support_limited = started("support-reply-drafting", "limited")
    assert first_event("support-reply-drafting", **live) >= support_limited
    # Shadow comparisons end with shadow mode, and only the limited cohort is live: the US agents'
    # turn comes with the broad roll-out. (What followed an output comes within minutes of it.)
    shadow_over = support_limited + timedelta(minutes=15)
    after_shadow = UsageEvent.objects.filter(
        workflow__slug="support-reply-drafting", occurred_at__gte=shadow_over
    )
    assert not after_shadow.filter(kind__in=["agreed", "disagreed"]).exists()
    assert not after_shadow.filter(cohort__name="US tier-1 agents").exists()
    assert first_event("contract-clause-review") < now - timedelta(days=75)
    # Nothing while the owner had the roll-out paused.
    paused, resumed = ActivityEntry.objects.filter(
        workflow__slug="contract-clause-review", verb__in=["paused", "resumed"], actor__isnull=False
    ).order_by("created_at")
    assert resumed.created_at - paused.created_at > timedelta(days=2)
    assert not UsageEvent.objects.filter(
        workflow__slug="contract-clause-review",
        occurred_at__gt=paused.created_at,
        occurred_at__lt=resumed.created_at,
        kind="invocation",
    ).exists()
    assert not UsageEvent.objects.filter(occurred_at__gt=now).exists()


def assert_usage_looks_real() -> None:
    support = Workflow.objects.get(slug="support-reply-drafting")
    eu = Cohort.objects.get(workflow=support, name="EU tier-1 agents")
    limited = Phase.objects.get(workflow=support, kind="limited").actual_start
    today = timezone.localdate()
    days = {
        row.day: row
        for row in UsageRollup.objects.filter(workflow=support, cohort=eu, period="day")
    }

    def weekdays(start: date, end: date) -> list[UsageRollup]:
        span = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        return [days[d] for d in span if d.weekday() < 5 and d in days]

    def mean(values: list[int]) -> float:
        return sum(values) / len(values)

    first_week = weekdays(
        timezone.localdate(limited) + timedelta(days=1),
        timezone.localdate(limited) + timedelta(days=7),
    )
    last_week = weekdays(today - timedelta(days=7), today - timedelta(days=1))
    # Adoption rises: more of the cohort uses it each day, and each of them more often.
    assert mean([d.active_users for d in first_week]) < mean([d.active_users for d in last_week])
    assert mean([d.invocations for d in first_week]) < mean([d.invocations for d in last_week])
    # Weekdays are busy, weekends quiet.
    # (The outcome study's agents report weekdays only, and evenly: the story is the others'.)
    all_days = UsageRollup.objects.filter(
        workflow=support, period="day", cohort__isnull=False
    ).exclude(cohort__name="Tier-1 outcome study")
    weekday = [d.invocations for d in all_days if d.day.weekday() < 5 and d.day != today]
    weekend = [d.invocations for d in all_days if d.day.weekday() >= 5 and d.day != today]
    assert mean(weekend) < mean(weekday) / 2
    window = usage_window(support, start=today - timedelta(days=60), end=today)
    assert 700 < window.p50_latency_ms < 1600
    assert window.p95_latency_ms > window.p50_latency_ms * 1.5
    # People Rollout does not know are counted, in no cohort.
    for slug in DEMO_SLUGS - {"sales-lead-scoring"}:
        strangers = set(
            UsageEvent.objects.filter(workflow__slug=slug, cohort__isnull=True).values_list(
                "user_ref", "user"
            )
        )
        assert strangers, slug
        assert all("@" not in ref and user is None for ref, user in strangers)


def assert_rollups_are_ready(by_slug: dict[str, int]) -> None:
    assert not UsageDirtyDay.objects.exists()
    for slug in by_slug:
        events = UsageEvent.objects.filter(workflow__slug=slug).exclude(kind__in=NOT_USAGE_KINDS)
        days = UsageRollup.objects.filter(workflow__slug=slug, period="day")
        assert {timezone.localdate(at) for at in events.values_list("occurred_at", flat=True)} == (
            set(days.values_list("day", flat=True))
        )
        assert sum(days.values_list("invocations", flat=True)) == (
            events.filter(kind="invocation").count()
        )


def assert_one_cohort_drifts(output: str) -> None:
    override = CohortDrift.objects.get(cohort__name="EU tier-1 agents", metric="override_rate")
    assert override.status == "degrading"
    assert override.current_value > override.baseline_value * 1.8
    assert override.explanation.startswith("Override rate rose from ")
    limited = Phase.objects.get(workflow__slug="support-reply-drafting", kind="limited")
    assert override.baseline_start == timezone.localdate(limited.actual_start) + timedelta(days=1)
    assert override.baseline_end < override.current_start
    assert "Drift in Support reply drafting, EU tier-1 agents: override rate degrading." in output
    # Elsewhere only the error rate the breach is about: nothing else looks like drift.
    degrading = set(
        CohortDrift.objects.filter(status="degrading").values_list("cohort__name", "metric")
    )
    assert degrading - {("EU tier-1 agents", "override_rate")} <= {
        ("Commercial counsel", "error_rate"),
        ("Procurement reviewers", "error_rate"),
    }
    # Invoice coding's drift baseline restarted at its unannounced prompt change, days ago.
    dublin = CohortDrift.objects.filter(cohort__name="Dublin AP clerks")
    assert set(dublin.values_list("status", flat=True)) == {"insufficient_data"}


def assert_an_unannounced_prompt_change(output: str) -> None:
    """Invoice coding declares prompt v6; for two and a half days its events report v7."""
    invoices = Workflow.objects.get(slug="invoice-coding")
    configs = AIConfiguration.objects.filter(workflow=invoices).order_by("version")
    # Declared: created with v6, then its data sources' versions; observed last: v7.
    origins = [(c.origin, c.prompt_version) for c in configs]
    assert set(origins[:-1]) == {("declared", "v6")}
    assert origins[-1] == ("observed", "v7")
    observed = configs.last()
    assert observed.evidence["fields"]["prompt_version"]["declared"] == "v6"
    assert observed.evidence["mismatching"] >= 20
    shadow = in_progress("invoice-coding")
    assert shadow.baseline_start == observed.effective_at
    notice = ChangeNotice.objects.get(workflow=invoices, kind="model_change")
    assert notice.title == "“Invoice coding”: its AI changed without notice"
    assert "prompt version “v7” where “v6” was declared" in notice.body
    assert "Unannounced change of Invoice coding's AI: " in output


def assert_contracts_paused_by_a_breach(output: str) -> None:
    contracts = Workflow.objects.get(slug="contract-clause-review")
    broad = in_progress(contracts.slug)
    assert (broad.kind, broad.status) == ("broad", "paused")
    assert broad.pause_reason.startswith(
        "Paused automatically: error rate breached its threshold. "
    )
    assert broad.pause_reason.endswith("cases: should be at most 1%.")
    paused = ActivityEntry.objects.filter(workflow=contracts, verb="paused").first()
    assert (paused.actor, paused.target, paused.note) == (
        None,
        "Broad roll-out",
        broad.pause_reason,
    )
    breached = ActivityEntry.objects.get(workflow=contracts, verb="threshold breached")
    assert breached.actor is None and breached.target == "Error rate"
    status = ThresholdStatus.objects.get(
        threshold__workflow=contracts, threshold__metric="error_rate"
    )
    assert status.verdict == "fail" and status.breached_since is not None
    assert status.sample >= status.threshold.min_sample
    # Acted on once; every other threshold passes on its whole window.
    assert list(ThresholdEvaluation.objects.filter(breach=True)) == [
        ThresholdEvaluation.objects.get(threshold=status.threshold)
    ]
    assert set(ThresholdStatus.objects.exclude(pk=status.pk).values_list("verdict", flat=True)) == {
        "pass"
    }
    # The owner is told of the pause; the breach also opens an escalation, which notifies level 1
    # of the path (Hannah too). (The demo feedback tells others of its own things.)
    breach = Notification.objects.filter(title__contains="Contract clause review paused")
    assert list(breach.values_list("recipient__email", "title")) == [
        (
            "hannah.weber@example.com",
            "Escalation for you (level 1): Contract clause review paused: error rate breached",
        ),
        ("hannah.weber@example.com", "Contract clause review paused: error rate breached"),
    ]
    assert decide(contracts.slug, "grace.liu@example.com").mode == "off"
    assert f"Rollout paused Contract clause review: {broad.pause_reason}" in output
    assert (in_progress("support-reply-drafting").status) == "active"


def test_a_demo_seeded_without_usage_gets_it_on_the_next_run() -> None:
    seed()
    assert not UsageEvent.objects.exists()

    output = seed(usage=LIGHT)

    assert output.startswith("Stored ")
    assert set(events_by_workflow()) == DEMO_SLUGS - {"sales-lead-scoring"}
    assert "Rolled up the usage; evaluated thresholds and drift." in output
    assert not UsageDirtyDay.objects.exists()
    assert CohortDrift.objects.filter(cohort__name="EU tier-1 agents").exists()


@pytest.mark.parametrize("scale", ["-0.1", "1.5"])
def test_a_usage_scale_outside_0_to_1_is_refused(scale: str) -> None:
    with pytest.raises(CommandError, match=f"--usage-scale must be between 0 and 1, not {scale}"):
        seed(usage=scale)
    assert not User.objects.exists()


def test_feedback_of_every_kind_and_status_through_the_services() -> None:
    output = seed()

    support = Feedback.objects.filter(workflow__slug="support-reply-drafting")
    assert "Added 10 feedback reports to Support reply drafting." in output
    assert "Added 2 feedback reports to Contract clause review." in output
    assert set(support.values_list("category", flat=True)) == set(FeedbackCategory.values)
    assert set(support.values_list("status", flat=True)) == set(FeedbackStatus.values)
    assert set(support.values_list("rating", flat=True)) == set(FeedbackRating.values)
    assert {"low", "medium", "high"} <= set(support.values_list("severity", flat=True))
    assert support.filter(assignee__email="owner@example.com").exists()
    # Back-dated over the last weeks, the harmful report two hours ago; nothing in the future.
    now = timezone.now()
    created = sorted(support.values_list("created_at", flat=True))
    assert now - timedelta(days=20) < created[0] < now - timedelta(days=10)
    assert now - timedelta(hours=3) < created[-1] < now
    # The back-dated reports fall on seven different days; the harmful one, two hours ago, may
    # share the last of them when the suite runs just after midnight.
    assert len({timezone.localdate(c) for c in created[:-1]}) >= 7
    assert all(f.updated_at >= f.created_at for f in support)
    # Through the AI tool's API: for a cohort member, and for someone Rollout does not know.
    api = support.filter(source="api")
    assert api.filter(author__email="lukas.schmidt@example.com").exists()
    stranger = api.get(author=None)
    assert stranger.user_ref == "zd-agent-5120" and stranger.cohort is None
    # Comments from the owner and from Maya; "me too" votes; a duplicate merged with its author
    # carried over as a vote.
    commenters = set(
        FeedbackComment.objects.filter(feedback__in=support).values_list("author__email", flat=True)
    )
    assert {"owner@example.com", "member@example.com"} <= commenters
    assert FeedbackVote.objects.filter(feedback__in=support, user__email=MEMBER).exists()
    duplicate = support.get(duplicate_of__isnull=False)
    assert duplicate.status == "resolved"
    assert duplicate.duplicate_of.votes.filter(user=duplicate.author).exists()
    # Each status change was recorded, and told to the author.
    assert ActivityEntry.objects.filter(workflow__slug="support-reply-drafting", verb="triaged")
    assert Notification.objects.filter(
        recipient__email=MEMBER, title__startswith="Your feedback is now"
    ).exists()
    harmful = support.get(category="harmful")
    assert harmful.author.email == MEMBER and harmful.status == "new"
    assert Escalation.objects.filter(feedback=harmful).exists()
    assert Feedback.objects.filter(workflow__slug="contract-clause-review").count() == 2


def test_an_escalation_waits_unacknowledged_at_level_2(client) -> None:
    seed()

    escalation = Escalation.objects.get(workflow__slug="support-reply-drafting", status="open")
    now = timezone.now()
    assert escalation.source == "feedback"
    assert escalation.step == 2 and escalation.acknowledged_at is None
    assert escalation.current_contact.email == "ops@example.com"
    assert timedelta(minutes=110) < now - escalation.opened_at < timedelta(minutes=130)
    assert escalation.next_step_at > now  # waiting at level 2, not yet due to repeat it
    notified = EscalationEvent.objects.filter(escalation=escalation, kind="notified")
    assert list(notified.order_by("step").values_list("step", "contact__email")) == [
        (1, "owner@example.com"),
        (2, "ops@example.com"),
    ]
    # On time: level 2 was told when level 1's 30 minutes ran out, with no "late" note.
    step_2 = notified.get(step=2)
    assert step_2.at - escalation.opened_at == timedelta(minutes=30) and not step_2.note
    assert list(escalation_list_for_contact(user("ops@example.com"))) == [escalation]
    client.force_login(user("ops@example.com"))
    page = client.get("/").content.decode()
    assert "Escalations waiting on you" in page and escalation.title in page


def test_a_closed_incident_with_its_timeline_and_notice() -> None:
    seed()

    incident = Incident.objects.get(workflow__slug="support-reply-drafting")
    assert incident.status == "closed"
    assert incident.title == "Drafts quoted the old 30-day return window"
    assert list(incident.cohorts.values_list("name", flat=True)) == ["EU tier-1 agents"]
    assert incident.closed_by.email == "owner@example.com"
    now = timezone.now()
    assert timedelta(days=3) < now - incident.closed_at < timedelta(days=6)
    updates = list(IncidentUpdate.objects.filter(incident=incident).order_by("at"))
    assert len(updates) == 4
    assert incident.started_at < incident.opened_at <= updates[0].at
    assert updates[-1].at < incident.closed_at
    assert incident.what_happened and incident.what_changed
    assert incident.notice_title.startswith("What happened with Support reply drafting on ")
    assert incident.notice_body.startswith("To EU tier-1 agents,")
    assert incident.what_changed in incident.notice_body
    # The notice's timeline ends when the incident was closed, days ago.
    closed = date_format(timezone.localtime(incident.closed_at), "j M Y, H:i T")
    assert f"- {closed}: resolved, and this incident closed." in incident.notice_body


def test_feedback_is_added_once_and_rebuilt_by_reset() -> None:
    seed()
    counts = {m.__name__: m.objects.count() for m in (Feedback, Escalation, Incident)}
    assert counts == {"Feedback": 12, "Escalation": 1, "Incident": 1}

    assert seed() == "Nothing to do: the demo data is already there.\n"
    assert {m.__name__: m.objects.count() for m in (Feedback, Escalation, Incident)} == counts

    seed("--reset")
    assert {m.__name__: m.objects.count() for m in (Feedback, Escalation, Incident)} == counts
    assert Escalation.objects.get().step == 2


# --- Change notices ------------------------------------------------------------------------------


def notice_state() -> dict[str, object]:
    return {
        "notices": sorted(
            ChangeNotice.objects.values_list(
                "workflow__slug", "kind", "status", "title", "publish_at", "effective_at", "urgent"
            )
        ),
        "receipts": sorted(
            NoticeReceipt.objects.values_list(
                "notice__title", "recipient__email", "read_at", "acknowledged_at"
            )
        ),
        "deliveries": NoticeDelivery.objects.count(),
        "follows": sorted(Follow.objects.values_list("user__email", "workflow__slug")),
    }


def test_published_notices_with_partial_acknowledgement(mailoutbox) -> None:
    output = seed()

    now = timezone.now()
    for slug, count in (("support-reply-drafting", 4), ("contract-clause-review", 2)):
        published = ChangeNotice.objects.filter(workflow__slug=slug, status="published")
        assert published.count() == count, slug
        # An incident's explanation asks for no acknowledgement (its test is below).
        for notice in published.exclude(kind="incident_explanation"):
            assert notice.requires_ack
            assert notice.published_at == notice.publish_at < now
            assert notice.created_at <= notice.publish_at < notice.effective_at
            receipts = NoticeReceipt.objects.filter(notice=notice)
            acknowledged = receipts.filter(acknowledged_at__isnull=False)
            read_only = receipts.filter(read_at__isnull=False, acknowledged_at=None)
            neither = receipts.filter(read_at=None)
            # Partial: some acknowledged, some did not; nobody acknowledged before it went out.
            assert acknowledged.exists() and acknowledged.count() < receipts.count(), notice
            assert read_only.exists() or neither.exists(), notice
            assert all(
                notice.published_at <= r.read_at < now for r in receipts.exclude(read_at=None)
            )
            # Delivered once per recipient and channel, through the sender, at publish time.
            deliveries = NoticeDelivery.objects.filter(notice=notice)
            assert set(deliveries.values_list("status", flat=True)) == {"sent"}
            assert deliveries.filter(channel="in_app").count() == receipts.count()
            assert set(deliveries.values_list("sent_at", flat=True)) == {notice.published_at}
            assert (
                ActivityEntry.objects.filter(
                    workflow=notice.workflow, verb="published notice", target=notice.title
                )
                .get()
                .created_at
                == notice.published_at
            )
        assert f"Notice on {published[0].workflow.name} (published, " in output
    support = ChangeNotice.objects.filter(workflow__slug="support-reply-drafting")
    assert set(support.values_list("kind", flat=True)) >= {
        "cohort_enrolment",
        "prompt_change",
        "incident_explanation",
        "model_change",
    }
    # The limited roll-out was announced before it began: the promotion's draft, sent.
    limited = support.get(kind="cohort_enrolment")
    phase = Phase.objects.get(workflow__slug="support-reply-drafting", kind="limited")
    assert limited.effective_at <= phase.actual_start
    assert limited.effective_at - limited.publish_at >= timedelta(days=5)
    # The closed incident's explanation, published when it closed, with its texts.
    incident = Incident.objects.get(workflow__slug="support-reply-drafting")
    explanation = support.get(kind="incident_explanation")
    assert explanation.incident == incident and explanation.status == "published"
    assert explanation.body == incident.notice_body
    assert incident.closed_at == explanation.publish_at == explanation.published_at
    assert explanation.urgent and explanation.approved_by is None
    assert ChangeNotice.objects.filter(incident=incident).count() == 1
    # Emails went to the test mailer, one per recipient who wants them.
    assert len(mailoutbox) == NoticeDelivery.objects.filter(channel="email").count() > 0
    # Nothing is left to send.
    assert not NoticeDelivery.objects.exclude(status="sent").exists()


def test_a_model_change_is_scheduled_two_days_ahead() -> None:
    seed()

    scheduled = ChangeNotice.objects.get(status="scheduled")
    assert scheduled.workflow.slug == "support-reply-drafting"
    assert scheduled.kind == "model_change" and not scheduled.urgent
    today = timezone.localdate()
    assert timezone.localdate(scheduled.publish_at) >= today + timedelta(days=2)
    assert scheduled.effective_at - scheduled.publish_at == timedelta(days=7)
    assert not scheduled.receipts.exists() and not scheduled.deliveries.exists()


def test_an_urgent_notice_approved_by_an_ops_leader_other_than_its_author() -> None:
    output = seed()

    # The one that needed approval (an incident's explanation is urgent without one).
    urgent = ChangeNotice.objects.get(urgent=True, incident__isnull=True)
    assert urgent.status == "published"
    lead_time = timedelta(days=urgent.workflow.lead_time_days)
    assert urgent.effective_at - urgent.publish_at < lead_time
    assert urgent.effective_at > timezone.now()  # announced, not yet in effect
    assert urgent.urgent_reason
    assert role_names(urgent.approved_by) == {OPS_LEADERS}
    assert urgent.approved_by != urgent.created_by == user("owner@example.com")
    assert urgent.created_at < urgent.approved_at < urgent.published_at
    assert f"urgent, approved by Olivia Bennett): {urgent.title}" in output
    # The ops leader was asked to approve it.
    assert Notification.objects.filter(
        recipient__email="ops@example.com", title=f"Urgent notice to approve: {urgent.title}"
    ).exists()


def test_maya_has_an_unread_and_a_read_unacknowledged_notice_and_elena_follows() -> None:
    seed()

    inbox = list(inbox_list_for_user(user(MEMBER)))
    states = [(r.read_at is not None, r.acknowledged_at is not None) for r in inbox]
    assert states[0] == (False, False)  # unread first
    assert states.count((False, False)) == 1
    assert states.count((True, False)) == 2  # the incident's explanation asks no acknowledgement
    assert (True, True) in states
    assert Follow.objects.filter(
        user__email="exec@example.com", workflow__slug="support-reply-drafting"
    ).exists()
    elena = NoticeReceipt.objects.filter(recipient__email="exec@example.com")
    assert elena.exists() and set(elena.values_list("cohort", flat=True)) == {None}


def test_notices_are_added_once_and_rebuilt_by_reset() -> None:
    seed()
    before = notice_state()
    # 5 on Support reply drafting and its review-outcome draft, 2 on Contract clause review,
    # Invoice coding's draft.
    assert len(before["notices"]) == 9

    assert seed() == "Nothing to do: the demo data is already there.\n"
    assert notice_state() == before

    seed("--reset")
    after = notice_state()
    assert [row[:4] for row in after["notices"]] == [row[:4] for row in before["notices"]]
    assert len(after["receipts"]) == len(before["receipts"])
    assert after["deliveries"] == before["deliveries"]
    assert after["follows"] == before["follows"]


def test_reviews_one_completed_one_due_soon_one_overdue() -> None:
    seed()
    review = Review.objects.get(workflow__slug="support-reply-drafting")
    assert review.status == ReviewStatus.COMPLETED
    # Without usage (the tests' default) no threshold has a verdict yet; the cohorts are there.
    assert "thresholds" in review.snapshot and review.snapshot["usage"]["cohorts"]
    assert list(review.decisions.values_list("kind", flat=True)) == ["continue", "hold"]
    assert review.attestations.filter(answer="changed").exists()
    due = dict(Workflow.objects.values_list("slug", "next_review_due"))
    today = timezone.localdate()
    assert today < due["invoice-coding"] <= today + timedelta(days=14)
    assert due["contract-clause-review"] < today - timedelta(days=7)
    sent = ReviewReminder.objects.filter(outcome="sent")
    assert set(sent.values_list("workflow__slug", "kind")) == {
        ("invoice-coding", "days_14"),
        ("contract-clause-review", "overdue"),
    }
    assert seed() == "Nothing to do: the demo data is already there.\n"


def test_support_reply_drafting_has_a_briefing_at_60_percent_in_the_eu_cohort() -> None:
    output = seed()
    support = Workflow.objects.get(slug="support-reply-drafting")
    versions = [(b.number, b.material) for b in support.briefings.order_by("number")]
    assert versions == [(1, True), (2, False)]
    coverage = {c.cohort.name: c for c in briefing_coverage(support, "broad").cohorts}
    eu = coverage["EU tier-1 agents"]
    assert (eu.members, eu.acknowledged, eu.percent) == (5, 3, 60)
    assert "member@example.com" in [u.email for u in eu.not_acknowledged]
    # The demo member was asked, in the app, to read it.
    asked = Notification.objects.filter(recipient=user("member@example.com"), workflow=support)
    assert asked.filter(url="/workflows/support-reply-drafting/briefing/").exists()
    assert "Briefing on Support reply drafting" in output
    assert "Nothing to do" in seed()  # idempotent
    assert support.briefings.count() == 2


def test_the_crm_export_went_stale_last_week_and_the_gate_says_so() -> None:
    seed(usage=LIGHT)
    support = Workflow.objects.get(slug="support-reply-drafting")
    crm = DataSource.objects.get(workflow=support, key="crm-export")
    assert crm.kind == SourceKind.LIVE
    status = SourceStatus.objects.get(source=crm)
    assert status.state == SourceState.STALE
    assert timedelta(days=6) < timezone.now() - status.state_since < timedelta(days=8)
    check = {c.key: c for c in gate_next(support).checks}["live_sources_fresh"]
    assert check.reason.startswith("“CRM export” is stale since ")
    assert (
        Notification.objects.filter(
            recipient=support.owner,
            title="Support reply drafting: data source “CRM export” is stale",
        ).count()
        == 1
    )
    # The other live sources report by heartbeat and are fresh; lead scoring's never reported.
    fresh = SourceStatus.objects.filter(
        source__kind=SourceKind.LIVE, state=SourceState.FRESH
    ).values_list("source__workflow__slug", flat=True)
    assert set(fresh) == {"support-reply-drafting", "invoice-coding", "contract-clause-review"}
    leads = {c.key: c for c in gate_next(Workflow.objects.get(slug="sales-lead-scoring")).checks}
    assert "has never reported" in leads["live_sources_reported"].reason
    # Seeded once.
    assert "data-source reports" not in seed(usage=LIGHT)


def test_outcomes_ai_vs_holdout_one_clear_one_straddling_zero() -> None:
    from rollout.models import Arm, OutcomeDay, OutcomeMetric
    from rollout.selectors.impact import WORKFLOW_SCOPE, impact_figures, window_days

    output = seed(usage=LIGHT)
    assert re.search(
        r"Stored [\d,]+ outcome events \(AI vs holdout\) for Support reply drafting, "
        r"Contract clause review\.",
        output,
    )
    first, last = window_days(28)
    found = {}
    for slug, name in (
        ("support-reply-drafting", "handle_time_s"),
        ("contract-clause-review", "review_time_min"),
    ):
        workflow = Workflow.objects.get(slug=slug)
        metric = OutcomeMetric.objects.get(workflow=workflow, name=name)
        assert not metric.higher_is_better
        study = Cohort.objects.get(workflow=workflow, holdout_percentage=50)
        assert study.enrolled_phase == "limited"
        figures = impact_figures(
            workflow, metrics=[metric], cohorts=[study], first_day=first, last_day=last
        )
        found[slug] = figures[(name, WORKFLOW_SCOPE)]
        # Both arms come from the ingestion's stamping, rolled up.
        arms = set(OutcomeDay.objects.filter(workflow=workflow).values_list("arm", flat=True))
        assert arms == {Arm.AI, Arm.HOLDOUT}
    support, contracts = found["support-reply-drafting"], found["contract-clause-review"]
    assert support.enough and support.fixed.high < 0  # faster with the AI, clear of zero
    assert contracts.enough and contracts.fixed.low < 0 < contracts.fixed.high  # straddles
    impact = ThresholdStatus.objects.get(threshold__metric="impact")
    assert impact.verdict == "pass"
    assert "outcome events" not in seed(usage=LIGHT)  # seeded once


def test_support_reply_drafting_samples_the_eu_agents_and_has_a_review_queue() -> None:
    output = seed()
    support = Workflow.objects.get(slug="support-reply-drafting")
    levels = dict(support.cohorts.values_list("name", "review_level"))
    assert levels == {"EU tier-1 agents": "sample", "US tier-1 agents": "every"}
    eu = support.cohorts.get(name="EU tier-1 agents")
    assert eu.review_sample_rate == 10
    # The EU move down was a request, approved despite its gate with the reason written down.
    moved = AutonomyRequest.objects.get(cohort=eu)
    assert moved.status == "executed" and moved.override_reason
    # The US request waits for an ops leader; it is on the approvals queue.
    waiting = AutonomyRequest.objects.get(cohort__name="US tier-1 agents")
    assert (waiting.status, waiting.to_level, waiting.sample_rate) == ("pending", "sample", 20)
    reviewers = list(support.output_reviewers.values_list("user__email", flat=True))
    assert reviewers == ["sofia.rossi@example.com"]
    items = OutputReview.objects.filter(workflow=support, cohort=eu)
    graded = items.exclude(grade="")
    assert graded.count() >= 10 and items.filter(grade="").count() >= 3
    assert set(graded.values_list("grade", flat=True)) == {"correct", "minor", "wrong"}
    assert all(len(i.excerpt) <= 1000 and i.excerpt for i in items)
    assert not items.filter(user__email="sofia.rossi@example.com").exists()  # not her own
    # Decisions tell the AI tool: a live EU agent at a 10% sample.
    lukas = decide("support-reply-drafting", "lukas.schmidt@example.com")
    assert (lukas.mode, lukas.review_level, lukas.review_sample_rate) == ("live", "sample", 10)
    assert "Review queue of Support reply drafting: " in output
    assert "Nothing to do" in seed()  # idempotent
    assert OutputReview.objects.filter(workflow=support).count() == items.count()


def test_support_reply_drafting_has_a_token_mid_rotation_and_a_pipeline_token() -> None:
    from rollout.models import ApiToken, ApiTokenStatus

    output = seed()
    support = Workflow.objects.get(slug="support-reply-drafting")
    tokens = {(t.name, t.status) for t in ApiToken.objects.filter(workflow=support)}
    assert tokens == {
        ("Support tool production", ApiTokenStatus.ACTIVE),
        ("Support tool production", ApiTokenStatus.REPLACED),
        ("Nightly CRM pipeline", ApiTokenStatus.ACTIVE),
    }
    old = ApiToken.objects.get(workflow=support, expires_at__isnull=False)
    assert old.replaced_by.name == "Support tool production"
    assert old.expires_at - old.replaced_by.created_at == timedelta(hours=24)
    assert old.last_used_at < old.replaced_by.last_used_at
    assert not ApiToken.objects.exclude(workflow=support).exists()
    assert "Added the API tokens of Support reply drafting, one mid-rotation." in output
    assert "Nothing to do" in seed()  # idempotent
    assert ApiToken.objects.count() == 3


def test_a_study_story_adds_people_until_each_arm_can_be_compared(monkeypatch) -> None:
    """Who is held out hangs on primary keys (they differ between databases and test orders):
    the story adds study people until both arms have enough, the same ones on every call."""
    from rollout.management.demo import outcomes

    story = outcomes.STORIES["contract-clause-review"]
    workflow = make_workflow(actor=ops_leader_user(), slug="contract-clause-review")
    # A hash that holds out one person in four: 24 people would give the holdout only 6.
    arm = iter(["holdout", "ai", "ai", "ai"] * 100)
    monkeypatch.setattr(outcomes, "_held_out_or_ai", lambda *args: next(arm))

    people = outcomes._people(workflow, story)

    # The twelfth held-out person is the 45th: holdout, ai, ai, ai, …, holdout.
    assert len(people) == 4 * (outcomes.MIN_PER_ARM - 1) + 1 > story.people
    arm = iter(["holdout", "ai", "ai", "ai"] * 100)
    assert outcomes._people(workflow, story) == people  # found again, not made again

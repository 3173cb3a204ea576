from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import User
from accounts.roles import EXECUTIVES, OPS_LEADERS, role_names
from rollout.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS, DEMO_WORKFLOWS
from rollout.models import (
    ActivityEntry,
    BlackoutWindow,
    Cohort,
    CohortMember,
    DataSource,
    EscalationLevel,
    Phase,
    PhaseStatus,
    PromotionRequest,
    PromotionStatus,
    ReadinessAnswer,
    Threshold,
    Workflow,
    WorkflowUserObjectPermission,
)
from rollout.permissions import can_change_workflow, can_use_workflow, can_view_workflow
from rollout.selectors.decision import decide
from tests.factories import UserFactory, make_workflow

pytestmark = pytest.mark.django_db

DEMO_SLUGS = {w.slug for w in DEMO_WORKFLOWS}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
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
            ActivityEntry.objects.values_list("workflow__slug", "actor__email", "verb", "note")
        ),
        "perms": sorted(
            WorkflowUserObjectPermission.objects.values_list(
                "user__email", "content_object__slug", "permission__codename"
            )
        ),
        "phases": sorted(
            Phase.objects.values_list("workflow__slug", "kind", "status", "actual_start")
        ),
        "counts": {
            model.__name__: model.objects.count()
            for model in (
                Cohort,
                CohortMember,
                DataSource,
                EscalationLevel,
                PromotionRequest,
                ReadinessAnswer,
                Threshold,
                BlackoutWindow,
            )
        },
    }


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
    seed()
    before = state()

    output = seed()

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
    seed()
    fresh = state()
    stranger = UserFactory(email="real.person@example.com", display_name="Real Person")
    real = make_workflow(owner=stranger, actor=user("ops@example.com"), slug="real-workflow")
    owner = user("owner@example.com")
    owner.display_name = "Renamed"
    owner.set_password("something-else")
    owner.save()
    Workflow.objects.filter(slug="invoice-coding").delete()

    output = seed("--reset")

    assert (
        "Deleted the demo data: 3 workflows with their plans and activity, "
        "1 org-wide blackout window, 20 users."
    ) in output
    after = state()
    for key in ("groups", "workflows"):
        assert [row for row in after[key] if "real" not in str(row)] == fresh[key]
    assert user("owner@example.com").display_name == "Owen Clarke"
    assert user("owner@example.com").check_password(DEMO_PASSWORD)
    demo_activity = ActivityEntry.objects.filter(workflow__slug__in=DEMO_SLUGS)
    # Nothing doubled: the plans were rebuilt exactly, with the same back-dated history.
    assert demo_activity.count() == len(fresh["activity"])
    assert after["counts"] == fresh["counts"]
    assert after["phases"] == fresh["phases"]
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
    assert phases == {
        "support-reply-drafting": ("limited", "active"),
        "invoice-coding": ("shadow", "active"),
        "sales-lead-scoring": ("audit", "active"),
        "contract-clause-review": ("broad", "paused"),
    }
    assert "Planned workflow Contract clause review (broad, paused)." in output
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


def test_sales_lead_scoring_shows_an_unmapped_export_and_contracts_are_paused() -> None:
    seed()

    leads = Workflow.objects.get(slug="sales-lead-scoring")
    assert [s.name for s in leads.data_sources.all() if s.is_unmapped_export] == [
        "Trade-show leads 2026"
    ]
    assert 0 < ReadinessAnswer.objects.filter(workflow=leads).count() < 9
    contracts = Workflow.objects.get(slug="contract-clause-review")
    broad = in_progress("contract-clause-review")
    assert broad.pause_reason == (
        "Clause extraction missed indemnity caps in 3 contracts; paused while the prompt is fixed"
    )
    assert contracts.fallback_mode == "off"
    assert decide("contract-clause-review", "grace.liu@example.com").mode == "off"


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

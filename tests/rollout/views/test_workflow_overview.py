import pytest
from django.urls import reverse

from rollout.models import ActivityEntry
from rollout.services.activity import activity_record
from rollout.views.workflows import RECENT_ACTIVITY
from tests.rollout.views.conftest import login_redirect, template_names

EDIT = (
    '<a class="button button-secondary" href="/workflows/support-reply-drafting/edit/">'
    "Edit details</a>"
)
HANDOVER = (
    '<a class="button button-secondary" href="/workflows/support-reply-drafting/handover/">'
    "Hand over</a>"
)
OWNERLESS_CALLOUT = "<strong>This workflow has no active owner.</strong>"


def url(slug: str) -> str:
    return reverse("workflow_overview", kwargs={"slug": slug})


def test_anonymous_is_sent_to_sign_in(client, workflow):
    response = client.get(url(workflow.slug))

    assert response.status_code == 302
    assert response["Location"] == login_redirect(url(workflow.slug))


def test_user_without_a_role_gets_404(client, other_user, workflow):
    client.force_login(other_user)

    assert client.get(url(workflow.slug)).status_code == 404


def test_unknown_slug_is_404(client, ops_leader, workflow):
    client.force_login(ops_leader)

    assert client.get(url("no-such-workflow")).status_code == 404


@pytest.mark.parametrize(
    ("role", "can_edit"), [("ops_leader", True), ("workflow_owner", True), ("executive", False)]
)
def test_overview_shows_the_workflow_and_only_allowed_actions(
    client, request, workflow, role, can_edit
):
    client.force_login(request.getfixturevalue(role))

    response = client.get(url(workflow.slug))

    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_overview.html"
    html = response.content.decode()
    assert "<h1>Support reply drafting" in html
    assert "Owned by Owen Owner" in html
    assert "<dt>Business action</dt><dd>Reply email sent to the customer</dd>" in html
    assert "<dt>Model</dt><dd>OpenAI · gpt-5 · 2026-09</dd>" in html
    assert "<p>Drafts replies to tier-1 support tickets.</p>" in html
    assert f'<dt>Created</dt><dd><time datetime="{workflow.created_at.isoformat()}">' in html
    assert (
        '<li><a href="/workflows/support-reply-drafting/" aria-current="page">Overview</a></li>'
        in html
    )
    assert '<li><a href="/workflows/support-reply-drafting/activity/">Activity</a></li>' in html
    assert (EDIT in html) is can_edit
    assert (HANDOVER in html) is can_edit
    assert OWNERLESS_CALLOUT not in html
    assert ">Ownerless</span>" not in html


def test_recent_activity_shows_the_last_entries_newest_first(client, ops_leader, workflow):
    for n in range(RECENT_ACTIVITY + 3):
        activity_record(workflow=workflow, actor=ops_leader, verb="noted", target=f"thing {n}")
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    recent = response.context["recent_activity"]
    assert [e.target for e in recent] == [f"thing {n}" for n in range(7, 2, -1)]
    html = response.content.decode()
    assert "<strong>Olivia Ops</strong> noted thing 7" in html
    assert "thing 2" not in html
    assert '<p><a href="/workflows/support-reply-drafting/activity/">All activity</a></p>' in html


def test_ownerless_workflow_is_flagged_with_a_callout(client, executive, ownerless_workflow):
    client.force_login(executive)

    html = client.get(url(ownerless_workflow.slug)).content.decode()

    assert '<h1>Invoice coding <span class="badge badge-danger"' in html
    assert OWNERLESS_CALLOUT in html
    assert "Gina Gone was deactivated, so nobody is accountable for it" in html
    assert "an ops leader must name a new one." in html
    assert "Name a new owner" not in html


def test_ops_leader_is_offered_to_name_a_new_owner(client, ops_leader, ownerless_workflow):
    client.force_login(ops_leader)

    html = client.get(url(ownerless_workflow.slug)).content.decode()

    assert (
        '<a class="button" href="/workflows/invoice-coding/handover/">Name a new owner</a>' in html
    )
    assert '<p><a href="/workflows/invoice-coding/handover/">Name a new owner</a></p>' in html


def test_overview_queries_are_bounded(django_assert_max_num_queries, client, ops_leader, workflow):
    ActivityEntry.objects.bulk_create(
        ActivityEntry(workflow=workflow, actor=ops_leader, verb="noted", target=f"t{n}")
        for n in range(50)
    )
    client.force_login(workflow.owner)

    # Guardian asks per predicate (view, change, hand over): a constant, whatever the data size.
    # +4 for the promotion card (phases, open request, blackouts, view check), +1 for Follow,
    # +1 for the set-up checklist (one query, shown to whoever may change the workflow), +2 for
    # the live data sources (the health's flags, the gate's condition), +1 for the outcome
    # metrics (none here).
    with django_assert_max_num_queries(21):
        assert client.get(url(workflow.slug)).status_code == 200


def test_a_cohort_member_sees_the_member_view_only(client, ops_leader, workflow):
    from rollout.services.cohorts import cohort_create, cohort_members_add
    from tests.factories import UserFactory

    member = UserFactory(display_name="Maya Member")
    cohort = cohort_create(workflow=workflow, actor=ops_leader, name="EU agents", description="")
    cohort_members_add(cohort=cohort, users=[member], actor=ops_leader)
    client.force_login(member)

    response = client.get(url(workflow.slug))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Support reply drafting" in body
    # Owner-facing sections are neither linked nor shown to members.
    for owner_page in ("plan", "cohorts", "thresholds", "escalation", "activity"):
        assert f"/workflows/{workflow.slug}/{owner_page}/" not in body
    assert "Recent activity" not in body
    assert client.get(f"/workflows/{workflow.slug}/plan/").status_code == 404


# --- Health, key metrics and the pause on breach -------------------------------------------


def _breach_setup(workflow, ops_leader):
    """A limited roll-out with a pause_rollout override threshold, then usage that breaks it."""
    from rollout.models import Threshold
    from tests.rollout.promotion_fixtures import make_plan
    from tests.rollout.views.usage_page_data import (
        day_events,
        days_ago,
        make_cohort,
        member_ref,
        record_usage,
    )

    make_plan(workflow, current="limited")
    eu = make_cohort(workflow, ops_leader, "EU agents", 4)
    Threshold.objects.create(
        workflow=workflow,
        metric="override_rate",
        comparator="lte",
        limit=0.10,
        window_days=7,
        min_sample=10,
        bad_output="A reply the agent has to rewrite.",
        action="pause_rollout",
    )
    record_usage(
        workflow,
        day_events(member_ref(eu, 0), days_ago(1), invocations=20, accepted=12, overridden=8)
        + day_events(member_ref(eu, 1), days_ago(2), invocations=5, accepted=5, errors=1),
    )
    return eu


def test_health_panel_and_key_metrics_of_the_last_seven_days(
    client, executive, workflow, ops_leader
):
    _breach_setup(workflow, ops_leader)
    client.force_login(executive)

    response = client.get(url(workflow.slug))

    html = response.content.decode()
    assert response.context["health"].status == "failing"
    assert (
        '<h2 id="health-heading">Health <span class="badge health-badge health-failing '
        'badge-danger"' in html
    )
    assert "✗ Failing</span>" in html
    assert "<li>Override rate failing: 32% over 25 cases: should be at most 10%.</li>" in html
    metrics = {label: (value, detail) for label, value, detail in response.context["key_metrics"]}
    assert metrics == {
        "Invocations": ("25", ""),
        "Active members": ("50.0%", "2 of 4 used it at least once"),
        "Acceptance": ("68.0%", "of 25 outputs acted on"),
        "Override": ("32.0%", "of 25 outputs acted on"),
        "Error": ("4.0%", "of 25 invocations"),
        "p95 latency": (metrics["p95 latency"][0], "25 timed"),
    }
    assert metrics["p95 latency"][0].endswith(" ms")
    assert (
        '<a href="/workflows/support-reply-drafting/usage/">Usage by cohort, with charts</a>'
        in html
    )


def test_a_pause_on_breach_says_why_at_the_top(client, workflow_owner, workflow, ops_leader):
    _breach_setup(workflow, ops_leader)
    client.force_login(workflow_owner)

    html = client.get(url(workflow.slug)).content.decode()

    assert '<h2 id="paused-heading">The limited roll-out is paused</h2>' in html
    assert (
        '<p class="pause-reason">Paused automatically: override rate breached its threshold. '
        "32% over 25 cases: should be at most 10%.</p>"
    ) in html
    assert "until you resume it below." in html
    # The callout comes before the phase card and the health panel.
    assert html.index("paused-heading") < html.index("phase-heading") < html.index("health-heading")


def test_members_see_the_pause_but_not_the_health_panel(client, workflow, ops_leader):
    eu = _breach_setup(workflow, ops_leader)
    client.force_login(eu.members.first())

    response = client.get(url(workflow.slug))

    html = response.content.decode()
    assert "The limited roll-out is paused" in html
    assert "the owner or an ops leader resumes it." in html
    assert "health" not in response.context
    assert "health-heading" not in html
    assert "/usage/" not in html


def test_no_usage_yet_shows_dashes_and_not_enough_data(client, ops_leader, workflow):
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    html = response.content.decode()
    assert "? Not enough data</span>" in html
    assert "<li>No thresholds defined yet.</li>" in html
    metrics = {label: value for label, value, _detail in response.context["key_metrics"]}
    assert metrics == {
        "Invocations": "0",
        "Active members": "—",
        "Acceptance": "—",
        "Override": "—",
        "Error": "—",
        "p95 latency": "—",
    }


def test_overview_queries_stay_bounded_with_usage(
    django_assert_max_num_queries, client, ops_leader, workflow
):
    from tests.rollout.outcome_fixtures import days_ago, handle_time, person_days

    _breach_setup(workflow, ops_leader)
    handle_time(workflow)
    for day in range(0, 28, 2):
        person_days(workflow, None, "ai", [100.0 + i for i in range(30)], day=days_ago(day))
        person_days(workflow, None, "holdout", [140.0 + i for i in range(30)], day=days_ago(day))
    client.force_login(workflow.owner)

    # +1: the Follow button (+1 the notice gate), +1 the set-up checklist, +2 the live data
    # sources (the health's flags, the gate's condition), +2 the outcomes vs holdout (metrics,
    # per-person sums).
    with django_assert_max_num_queries(29):
        response = client.get(url(workflow.slug))
    assert response.status_code == 200
    assert response.context["impact"] == (
        "Handle time: AI -40.0 s vs holdout (95% interval -44.5 s to -35.5 s; 30 and 30 people)"
    )


def test_a_new_workflow_opens_on_its_set_up_checklist(client, ops_leader, workflow):
    from rollout.models import Cohort

    client.force_login(workflow.owner)
    response = client.get(url(workflow.slug))

    steps = response.context["setup_steps"]
    assert [step.key for step in steps] == [
        "plan",
        "data_sources",
        "cohorts",
        "thresholds",
        "escalation",
        "token",
    ]
    assert not any(step.done for step in steps)
    html = response.content.decode()
    assert "Set up this workflow" in html and "0 of 6 done" in html
    assert f'href="/workflows/{workflow.slug}/cohorts/">Add a cohort' in html
    assert f'href="/workflows/{workflow.slug}/tokens/">Create a token' in html

    Cohort.objects.create(workflow=workflow, name="EU agents")
    response = client.get(url(workflow.slug))
    assert [s.key for s in response.context["setup_steps"] if s.done] == ["cohorts"]
    assert "1 of 6 done" in response.content.decode()


def test_the_set_up_checklist_is_for_those_who_may_change_the_workflow(
    client, executive, ops_leader, workflow
):
    client.force_login(executive)
    assert "setup_steps" not in client.get(url(workflow.slug)).context
    client.force_login(ops_leader)
    assert "setup_steps" in client.get(url(workflow.slug)).context


def test_the_checklist_goes_once_every_step_is_done(client, ops_leader, workflow):
    from rollout.selectors import setup

    client.force_login(workflow.owner)
    done = [setup.SetupStep(k, "x", "y", "workflow_plan", "z", True) for k in "abcdef"]
    from unittest import mock

    with mock.patch("rollout.views.workflows.workflow_setup_steps", return_value=done):
        response = client.get(url(workflow.slug))
    assert "setup_steps" not in response.context
    assert "Set up this workflow" not in response.content.decode()


def test_a_workflow_whose_roll_out_has_started_shows_no_set_up_checklist(
    client, ops_leader, workflow
):
    from django.utils import timezone

    from rollout.models import Phase

    client.force_login(workflow.owner)
    assert "setup_steps" in client.get(url(workflow.slug)).context
    today = timezone.localdate()
    Phase.objects.create(
        workflow=workflow,
        kind="audit",
        position=0,
        planned_start=today,
        planned_end=today,
        actual_start=timezone.now(),
    )
    assert "setup_steps" not in client.get(url(workflow.slug)).context

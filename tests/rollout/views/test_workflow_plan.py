from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rollout.models import ActivityEntry, DataSource, Phase, ReadinessAnswer
from rollout.services.data_sources import MSG_VERIFIED_IN_FUTURE, data_source_create
from rollout.services.phases import MSG_END_BEFORE_START, MSG_OVERLAPS_PREVIOUS, plan_create_default
from rollout.services.readiness import MSG_EVIDENCE_REQUIRED, readiness_answer
from rollout.views.plan import (
    MSG_ANSWERED,
    MSG_PHASE_SAVED,
    MSG_PLAN_CREATED,
    MSG_SOURCE_ADDED,
)
from tests.rollout.views.conftest import login_redirect, template_names

START = date(2027, 1, 4)


def url(name: str, slug: str) -> str:
    return reverse(name, kwargs={"slug": slug})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def planned(workflow, ops_leader):
    plan_create_default(workflow=workflow, start_date=START, actor=ops_leader)
    return workflow


def phase_data(kind: str, **overrides: str) -> dict[str, str]:
    phase = Phase.objects.get(kind=kind)
    data = {
        "phase": kind,
        f"phase-{kind}-planned_start": phase.planned_start.isoformat(),
        f"phase-{kind}-planned_end": phase.planned_end.isoformat() if phase.planned_end else "",
        f"phase-{kind}-min_duration_days": str(phase.min_duration_days),
        f"phase-{kind}-exit_criteria": phase.exit_criteria,
    }
    data.update({f"phase-{kind}-{k}": v for k, v in overrides.items()})
    return data


def source_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Ticket export",
        "kind": "static_export",
        "live_equivalent": "",
        "description": "",
        "freshness": "Daily",
        "validation": "Row counts",
        "last_verified_at": "2026-01-05",
        "version": "v1",
    }
    data.update(overrides)
    return {f"source-new-{k}": v for k, v in data.items()}


def test_anonymous_is_sent_to_sign_in(client, workflow):
    for name in ("workflow_plan", "workflow_phase_edit", "workflow_source_new"):
        response = (
            client.get(url(name, workflow.slug))
            if name == "workflow_plan"
            else (client.post(url(name, workflow.slug), {}))
        )
        assert response.status_code == 302
        assert response["Location"] == login_redirect(url(name, workflow.slug))


def test_no_role_gets_404(client, other_user, planned):
    client.force_login(other_user)
    entries = ActivityEntry.objects.count()
    assert client.get(url("workflow_plan", planned.slug)).status_code == 404
    response = client.post(
        url("workflow_phase_edit", planned.slug), phase_data("shadow", min_duration_days="1")
    )
    assert response.status_code == 404
    assert ActivityEntry.objects.count() == entries


def test_executive_reads_but_cannot_change(client, executive, planned):
    client.force_login(executive)
    response = client.get(url("workflow_plan", planned.slug))
    assert response.status_code == 200
    assert b"Edit shadow mode" not in response.content
    assert b"Add a data source" not in response.content
    entries = ActivityEntry.objects.count()
    for name, data in (
        ("workflow_phase_edit", phase_data("shadow", min_duration_days="1")),
        ("workflow_source_new", source_data()),
        ("workflow_plan_settings", {"lead_time_days": "9"}),
    ):
        assert client.post(url(name, planned.slug), data).status_code == 404
    assert ActivityEntry.objects.count() == entries
    assert DataSource.objects.count() == 0


def test_page_shows_phases_timeline_sources_and_readiness(
    client, workflow_owner, planned, django_assert_max_num_queries
):
    for n in range(5):
        data_source_create(
            workflow=planned, actor=workflow_owner, name=f"Source {n}", kind="static_export"
        )
    for question in ("logging", "named_owner", "thresholds"):
        for answer in ("no", "partly"):
            readiness_answer(
                workflow=planned,
                actor=workflow_owner,
                question=question,
                answer=answer,
                evidence="Shown in the runbook",
            )
    client.force_login(workflow_owner)
    # A fixed number, whatever the rows: the page's reads, and what readiness observes.
    with django_assert_max_num_queries(24):
        response = client.get(url("workflow_plan", planned.slug))
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_plan.html"
    content = response.content.decode()
    assert "<svg" in content and "Roll-out timeline" in content
    assert 'aria-current="page">Plan<' in content
    assert content.count("Not mapped to a live source") == 5
    assert "Earlier answers (1)" in content
    assert "Edit shadow mode" in content
    # Declared beside observed: the owner's "partly" on logging, and what Rollout sees.
    assert content.count("Declared") >= 9 and content.count("Observed") >= 6
    assert "No usage event has been received yet." in content
    assert "No live connection: Source 0 (static export), Source 1 (static export)" in content


def test_a_contradicted_yes_is_flagged(client, executive, planned, workflow_owner):
    readiness_answer(
        workflow=planned,
        actor=workflow_owner,
        question="logging",
        answer="yes",
        evidence="Everything is logged",
    )
    client.force_login(executive)
    content = client.get(url("workflow_plan", planned.slug)).content.decode()
    assert content.count('class="readiness-contradiction"') == 1
    assert "Declared “yes”, but Rollout observes otherwise." in content


def test_query_count_does_not_grow(client, workflow_owner, planned, django_assert_max_num_queries):
    client.force_login(workflow_owner)
    for n in range(20):
        data_source_create(workflow=planned, actor=workflow_owner, name=f"S{n}", kind="live")
        readiness_answer(
            workflow=planned, actor=workflow_owner, question="logging", answer="no", evidence=""
        )
    with django_assert_max_num_queries(24):
        assert client.get(url("workflow_plan", planned.slug)).status_code == 200


def test_create_default_plan_from_the_page(client, ops_leader, workflow):
    client.force_login(ops_leader)
    page = client.get(url("workflow_plan", workflow.slug)).content.decode()
    assert "Create the default plan from this date" in page
    response = client.post(url("workflow_plan_create", workflow.slug), {"start_date": "2027-01-04"})
    assert response.status_code == 302
    assert response["Location"] == url("workflow_plan", workflow.slug) + "#phases"
    assert messages_of(response) == [MSG_PLAN_CREATED.format(date="4 Jan 2027")]
    assert Phase.objects.filter(workflow=workflow).count() == 5


def test_owner_edits_a_phase(client, workflow_owner, planned):
    client.force_login(workflow_owner)
    response = client.post(
        url("workflow_phase_edit", planned.slug), phase_data("shadow", planned_end="2027-02-20")
    )
    assert response.status_code == 302
    assert messages_of(response) == [MSG_PHASE_SAVED.format(phase="Shadow mode")]
    assert Phase.objects.get(kind="shadow").planned_end == date(2027, 2, 20)


def test_overlapping_dates_are_shown_beside_the_field(client, workflow_owner, planned):
    client.force_login(workflow_owner)
    entries = ActivityEntry.objects.count()
    response = client.post(
        url("workflow_phase_edit", planned.slug), phase_data("shadow", planned_start="2027-01-20")
    )
    assert response.status_code == 200
    expected = MSG_OVERLAPS_PREVIOUS.format(
        phase="Shadow mode", start="20 Jan 2027", previous="Data audit", previous_end="31 Jan 2027"
    )
    assert response.context["bound"]["phase-shadow"].errors == {"planned_start": [expected]}
    assert Phase.objects.get(kind="shadow").planned_start == date(2027, 2, 1)
    assert ActivityEntry.objects.count() == entries


def test_end_before_start_is_refused(client, workflow_owner, planned):
    client.force_login(workflow_owner)
    response = client.post(
        url("workflow_phase_edit", planned.slug),
        phase_data("limited", planned_start="2027-03-10", planned_end="2027-03-05"),
    )
    assert response.status_code == 200
    expected = MSG_END_BEFORE_START.format(
        phase="Limited roll-out", start="10 Mar 2027", end="5 Mar 2027"
    )
    assert response.context["bound"]["phase-limited"].errors == {"planned_end": [expected]}
    assert Phase.objects.get(kind="limited").planned_start == date(2027, 3, 1)


def test_add_data_source(client, workflow_owner, workflow):
    client.force_login(workflow_owner)
    response = client.post(url("workflow_source_new", workflow.slug), source_data())
    assert response.status_code == 302
    assert messages_of(response) == [MSG_SOURCE_ADDED.format(name="Ticket export")]
    assert DataSource.objects.get().is_unmapped_export


def test_future_last_verified_is_refused(client, workflow_owner, workflow):
    client.force_login(workflow_owner)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    entries = ActivityEntry.objects.count()
    response = client.post(
        url("workflow_source_new", workflow.slug), source_data(last_verified_at=tomorrow)
    )
    assert response.status_code == 200
    expected = MSG_VERIFIED_IN_FUTURE.format(today=timezone.localdate().isoformat())
    assert response.context["bound"]["source-new"].errors == {"last_verified_at": [expected]}
    assert DataSource.objects.count() == 0
    assert ActivityEntry.objects.count() == entries


def test_readiness_answer_needs_evidence(client, workflow_owner, workflow):
    client.force_login(workflow_owner)
    data = {"question": "logging", "q-logging-answer": "yes", "q-logging-evidence": ""}
    response = client.post(url("workflow_readiness_answer", workflow.slug), data)
    assert response.status_code == 200
    assert response.context["bound"]["q-logging"].errors == {
        "evidence": [MSG_EVIDENCE_REQUIRED.format(answer="yes")]
    }
    assert ReadinessAnswer.objects.count() == 0

    data["q-logging-evidence"] = "Traces in Datadog"
    response = client.post(url("workflow_readiness_answer", workflow.slug), data)
    assert response.status_code == 302
    assert messages_of(response) == [MSG_ANSWERED.format(question="Is logging in place?")]
    assert ReadinessAnswer.objects.get().evidence == "Traces in Datadog"


def test_owner_sees_required_approvals_read_only(client, workflow_owner, workflow):
    client.force_login(workflow_owner)
    response = client.get(url("workflow_plan", workflow.slug))
    assert response.context["settings_form"].fields["required_approvals"].disabled
    data = {
        "lead_time_days": "7",
        "required_approvals": "3",  # ignored: disabled for owners
        "review_cadence_days": "90",
        "next_review_due": "",
        "fallback_mode": "off",
        **BRIEFING_DEFAULTS,
    }
    response = client.post(url("workflow_plan_settings", workflow.slug), data)
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert (workflow.lead_time_days, workflow.required_approvals) == (7, 1)
    assert workflow.fallback_mode == "off"


BRIEFING_DEFAULTS = {
    "briefing_required_from": "limited",
    "briefing_grace_days": "7",
    "briefing_coverage_target": "90",
}


def test_owner_sets_when_the_briefing_is_required(client, workflow_owner, workflow):
    client.force_login(workflow_owner)
    data = {
        "lead_time_days": "5",
        "required_approvals": "1",
        "review_cadence_days": "",
        "next_review_due": "",
        "fallback_mode": "shadow",
        "briefing_required_from": "broad",
        "briefing_grace_days": "14",
        "briefing_coverage_target": "80",
    }
    response = client.post(url("workflow_plan_settings", workflow.slug), data)
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert (
        workflow.briefing_required_from,
        workflow.briefing_grace_days,
        workflow.briefing_coverage_target,
    ) == ("broad", 14, 80)
    entry = ActivityEntry.objects.filter(target="plan settings").latest("pk")
    assert entry.changes["briefing grace period (days)"] == ["7", "14"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("briefing_required_from", "sometimes"),
        ("briefing_grace_days", "61"),
        ("briefing_grace_days", "-1"),
        ("briefing_coverage_target", "0"),
        ("briefing_coverage_target", "101"),
        ("briefing_coverage_target", ""),
    ],
)
def test_bad_briefing_settings_change_nothing(client, workflow_owner, workflow, field, value):
    client.force_login(workflow_owner)
    data = {
        "lead_time_days": "9",
        "required_approvals": "1",
        "review_cadence_days": "",
        "next_review_due": "",
        "fallback_mode": "shadow",
        **BRIEFING_DEFAULTS,
        field: value,
    }
    entries = ActivityEntry.objects.count()
    response = client.post(url("workflow_plan_settings", workflow.slug), data)
    assert response.status_code == 200
    assert response.context["settings_form"].errors[field]
    workflow.refresh_from_db()
    assert (workflow.lead_time_days, workflow.briefing_grace_days) == (5, 7)
    assert ActivityEntry.objects.count() == entries


def test_post_without_csrf_is_refused(workflow_owner, planned):
    client = Client(enforce_csrf_checks=True)
    client.force_login(workflow_owner)
    entries = ActivityEntry.objects.count()
    response = client.post(
        url("workflow_phase_edit", planned.slug), phase_data("shadow", min_duration_days="2")
    )
    assert response.status_code == 403
    assert Phase.objects.get(kind="shadow").min_duration_days == 14
    assert ActivityEntry.objects.count() == entries


def test_new_workflow_with_a_plan_start_date_gets_the_default_plan(client, ops_leader, other_user):
    client.force_login(ops_leader)
    data = {
        "name": "Invoice coding",
        "slug": "invoice-coding",
        "business_action": "Invoice coded in the ledger",
        "owner": other_user.pk,
        "plan_start_date": "2027-01-04",
    }
    response = client.post(reverse("workflow_new"), data)
    assert response.status_code == 302
    phases = Phase.objects.filter(workflow__slug="invoice-coding").order_by("position")
    assert [p.planned_start for p in phases][:2] == [START, date(2027, 2, 1)]

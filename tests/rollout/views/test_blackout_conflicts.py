"""Rule 10 on the plan: a planned phase start or end inside a blackout window is shown as a
conflict on the plan page and on the calendar, in a fixed number of queries."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from django.utils.formats import date_format

from rollout.models import BlackoutWindow, Phase, PhaseStatus
from rollout.selectors.blackouts import phase_blackout_conflicts
from rollout.selectors.calendar import calendar_events
from rollout.services.phases import plan_create_default
from tests.factories import make_workflow
from tests.rollout.views.conftest import as_user

pytestmark = pytest.mark.django_db

START = date(2027, 1, 4)  # the default plan: shadow starts 1 Feb, limited 1 Mar 2027


@pytest.fixture
def planned(workflow, ops_leader):
    plan_create_default(workflow=workflow, start_date=START, actor=ops_leader)
    return workflow


def window(ops_leader, *, start, end, workflow=None, name="Quarter close"):
    return BlackoutWindow.objects.create(
        workflow=workflow, name=name, starts_at=start, ends_at=end, created_by=ops_leader
    )


def test_a_planned_start_in_a_window_is_a_conflict(planned, ops_leader):
    shadow = Phase.objects.get(workflow=planned, kind="shadow")
    window(
        ops_leader,
        start=datetime.combine(shadow.planned_start, datetime.min.time(), UTC),
        end=datetime.combine(shadow.planned_start, datetime.max.time(), UTC),
    )
    phases = list(Phase.objects.filter(workflow=planned).order_by("position"))
    conflicts = phase_blackout_conflicts(planned, phases)
    assert list(conflicts) == [shadow.pk]
    (message, *_) = conflicts[shadow.pk]
    assert message.startswith(
        f"Its planned start ({date_format(shadow.planned_start, 'j M Y')}) falls in the "
        "“Quarter close” blackout window, which ends "
    )


def test_completed_phases_and_other_workflows_windows_are_no_conflict(planned, ops_leader):
    audit = Phase.objects.get(workflow=planned, kind="audit")
    Phase.objects.filter(pk=audit.pk).update(status=PhaseStatus.COMPLETED)
    other = make_workflow(slug="other", actor=ops_leader)
    window(
        ops_leader,
        workflow=other,
        start=datetime(2027, 1, 1, tzinfo=UTC),
        end=datetime(2027, 12, 31, tzinfo=UTC),
    )
    phases = list(Phase.objects.filter(workflow=planned).order_by("position"))
    assert phase_blackout_conflicts(planned, phases) == {}


def test_the_plan_page_shows_the_conflict(
    planned, workflow_owner, ops_leader, django_assert_max_num_queries
):
    limited = Phase.objects.get(workflow=planned, kind="limited")
    window(
        ops_leader,
        start=datetime.combine(limited.planned_start, datetime.min.time(), UTC),
        end=datetime.combine(limited.planned_start, datetime.max.time(), UTC),
    )
    client = as_user(workflow_owner)
    # The plan page reads a fixed number of queries (readiness observations included).
    with django_assert_max_num_queries(23):
        response = client.get(reverse("workflow_plan", kwargs={"slug": planned.slug}))
    html = response.content.decode()
    assert 'id="blackout-conflicts"' in html
    assert "planned date" in html and "in a blackout window." in html
    assert "Blackout conflict" in html
    assert f"Its planned start ({date_format(limited.planned_start, 'j M Y')}) falls in the" in html


def test_no_conflict_no_callout(planned, workflow_owner):
    response = as_user(workflow_owner).get(reverse("workflow_plan", kwargs={"slug": planned.slug}))
    assert 'id="blackout-conflicts"' not in response.content.decode()


def test_the_calendar_marks_the_conflicting_phase_date(planned, workflow_owner, ops_leader):
    limited = Phase.objects.get(workflow=planned, kind="limited")
    window(
        ops_leader,
        start=datetime.combine(limited.planned_start, datetime.min.time(), UTC),
        end=datetime.combine(limited.planned_start, datetime.max.time(), UTC),
    )
    month = f"{limited.planned_start:%Y-%m}"
    response = as_user(workflow_owner).get("/calendar/", {"month": month})
    html = response.content.decode()
    assert "Blackout conflict" in html
    first = limited.planned_start.replace(day=1)
    found = calendar_events(workflow_owner, start=first, end=date(first.year, first.month + 1, 1))
    events = [e for e in found if e.kind == "phase" and e.conflict]
    assert [e.uid for e in events] == [f"phase-{limited.pk}-start"]
    assert events[0].conflict in html

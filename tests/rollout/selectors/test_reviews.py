"""Review overdue: at risk in health (steady only), flagged on the portfolio, home and overview."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rollout.models import Workflow
from rollout.selectors.health import MSG_REVIEW_OVERDUE, HealthStatus, workflow_health
from rollout.selectors.portfolio import portfolio_summary
from rollout.selectors.workflows import workflow_list_portfolio
from tests.factories import make_workflow
from tests.rollout.promotion_fixtures import make_plan

YESTERDAY = timezone.localdate() - timedelta(days=1)


def due(workflow: Workflow, day) -> Workflow:
    Workflow.objects.filter(pk=workflow.pk).update(next_review_due=day)
    workflow.refresh_from_db()
    return workflow


@pytest.mark.parametrize(("phase", "at_risk"), [("steady", True), ("broad", False)])
def test_a_steady_workflow_with_an_overdue_review_is_at_risk(workflow, phase, at_risk):
    make_plan(workflow, current=phase)
    due(workflow, YESTERDAY)
    health = workflow_health([workflow.pk])[workflow.pk]
    reason = MSG_REVIEW_OVERDUE.format(due=YESTERDAY.strftime("%-d %b %Y"))
    assert (health.status == HealthStatus.AT_RISK) is at_risk
    assert (reason in health.reasons) is at_risk
    due(workflow, timezone.localdate())  # due today: not overdue yet
    assert workflow_health([workflow.pk])[workflow.pk].status != HealthStatus.AT_RISK


def test_the_portfolio_filters_and_flags_overdue_reviews(
    client: Client, workflow, ops_leader, executive
):
    make_plan(workflow, current="steady")
    due(workflow, YESTERDAY)
    on_time = due(make_workflow(actor=ops_leader, name="On time"), timezone.localdate())
    assert list(workflow_list_portfolio(ops_leader, review_overdue=True)) == [workflow]
    assert on_time in workflow_list_portfolio(ops_leader)
    client.force_login(executive)
    page = client.get(reverse("workflow_portfolio"), {"review_overdue": "on"}).content.decode()
    assert "Support reply drafting" in page and "On time" not in page
    assert "review-overdue-flag" in page and "Next review" in page
    summary = portfolio_summary(executive, today=timezone.localdate())
    assert [r.slug for r in summary.overdue_reviews] == [workflow.slug]
    home = client.get(reverse("home")).content.decode()
    assert "Reviews overdue" in home
    overview = client.get(reverse("workflow_overview", args=[workflow.slug])).content.decode()
    assert "Review overdue" in overview


def test_the_owners_home_flags_it(client: Client, workflow, workflow_owner):
    due(workflow, YESTERDAY)
    client.force_login(workflow_owner)
    assert "Review overdue" in client.get(reverse("home")).content.decode()

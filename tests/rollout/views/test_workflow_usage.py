import csv
import io
import re
from datetime import datetime, time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from rollout.forms.usage import MSG_BAD_COHORT, MSG_BAD_DAYS
from rollout.models import Cohort, CohortDrift, DriftStatus, Feedback, OutcomeMetric, Workflow
from rollout.views.usage import CSV_HEADER
from tests.factories import make_workflow
from tests.rollout.outcome_fixtures import person_days
from tests.rollout.output_review_fixtures import make_review
from tests.rollout.views.conftest import as_user, login_redirect, template_names
from tests.rollout.views.usage_page_data import (
    add_threshold,
    day_events,
    days_ago,
    make_cohort,
    member_ref,
    record_usage,
)

PAGE = "rollout/workflow_usage.html"
HTMX = {"HX-Request": "true"}
MSG_NO_USAGE = "No usage reported yet — the integration reports events with"


def url(slug: str, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("workflow_usage", kwargs={"slug": slug}) + (f"?{query}" if query else "")


def csv_url(slug: str, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("workflow_usage_csv", kwargs={"slug": slug}) + (f"?{query}" if query else "")


def given_feedback(
    workflow: Workflow,
    cohort: Cohort | None,
    rating: str,
    *,
    category: str = "wrong_output",
    text: str = "",
    days: int = 1,
    minute: int = 0,
) -> Feedback:
    """Feedback given `days` ago at noon (local time), plus `minute` minutes."""
    feedback = Feedback.objects.create(
        workflow=workflow, cohort=cohort, rating=rating, category=category, text=text
    )
    at = timezone.make_aware(datetime.combine(days_ago(days), time(12, minute)))
    Feedback.objects.filter(pk=feedback.pk).update(created_at=at)
    return feedback


@pytest.fixture
def cohorts(workflow, ops_leader):
    """Two cohorts: EU agents (4 members), US agents (2 members)."""
    return (
        make_cohort(workflow, ops_leader, "EU agents", 4),
        make_cohort(workflow, ops_leader, "US agents", 2),
    )


@pytest.fixture
def usage(workflow, ops_leader, cohorts):
    """Three days of usage: two EU agents and one US agent, plus a person in no cohort."""
    add_threshold(workflow, ops_leader, metric="override_rate", limit=0.10, marginal_limit=0.15)
    add_threshold(workflow, ops_leader, metric="p95_latency_ms", limit=2000)
    eu, us = cohorts
    events = []
    for n in (1, 2, 3):
        events += day_events(
            member_ref(eu, 0), days_ago(n), invocations=5, accepted=4, overridden=1
        )
        events += day_events(member_ref(eu, 1), days_ago(n), invocations=5, accepted=5)
        events += day_events(
            member_ref(us, 0), days_ago(n), invocations=4, accepted=3, edited=1, errors=1
        )
    events += day_events("outsider@example.com", days_ago(1), invocations=2)
    record_usage(workflow, events)
    return cohorts


# --- Access ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, workflow):
    for target in (url(workflow.slug), csv_url(workflow.slug)):
        response = client.get(target)
        assert response.status_code == 302
        assert response["Location"] == login_redirect(target)


def test_user_without_a_role_gets_404(client, other_user, workflow):
    client.force_login(other_user)

    assert client.get(url(workflow.slug)).status_code == 404
    assert client.get(csv_url(workflow.slug)).status_code == 404


def test_unknown_workflow_is_404(client, ops_leader):
    client.force_login(ops_leader)

    assert client.get(url("no-such-flow")).status_code == 404
    assert client.get(csv_url("no-such-flow")).status_code == 404


def test_a_cohort_member_gets_404(client, workflow, cohorts):
    member = cohorts[0].members.first()
    client.force_login(member)

    assert client.get(reverse("workflow_overview", args=[workflow.slug])).status_code == 200
    assert client.get(url(workflow.slug)).status_code == 404
    assert client.get(csv_url(workflow.slug)).status_code == 404


def test_post_is_not_allowed(client, ops_leader, workflow):
    client.force_login(ops_leader)

    assert client.post(url(workflow.slug)).status_code == 405


@pytest.mark.parametrize("role", ["ops_leader", "executive", "workflow_owner"])
def test_everyone_who_may_view_the_workflow_sees_the_page(request, client, workflow, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get(url(workflow.slug))

    assert response.status_code == 200
    assert template_names(response)[0] == PAGE
    html = response.content.decode()
    assert (
        '<a href="/workflows/support-reply-drafting/usage/" aria-current="page">Usage</a>' in html
    )


def test_the_usage_tab_is_in_every_workflow_page_header(client, executive, workflow):
    client.force_login(executive)

    html = client.get(reverse("workflow_thresholds", args=[workflow.slug])).content.decode()

    assert '<a href="/workflows/support-reply-drafting/usage/">Usage</a>' in html


# --- Charts and table -----------------------------------------------------------------------


def test_charts_show_each_cohort_and_the_threshold_lines(client, executive, workflow, usage):
    client.force_login(executive)

    response = client.get(url(workflow.slug))

    html = response.content.decode()
    assert [c.key for c in response.context["charts"]] == [
        "adoption",
        "acceptance_rate",
        "override_rate",
        "error_rate",
        "latency",
    ]
    for title in (
        "Active on a typical day by cohort, 7-day average",
        "Override rate by cohort",
        "Latency, p50 and p95",
    ):
        assert f">{title}</title>" in html
    plots = {c.key: c.line.plot for c in response.context["charts"]}
    # One line per cohort (adoption has no line for people in no cohort: they have no members).
    assert [s.name for s in plots["adoption"].series] == ["EU agents", "US agents"]
    assert [s.name for s in plots["error_rate"].series] == [
        "EU agents",
        "US agents",
        "Not in a cohort",
    ]
    assert "<title>EU agents</title>" in html and "<title>Not in a cohort</title>" in html
    # Override: passing ends at 10% (amber: beyond it is marginal), failing starts past 15%.
    assert [(t.kind, t.label) for t in plots["override_rate"].thresholds] == [
        ("fail", "fails > 15%"),
        ("marginal", "limit 10%"),
    ]
    assert [(t.kind, t.label) for t in plots["latency"].thresholds] == [("fail", "limit ≤ 2000 ms")]
    assert plots["acceptance_rate"].thresholds == ()
    # The page draws them, escaped.
    assert 'class="chart-threshold chart-threshold-marginal"' in html
    assert ">limit 10%</text>" in html
    assert ">fails &gt; 15%</text>" in html
    assert ">limit ≤ 2000 ms</text>" in html
    assert "The threshold is judged over 7 days, not a single day." in html
    # No shadow events: no shadow chart.
    assert "Shadow agreement" not in html


def test_the_table_sums_the_period_per_cohort(client, ops_leader, workflow, usage):
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    summary = response.context["summary"]
    assert summary.headers == [
        "Invocations",
        "Active members",
        "Acceptance",
        "Edit",
        "Override",
        "Error",
        "Fallback",
        "p50 / p95 latency",
        "Negative feedback",
    ]
    rows = {row.label: cells for row, cells in summary.rows}
    assert list(rows) == ["EU agents", "US agents", "Not in a cohort", "All cohorts"]
    # EU: 30 invocations; 27 accepted, 3 overridden of 30 acted on; 2 of 4 members active.
    assert rows["EU agents"][:7] == [
        "30",
        "50.0% (2 of 4)",
        "90.0%",
        "0.0%",
        "10.0%",
        "0.0%",
        "0.0%",
    ]
    assert rows["US agents"][:7] == [
        "12",
        "50.0% (1 of 2)",
        "75.0%",
        "25.0%",
        "0.0%",
        "25.0%",
        "0.0%",
    ]
    assert re.fullmatch(r"\d+ / \d+ ms", rows["EU agents"][7])
    # People in no cohort have no members to measure adoption against.
    assert rows["Not in a cohort"][:3] == ["2", "— (1 person)", "—"]
    assert rows["All cohorts"][:2] == ["44", "50.0% (3 of 6)"]
    html = response.content.decode()
    assert '<th scope="row">EU agents</th>' in html
    assert "Last 30 days by cohort" in html


def test_shadow_agreement_is_charted_when_there_are_shadow_events(
    client, ops_leader, workflow, cohorts
):
    record_usage(
        workflow,
        day_events(member_ref(cohorts[0], 0), days_ago(2), agreed=9, disagreed=1, invocations=10),
    )
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    assert response.context["charts"][-1].key == "shadow_agreement_rate"
    assert "Shadow agreement by cohort" in response.content.decode()
    rows = {row.label: cells for row, cells in response.context["summary"].rows}
    assert rows["EU agents"][7] == "90.0%"


def test_drift_and_threshold_statuses_per_cohort(client, ops_leader, workflow, usage):
    eu, us = usage
    now = timezone.now()
    explanation = (
        "Override rate rose from 4.0% (400 cases, 1–7 Nov) to 14.2% (530 cases, 24–30 Nov); "
        "significant (p < 0.001)."
    )
    CohortDrift.objects.create(
        workflow=workflow,
        cohort=eu,
        scope_key=str(eu.pk),
        metric="override_rate",
        status=DriftStatus.DEGRADING,
        explanation=explanation,
        p_value=8.8e-07,
        computed_at=now,
    )
    CohortDrift.objects.create(
        workflow=workflow,
        cohort=us,
        scope_key=str(us.pk),
        metric="override_rate",
        status=DriftStatus.INSUFFICIENT_DATA,
        explanation="Override rate: 3 baseline and 12 recent cases; 30 of each are needed.",
        computed_at=now,
    )
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    statuses = {s.label: s for s in response.context["statuses"]}
    assert list(statuses) == ["Whole workflow", "EU agents", "US agents"]
    assert statuses["EU agents"].drift_label == "Degrading"
    assert statuses["US agents"].drift_label == "Not enough data"
    html = response.content.decode()
    assert '<span class="badge badge-warn">↗ Degrading</span>' in html
    # The exact p-value is in the tooltip, never in the sentence.
    assert (
        '<p class="drift-explanation" title="Exact p-value: 0.00000088">'
        f"{escape(explanation)}</p>" in html
    )
    # The workflow-wide thresholds, as the evaluation after ingestion left them.
    verdicts = [(v.threshold.metric, v.verdict) for v in statuses["Whole workflow"].thresholds]
    assert verdicts == [("override_rate", "pass"), ("p95_latency_ms", "pass")]
    assert "7.143% over 42 cases: at most 10%." in html


def test_a_cohort_never_checked_for_drift_says_so(client, ops_leader, workflow, usage):
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    statuses = {s.label: s for s in response.context["statuses"]}
    assert statuses["EU agents"].drift_label == "Not checked yet"
    assert "No per-cohort threshold verdicts yet." in response.content.decode()


# --- Period and cohort --------------------------------------------------------------------


def test_the_period_is_chosen_with_days(client, ops_leader, workflow, usage):
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug, days=7))

    assert response.context["days"] == 7
    assert response.context["charts"][0].line.plot is not None
    assert response.context["notes"] == []
    html = response.content.decode()
    assert '<option value="7" selected>Last 7 days</option>' in html
    assert "Last 7 days by cohort" in html
    assert 'href="/workflows/support-reply-drafting/usage.csv?days=7"' in html


@pytest.mark.parametrize("days", ["abc", "365", "0", "-7", "7.5", "", "30%00"])
def test_an_unknown_period_falls_back_to_30_days_and_says_so(
    client, ops_leader, workflow, usage, days
):
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug, days=days))

    assert response.status_code == 200
    assert response.context["days"] == 30
    if days:
        assert response.context["notes"] == [MSG_BAD_DAYS]
        assert f'<p class="callout callout-warn" role="status">{MSG_BAD_DAYS}</p>' in (
            response.content.decode()
        )


def test_one_cohort_can_be_shown_alone(client, ops_leader, workflow, usage):
    eu, _us = usage
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug, cohort=eu.pk, days=90))

    assert response.context["cohort"] == eu
    rows = [row.label for row, _cells in response.context["summary"].rows]
    assert rows == ["EU agents"]
    assert [s.label for s in response.context["statuses"]] == ["Whole workflow", "EU agents"]
    html = response.content.decode()
    assert f'<option value="{eu.pk}" selected>EU agents</option>' in html
    assert f'href="/workflows/support-reply-drafting/usage.csv?days=90&amp;cohort={eu.pk}"' in html


def test_another_workflows_cohort_or_nonsense_shows_every_cohort_and_says_so(
    client, ops_leader, workflow, usage
):
    other = make_workflow(actor=ops_leader, slug="other-flow")
    foreign = make_cohort(other, ops_leader, "Foreign", 1)
    client.force_login(ops_leader)

    for value in (foreign.pk, 999999, "eu", "1;drop"):
        response = client.get(url(workflow.slug, cohort=value))

        assert response.status_code == 200
        assert response.context["cohort"] is None
        assert response.context["notes"] == [MSG_BAD_COHORT]
        assert "Foreign" not in response.content.decode()


def test_htmx_gets_the_body_partial_only(client, ops_leader, workflow, usage):
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug, days=7), headers=HTMX)

    assert template_names(response)[0] == "usage-body"
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="usage-body"')
    assert "<h1>" not in html
    assert "HX-Request" in response["Vary"]


def test_the_filter_form_works_with_and_without_javascript(client, ops_leader, workflow):
    client.force_login(ops_leader)

    html = client.get(url(workflow.slug)).content.decode()

    assert re.search(
        r'<form id="usage-filters" class="filters" method="get" action="/workflows/'
        r'support-reply-drafting/usage/"[^>]*\s+hx-get="/workflows/support-reply-drafting/usage/"',
        html,
    )
    assert '<label for="id_days">Period</label>' in html
    assert '<label for="id_cohort">Cohort</label>' in html


# --- Empty states ---------------------------------------------------------------------------


def test_no_usage_yet_explains_how_to_report_it_and_links_tokens_for_the_owner(
    client, workflow_owner, workflow, cohorts
):
    client.force_login(workflow_owner)

    response = client.get(url(workflow.slug))

    html = response.content.decode()
    assert response.context["has_data"] is False
    assert f"{MSG_NO_USAGE} <code>POST /api/v1/events</code>." in html
    assert '<a href="/workflows/support-reply-drafting/tokens/">Create an API token</a>' in html
    assert "<svg" not in html


def test_no_usage_yet_without_the_token_link_for_read_only_viewers(client, executive, workflow):
    client.force_login(executive)

    html = client.get(url(workflow.slug)).content.decode()

    assert MSG_NO_USAGE in html
    assert "/tokens/" not in html


def test_usage_only_long_ago_offers_a_longer_period(client, ops_leader, workflow, cohorts):
    record_usage(workflow, day_events(member_ref(cohorts[0], 0), days_ago(100), invocations=3))
    client.force_login(ops_leader)

    html = client.get(url(workflow.slug)).content.decode()

    assert "No usage in the last 30 days." in html
    assert '<a href="/workflows/support-reply-drafting/usage/?days=180">' in html
    assert MSG_NO_USAGE not in html
    assert client.get(url(workflow.slug, days=180)).context["has_data"] is True


# --- CSV ------------------------------------------------------------------------------------


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_has_a_row_per_day_and_cohort_with_every_counter_and_rate(
    client, executive, workflow, usage
):
    eu, us = usage
    client.force_login(executive)

    response = client.get(csv_url(workflow.slug, days=7))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    start, end = days_ago(6), days_ago(0)
    assert response["Content-Disposition"] == (
        f'attachment; filename="support-reply-drafting-usage-{start}-to-{end}.csv"'
    )
    rows = read_csv(response)
    assert list(rows[0]) == list(CSV_HEADER)
    assert len(rows) == 7 * 3  # days × (two cohorts + people in no cohort)
    assert [(r["date"], r["cohort"]) for r in rows[:3]] == [
        (str(start), "EU agents"),
        (str(start), "US agents"),
        (str(start), "Not in a cohort"),
    ]
    eu_day = next(r for r in rows if r["date"] == str(days_ago(1)) and r["cohort"] == "EU agents")
    assert eu_day["cohort_id"] == str(eu.pk)
    assert {k: eu_day[k] for k in ("invocations", "accepted", "overridden", "active_users")} == {
        "invocations": "10",
        "accepted": "9",
        "overridden": "1",
        "active_users": "2",
    }
    assert eu_day["members"] == "4"
    assert eu_day["acceptance_rate"] == "0.9"
    assert eu_day["override_rate"] == "0.1"
    assert eu_day["adoption_rate"] == "0.5"
    assert eu_day["error_rate"] == "0"
    # Nothing to divide by: empty, not zero.
    assert eu_day["shadow_agreement_rate"] == ""
    assert eu_day["p95_latency_ms"] != ""
    quiet_day = next(r for r in rows if r["date"] == str(start) and r["cohort"] == "EU agents")
    assert quiet_day["invocations"] == "0"
    assert quiet_day["acceptance_rate"] == ""
    assert quiet_day["p50_latency_ms"] == ""
    no_cohort = next(r for r in rows if r["cohort"] == "Not in a cohort")
    assert no_cohort["cohort_id"] == ""
    assert no_cohort["adoption_rate"] == ""


def test_csv_for_one_cohort(client, ops_leader, workflow, usage):
    eu, _us = usage
    client.force_login(ops_leader)

    response = client.get(csv_url(workflow.slug, cohort=eu.pk))

    rows = read_csv(response)
    assert len(rows) == 30
    assert {r["cohort"] for r in rows} == {"EU agents"}
    assert response["Content-Disposition"].endswith(f'-cohort-{eu.pk}.csv"')


def test_csv_with_an_unknown_cohort_is_404_and_a_bad_period_falls_back(
    client, ops_leader, workflow, usage
):
    other = make_workflow(actor=ops_leader, slug="other-flow")
    foreign = make_cohort(other, ops_leader, "Foreign", 1)
    client.force_login(ops_leader)

    assert client.get(csv_url(workflow.slug, cohort=foreign.pk)).status_code == 404
    assert client.get(csv_url(workflow.slug, cohort="x")).status_code == 404
    response = client.get(csv_url(workflow.slug, days="9999"))
    assert response.status_code == 200
    assert len(read_csv(response)) == 30 * 3


def test_csv_keeps_spreadsheets_from_running_a_cohort_name(client, ops_leader, workflow):
    make_cohort(workflow, ops_leader, "=HYPERLINK(1)", 1)
    client.force_login(ops_leader)

    rows = read_csv(client.get(csv_url(workflow.slug, days=7)))

    assert {r["cohort"] for r in rows} == {"'=HYPERLINK(1)"}


# --- What people say: feedback beside the numbers ------------------------------------------------


@pytest.fixture
def feedback(workflow, usage):
    """EU: two "not helpful" of three; US: one helpful; one "not helpful" from a person in no
    cohort; and EU feedback from before the period, which counts nowhere."""
    eu, us = usage
    given_feedback(workflow, eu, "not_helpful", text="Promised a refund we don't give.", days=3)
    given_feedback(workflow, eu, "not_helpful", category="slow", text="Took a minute.", days=2)
    given_feedback(workflow, eu, "helpful", category="praise", days=1)
    given_feedback(workflow, us, "helpful", category="praise", text="Spot on.", days=1)
    given_feedback(workflow, None, "not_helpful", text="<script>alert(1)</script>", days=1)
    given_feedback(workflow, eu, "not_helpful", text="Long ago.", days=40)
    return usage


def test_the_table_shows_each_cohorts_negative_feedback_share(
    client, ops_leader, workflow, feedback
):
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    summary = response.context["summary"]
    assert summary.headers[-1] == "Negative feedback"
    negative = {row.label: cells[-1] for row, cells in summary.rows}
    assert negative == {
        "EU agents": "66.7% (2 of 3)",
        "US agents": "0.0% (0 of 1)",
        "Not in a cohort": "100.0% (1 of 1)",
        "All cohorts": "60.0% (3 of 5)",
    }
    assert "<td>66.7% (2 of 3)</td>" in response.content.decode()


def test_no_feedback_is_a_dash_in_the_table_and_said_below_it(client, ops_leader, workflow, usage):
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug, days=7))

    assert {cells[-1] for _row, cells in response.context["summary"].rows} == {"—"}
    assert response.context["voices"] == []
    assert "No feedback in the last 7 days." in response.content.decode()


def test_what_people_say_per_cohort_with_categories_and_latest_texts(
    client, ops_leader, workflow, feedback
):
    eu, _us = feedback
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    voices = {v.label: v for v in response.context["voices"]}
    assert list(voices) == ["EU agents", "US agents", "Not in a cohort"]
    eu_voice = voices["EU agents"]
    assert eu_voice.negative_text == "66.7% (2 of 3)"
    assert eu_voice.feedback.top_categories == [("Praise", 1), ("Slow", 1), ("Wrong output", 1)]
    # Newest first; feedback without text is not quoted.
    assert eu_voice.feedback.recent == ["Took a minute.", "Promised a refund we don't give."]
    html = response.content.decode()
    assert "What people say" in html
    assert "66.7% (2 of 3) not helpful" in html
    assert "<q>Took a minute.</q>" in html
    assert "Promised a refund we don&#x27;t give." in html
    assert "Long ago." not in html
    # Texts are people's words: escaped, never markup.
    assert "<script>alert(1)</script>" not in html
    assert "<q>&lt;script&gt;alert(1)&lt;/script&gt;</q>" in html
    # The owner and ops leaders can go and triage each cohort's feedback.
    feedback_page = reverse("workflow_feedback", kwargs={"slug": workflow.slug})
    assert (
        f'href="{feedback_page}?cohort={eu.pk}&amp;status=">All feedback from EU agents</a>' in html
    )
    assert (
        f'href="{feedback_page}?cohort=none&amp;status=">All feedback from people in no cohort</a>'
        in html
    )
    assert f'href="{feedback_page}">Triage feedback</a>' in html


def test_the_feedback_link_is_for_those_who_may_triage(client, executive, workflow, feedback):
    client.force_login(executive)

    html = client.get(url(workflow.slug)).content.decode()

    assert "<q>Took a minute.</q>" in html
    # The Feedback tab stays (executives read the list); the triage links are not offered.
    assert "Triage feedback" not in html
    assert "feedback/?cohort=" not in html


def test_one_cohort_shown_alone_says_only_what_its_people_say(
    client, ops_leader, workflow, feedback
):
    _eu, us = feedback
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug, cohort=us.pk), headers=HTMX)

    assert [v.label for v in response.context["voices"]] == ["US agents"]
    html = response.content.decode()
    assert "<q>Spot on.</q>" in html
    assert "Took a minute." not in html


def test_feedback_shows_even_before_any_usage_is_reported(client, ops_leader, workflow, cohorts):
    eu, _us = cohorts
    given_feedback(workflow, eu, "not_helpful", text="It made things up.")
    given_feedback(workflow, None, "helpful", category="praise", text="Handy.")
    client.force_login(ops_leader)

    response = client.get(url(workflow.slug))

    assert response.context["has_data"] is False
    assert [v.label for v in response.context["voices"]] == ["EU agents", "Not in a cohort"]
    html = response.content.decode()
    assert MSG_NO_USAGE in html
    assert "<q>It made things up.</q>" in html
    assert "<q>Handy.</q>" in html


def test_csv_has_each_days_feedback_and_its_negative_share(client, ops_leader, workflow, feedback):
    eu, _us = feedback
    given_feedback(workflow, eu, "helpful", category="praise", days=2, minute=5)
    client.force_login(ops_leader)

    rows = read_csv(client.get(csv_url(workflow.slug, days=7)))

    assert list(CSV_HEADER)[-3:] == ["feedback", "not_helpful_feedback", "negative_feedback_share"]
    by_key = {(r["date"], r["cohort"]): r for r in rows}
    eu_day = by_key[(str(days_ago(2)), "EU agents")]
    assert (eu_day["feedback"], eu_day["not_helpful_feedback"]) == ("2", "1")
    assert eu_day["negative_feedback_share"] == "0.5"
    outsider_day = by_key[(str(days_ago(1)), "Not in a cohort")]
    assert (outsider_day["feedback"], outsider_day["negative_feedback_share"]) == ("1", "1")
    quiet_day = by_key[(str(days_ago(4)), "EU agents")]
    assert (quiet_day["feedback"], quiet_day["negative_feedback_share"]) == ("0", "")


# --- Query counts ---------------------------------------------------------------------------


def test_queries_are_bounded_whatever_the_data_size(
    django_assert_max_num_queries, ops_leader, workflow
):
    cohorts = [make_cohort(workflow, ops_leader, f"Cohort {n}", 3) for n in range(6)]
    for metric in ("override_rate", "error_rate", "acceptance_rate", "p95_latency_ms"):
        comparator = "gte" if metric == "acceptance_rate" else "lte"
        limit = 2000 if metric == "p95_latency_ms" else 0.5
        add_threshold(workflow, ops_leader, metric=metric, comparator=comparator, limit=limit)
    add_threshold(workflow, ops_leader, metric="override_rate", limit=0.2, scope="per_cohort")
    events = []
    for n, cohort in enumerate(cohorts):
        ref = member_ref(cohort, 0)
        for day in range(180):
            events += day_events(
                ref, days_ago(day), invocations=2, accepted=1, overridden=1, agreed=1
            )
        CohortDrift.objects.create(
            workflow=workflow,
            cohort=cohort,
            scope_key=str(cohort.pk),
            metric="override_rate",
            status=DriftStatus.STABLE,
            explanation="Stable.",
            computed_at=timezone.now(),
        )
    record_usage(workflow, events)
    for cohort in cohorts:
        for n in range(8):
            rating = "not_helpful" if n % 2 else "helpful"
            category = ("wrong_output", "slow", "confusing", "praise")[n % 4]
            given_feedback(workflow, cohort, rating, category=category, text=f"Text {n}", days=n)
    # Outcomes of two metrics, AI vs holdout, for every person of every cohort on every day.
    for name in ("handle_time_s", "csat"):
        OutcomeMetric.objects.create(workflow=workflow, name=name, label=name)
        for n, cohort in enumerate(cohorts):
            for arm in ("ai", "holdout"):
                for day in range(0, 180, 3):
                    person_days(
                        workflow, cohort, arm, [100.0 + i for i in range(12)],
                        metric=name, day=days_ago(day), prefix=f"{n}-",
                    )  # fmt: skip
    for cohort in cohorts:
        for grade in ("correct", "wrong", "harmful", ""):
            make_review(workflow, cohort, grade=grade)
    leader = as_user(ops_leader)

    # Session and user (2), groups (1), workflow (1), cohorts (1), members per cohort and in any
    # cohort (1), rollups (1), people active per cohort and in any cohort (1), thresholds (1),
    # verdicts (1), drift (1), feedback per cohort (2: counts per category, recent texts), data
    # sources (3: sources with their status, their days, their heartbeats; 1 when there is none),
    # cost (4: the currency, the prices, the cost rollups, the phases; 1 more with a phase after
    # the current one: tests/rollout/views/test_workflow_usage_cost.py), outcomes (2: the
    # metrics, their per-person sums), the reviewed error rate (1, per cohort: the workflow's is
    # their sum), and the key of what is kept rendered (2: below): 23 (24 for an owner, whose
    # object permissions are one more), whatever the number of days, cohorts, events, feedback,
    # sources and outcomes.
    # Plus the key the charts, the table and the cost section are kept rendered under (2: the
    # rollups' mark, the prices; rollout/views/_usage_sections.py). Asked again with nothing
    # changed, they and the members are not read again: 5 fewer (members, people active, cost
    # rollups, prices, phases).
    with django_assert_max_num_queries(23):
        response = leader.get(url(workflow.slug, days=180))
    with django_assert_max_num_queries(18):
        again = leader.get(url(workflow.slug, days=180))
    body = b'<div id="usage-body"'  # after the head, whose script nonce is new every time
    assert again.content.partition(body)[2] == response.content.partition(body)[2]
    assert len(response.context["summary"].rows) == 7
    assert [c.key for c in response.context["charts"]][-1] == "shadow_agreement_rate"
    assert len(response.context["voices"]) == 6
    sections = response.context["outcomes"]
    assert [len(section.rows) for section in sections] == [7, 7]
    assert sections[0].rows[-1].figures.ai_people == 72
    assert [r.graded for r in response.context["review"].rates] == [18, 3, 3, 3, 3, 3, 3]
    with django_assert_max_num_queries(23):
        response = leader.get(url(workflow.slug, days=7, cohort=cohorts[0].pk), headers=HTMX)
    assert response.status_code == 200
    # 7 before feedback, +1 for the feedback per cohort and day.
    with django_assert_max_num_queries(8):
        response = leader.get(csv_url(workflow.slug, days=180))
        rows = read_csv(response)
    assert len(rows) == 180 * 6
    owner = as_user(workflow.owner)
    with django_assert_max_num_queries(24):
        assert owner.get(url(workflow.slug, days=180)).status_code == 200


def test_the_same_queries_with_few_and_with_many_events_and_days(ops_leader, workflow, cohorts):
    """The page reads rollups and one row per person, never a row per event or per person and
    day: one event or 180 days of everyone's events cost the same queries."""
    eu, us = cohorts
    leader = as_user(ops_leader)
    paths = [
        url(workflow.slug, days=30),
        url(workflow.slug, days=180),
        url(workflow.slug, days=180, cohort=eu.pk),
    ]

    def queries(client: Client, path: str) -> int:
        # Every section computed (nothing kept rendered from an earlier request): the most a
        # request reads.
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200
        assert response.context["has_data"]
        return len(captured.captured_queries)

    record_usage(workflow, day_events(member_ref(eu, 0), days_ago(0), invocations=1))
    few = [queries(leader, path) for path in paths]
    refs = [member_ref(eu, n) for n in range(4)] + [member_ref(us, n) for n in range(2)]
    refs += [f"outsider{n}@example.com" for n in range(3)]
    record_usage(
        workflow,
        [
            event
            for day in range(181)
            for ref in refs
            for event in day_events(ref, days_ago(day), invocations=3, accepted=2, overridden=1)
        ],
    )
    assert [queries(leader, path) for path in paths] == few


def test_adoption_is_averaged_over_the_seven_days_up_to_each_date():
    from datetime import date, timedelta

    from rollout.selectors.usage import DailySeries, UsageCounts
    from rollout.views._usage_charts import smoothed_adoption

    active = [0, 0, 0, 0, 0, 0, 7, 0, 7, 14]  # of 14 members; the first six days only feed the mean
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(len(active))]
    counts = [UsageCounts(active_users=n, members=14) for n in active]

    averages = smoothed_adoption(DailySeries(cohort=None, days=days, counts=counts))

    assert averages == pytest.approx([0.5 / 7, 0.5 / 7, 1 / 7, 2 / 7])
    no_members = [UsageCounts() for _ in active]
    assert smoothed_adoption(DailySeries(None, days, no_members)) == [None] * 4

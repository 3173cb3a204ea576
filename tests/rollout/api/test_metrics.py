"""Contract of GET /api/v1/workflows/{slug}/metrics: every status it answers, with the exact body,
and numbers that match the events ingested."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from rollout.api.auth import MSG_INVALID, MSG_MISSING
from rollout.api.errors import (
    MSG_INVALID_INPUT,
    MSG_METHOD_NOT_ALLOWED,
    MSG_RATE_LIMITED,
    WWW_AUTHENTICATE,
)
from rollout.api.metrics import (
    MSG_DATE,
    MSG_OTHER_WORKFLOW,
    MSG_RANGE_LONG,
    MSG_RANGE_ORDER,
    MSG_UNKNOWN_COHORT,
    MSG_UNKNOWN_WORKFLOW,
)
from rollout.models import Cohort, Workflow
from rollout.services import cohorts as cohort_svc
from tests.factories import UserFactory, make_workflow
from tests.rollout.api.conftest import IssuedToken, issue_token
from tests.rollout.usage_events_data import at_noon, event, events, ingest

pytestmark = pytest.mark.django_db

SLUG = "support-reply-drafting"
URL = f"/api/v1/workflows/{SLUG}/metrics"


def day_row(day: date, cohort_id: int | None, **values) -> dict:
    row = {
        "date": day.isoformat(),
        "cohort_id": cohort_id,
        "invocations": 0,
        "accepted": 0,
        "edited": 0,
        "overridden": 0,
        "errors": 0,
        "fallbacks": 0,
        "agreed": 0,
        "disagreed": 0,
        "active_users": 0,
        "adoption_rate": None,
        "acceptance_rate": None,
        "edit_rate": None,
        "override_rate": None,
        "error_rate": None,
        "fallback_rate": None,
        "shadow_agreement_rate": None,
        "p50_latency_ms": None,
        "p95_latency_ms": None,
    }
    assert set(values) <= set(row), set(values) - set(row)
    row.update(values)
    return row


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def yesterday(today) -> date:
    return today - timedelta(days=1)


@pytest.fixture
def tier1(workflow: Workflow, ops_leader: User) -> Cohort:
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    members = [UserFactory(email="ann@example.com"), UserFactory(email="bob@example.com")]
    cohort_svc.cohort_members_add(cohort=cohort, users=members, actor=ops_leader)
    return cohort


@pytest.fixture
def usage(workflow, tier1, today, yesterday) -> None:
    at = at_noon(yesterday)
    ingest(
        workflow,
        [
            *events("invocation", 10, user_ref="ann@example.com", at=at, latency_ms=80),
            event("error", user_ref="ann@example.com", at=at),
            *events("accepted", 4, user_ref="Ann@Example.com", at=at),
            event("overridden", user_ref="ann@example.com", at=at),
            *[event(user_ref=f"out{i}@example.com", at=at) for i in range(2)],
            *events("invocation", 5, user_ref="bob@example.com", at=at_noon(today)),
        ],
    )


def get(client: Client, token: IssuedToken | None = None, url: str = URL, **params):
    return client.get(url, params, headers=token.headers if token else {})


def expected_body(tier1: Cohort, today: date, yesterday: date) -> dict:
    return {
        "workflow": SLUG,
        "from": yesterday.isoformat(),
        "to": today.isoformat(),
        "cohorts": [
            {"id": tier1.pk, "name": "Tier 1", "members": 2},
            {"id": None, "name": "Not in a cohort", "members": 0},
        ],
        "days": [
            day_row(
                yesterday,
                tier1.pk,
                invocations=10,
                accepted=4,
                overridden=1,
                errors=1,
                active_users=1,
                adoption_rate=0.5,
                acceptance_rate=0.8,
                edit_rate=0.0,
                override_rate=0.2,
                error_rate=0.1,
                fallback_rate=0.0,
                p50_latency_ms=87.5,
                p95_latency_ms=98.75,
            ),
            day_row(
                today,
                tier1.pk,
                invocations=5,
                active_users=1,
                adoption_rate=0.5,
                error_rate=0.0,
                fallback_rate=0.0,
            ),
            day_row(
                yesterday, None, invocations=2, active_users=2, error_rate=0.0, fallback_rate=0.0
            ),
            day_row(today, None),
        ],
    }


# --- 200 ---------------------------------------------------------------------------------------


def test_the_workflows_token_reads_daily_metrics_per_cohort(
    api_client, api_token, usage, tier1, today, yesterday
):
    response = get(api_client, api_token, **{"from": yesterday.isoformat(), "to": today})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == expected_body(tier1, today, yesterday)


@pytest.mark.parametrize("role", ["workflow_owner", "ops_leader", "executive"])
def test_people_who_may_see_the_workflow_read_it_with_their_session(
    client, request, role, usage, tier1, today, yesterday
):
    client.force_login(request.getfixturevalue(role))
    response = get(client, **{"from": yesterday.isoformat(), "to": today.isoformat()})
    assert response.status_code == 200
    assert response.json() == expected_body(tier1, today, yesterday)


def test_one_cohort(api_client, api_token, usage, tier1, today, yesterday):
    response = get(api_client, api_token, **{"from": yesterday, "to": today, "cohort": tier1.pk})
    assert response.status_code == 200
    body = expected_body(tier1, today, yesterday)
    assert response.json() == {
        **body,
        "cohorts": body["cohorts"][:1],
        "days": body["days"][:2],
    }


def test_the_default_range_is_30_days_ending_today(api_client, api_token, tier1, today):
    body = get(api_client, api_token).json()
    assert (body["from"], body["to"]) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
    )
    assert [d["date"] for d in body["days"]] == [
        (today - timedelta(days=29 - i)).isoformat() for i in range(30)
    ]
    assert body["cohorts"] == [{"id": tier1.pk, "name": "Tier 1", "members": 2}]


def test_only_from_or_only_to(api_client, api_token, today):
    body = get(api_client, api_token, **{"from": today - timedelta(days=2)}).json()
    assert (body["from"], body["to"]) == (
        (today - timedelta(days=2)).isoformat(),
        today.isoformat(),
    )
    body = get(api_client, api_token, to="2026-03-31").json()
    assert (body["from"], body["to"]) == ("2026-03-02", "2026-03-31")


def test_a_range_of_exactly_366_days(api_client, api_token):
    response = get(api_client, api_token, **{"from": "2025-01-01", "to": "2026-01-01"})
    assert response.status_code == 200
    assert (response.json()["from"], response.json()["to"]) == ("2025-01-01", "2026-01-01")


def test_the_earliest_date_is_no_error(api_client, api_token):
    # The 30 days before 2000-01-01 are no error either: the minimum holds for what is asked.
    response = get(api_client, api_token, to="2000-01-01")
    assert response.status_code == 200
    assert (response.json()["from"], response.json()["to"]) == ("1999-12-03", "2000-01-01")


def test_no_cohorts_no_usage(api_client, api_token, today):
    body = get(api_client, api_token, **{"from": today, "to": today}).json()
    assert body == {
        "workflow": SLUG,
        "from": today.isoformat(),
        "to": today.isoformat(),
        "cohorts": [],
        "days": [],
    }


def test_numbers_match_the_events_over_many_days(api_client, api_token, workflow, tier1, today):
    batch = []
    for ago in range(10):
        at = at_noon(today - timedelta(days=ago))
        batch += events("accepted", ago, user_ref="ann@example.com", at=at)
        batch += events("edited", 2, user_ref="bob@example.com", at=at, latency_ms=30 * ago)
        batch += events("agreed", 3, user_ref="ann@example.com", at=at)
        batch += events("disagreed", 1, user_ref="ann@example.com", at=at)
        batch += events("fallback", 1, user_ref="bob@example.com", at=at)
    ingest(workflow, batch)
    body = get(
        api_client,
        api_token,
        **{"from": today - timedelta(days=9), "to": today, "cohort": tier1.pk},
    ).json()
    for row in body["days"]:
        ago = (today - date.fromisoformat(row["date"])).days
        assert (row["accepted"], row["edited"], row["agreed"], row["disagreed"]) == (ago, 2, 3, 1)
        assert (row["fallbacks"], row["invocations"], row["active_users"]) == (1, 0, 2)
        assert row["acceptance_rate"] == ago / (ago + 2)
        assert row["edit_rate"] == 2 / (ago + 2)
        assert row["shadow_agreement_rate"] == 0.75
        assert (row["error_rate"], row["fallback_rate"], row["adoption_rate"]) == (None, None, 1.0)


def test_the_queries_do_not_grow_with_the_data_or_the_range(
    api_client, api_token, workflow, tier1, today
):
    with CaptureQueriesContext(connection) as empty:
        assert get(api_client, api_token, **{"from": today, "to": today}).status_code == 200
    ingest(
        workflow,
        [
            event(user_ref=f"p{i % 50}@example.com", at=at_noon(today - timedelta(days=i % 300)))
            for i in range(600)
        ],
    )
    with CaptureQueriesContext(connection) as full:
        response = get(api_client, api_token, **{"from": today - timedelta(days=365), "to": today})
    assert response.status_code == 200
    assert len(full.captured_queries) <= len(empty.captured_queries)


def test_the_same_queries_with_few_and_with_many_events_and_days(workflow, tier1, today):
    # Signed in rather than with a token: a token's lookup is memoized for a second and its
    # last use written once a minute, which would make the count depend on the clock.
    client = Client()
    client.force_login(workflow.owner)
    ranges = [{"from": today - timedelta(days=days - 1), "to": today} for days in (30, 180)]
    ranges.append({**ranges[1], "cohort": tier1.pk})

    def queries(params: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert get(client, **params).status_code == 200
        return len(captured.captured_queries)

    ingest(workflow, [event(user_ref="ann@example.com", at=at_noon(today))])
    few = [queries(params) for params in ranges]
    ingest(
        workflow,
        [
            event(kind, user_ref=ref, at=at_noon(today - timedelta(days=day)), latency_ms=400)
            for day in range(181)
            for ref in ("ann@example.com", "bob@example.com", "out@example.com")
            for kind in ("invocation", "accepted", "overridden")
        ],
    )
    assert [queries(params) for params in ranges] == few


# --- 400 ---------------------------------------------------------------------------------------


def test_from_after_to(api_client, api_token):
    response = get(api_client, api_token, **{"from": "2026-11-02", "to": "2026-11-01"})
    assert response.status_code == 400
    assert response.json() == {"detail": MSG_RANGE_ORDER}


def test_more_than_366_days(api_client, api_token):
    response = get(api_client, api_token, **{"from": "2025-01-01", "to": "2026-01-02"})
    assert response.status_code == 400
    assert response.json() == {"detail": MSG_RANGE_LONG}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"from": "2026-13-01"},
            "from",
            "Input should be a valid date or datetime, month value is outside expected range "
            "of 1-12",
        ),
        ({"to": "tomorrow"}, "to", MSG_DATE),
        ({"to": "0"}, "to", MSG_DATE),
        ({"from": "1999-12-31"}, "from", MSG_DATE),
        (
            {"cohort": "tier-1"},
            "cohort",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ({"cohort": "0"}, "cohort", "Input should be greater than or equal to 1"),
    ],
)
def test_bad_parameters(api_client, api_token, params, field, message):
    response = get(api_client, api_token, **params)
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_INVALID_INPUT,
        "errors": [{"field": field, "message": message}],
    }


# --- 401, 403, 404 -----------------------------------------------------------------------------


def test_anonymous_without_a_token(api_client):
    response = get(api_client)
    assert response.status_code == 401
    assert response.json() == {"detail": MSG_MISSING}
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_a_wrong_token_is_refused_even_with_a_session(client, workflow_owner):
    client.force_login(workflow_owner)
    response = client.get(URL, headers={"Authorization": "Bearer ro_wrong"})
    assert response.status_code == 401
    assert response.json() == {"detail": MSG_INVALID}


def test_a_deactivated_person_has_no_session(client, workflow_owner):
    client.force_login(workflow_owner)
    User.objects.filter(pk=workflow_owner.pk).update(is_active=False)
    response = get(client)
    assert response.status_code == 401


def test_a_token_of_another_workflow(api_client, workflow, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader)
    token = issue_token(other, workflow_owner)
    response = get(api_client, token)
    assert response.status_code == 403
    assert response.json() == {"detail": MSG_OTHER_WORKFLOW}


def test_an_unknown_workflow_with_a_token(api_client, api_token):
    response = get(api_client, api_token, url="/api/v1/workflows/no-such-workflow/metrics")
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_WORKFLOW}


def test_a_slug_too_long_to_be_one(api_client, api_token):
    response = get(api_client, api_token, url=f"/api/v1/workflows/{'a' * 61}/metrics")
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_WORKFLOW}


def test_an_unknown_workflow_with_a_session(client, ops_leader):
    client.force_login(ops_leader)
    response = get(client, url="/api/v1/workflows/no-such-workflow/metrics")
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_WORKFLOW}


def test_someone_with_no_role_gets_a_404(client, other_user, workflow):
    client.force_login(other_user)
    response = get(client)
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_WORKFLOW}


def test_a_cohort_member_gets_a_404(client, tier1):
    client.force_login(tier1.members.get(email="ann@example.com"))
    response = get(client)
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_WORKFLOW}


def test_an_unknown_cohort(api_client, api_token):
    response = get(api_client, api_token, cohort=999_999)
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_COHORT}


def test_a_cohort_of_another_workflow(api_client, api_token, ops_leader):
    other = make_workflow(actor=ops_leader)
    elsewhere = cohort_svc.cohort_create(workflow=other, name="Elsewhere", actor=ops_leader)
    response = get(api_client, api_token, cohort=elsewhere.pk)
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_COHORT}


# --- 405, 429 ----------------------------------------------------------------------------------


def test_only_get(api_client, api_token):
    response = api_client.post(URL, "{}", "application/json", headers=api_token.headers)
    assert response.status_code == 405
    assert response.json() == {"detail": MSG_METHOD_NOT_ALLOWED}


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=1)
def test_rate_limited_per_token(api_client, api_token, monkeypatch):
    monkeypatch.setattr("rollout.api.throttling.clock", lambda: 1_800_000_020.0)
    assert get(api_client, api_token).status_code == 200
    response = get(api_client, api_token)
    assert response.status_code == 429
    assert response.json() == {"detail": MSG_RATE_LIMITED}
    assert response["Retry-After"] == "40"

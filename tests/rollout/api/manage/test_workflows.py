"""The workflows, plan and phases operations: the pages' services and rules, as JSON."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from rollout.api.errors import MSG_NOT_NULL
from rollout.api.manage.common import MSG_NO_WORKFLOW, MSG_NOT_CHANGER
from rollout.models import ActivityEntry, Phase, Workflow
from rollout.services.phases import MSG_PLAN_EXISTS, plan_create_default
from rollout.services.plan_settings import MSG_APPROVALS_OPS_ONLY
from rollout.services.workflows import MSG_NOT_OPS_LEADER, MSG_SLUG_TAKEN
from tests.factories import UserFactory, make_workflow
from tests.rollout.api.manage.conftest import IssuedPersonalToken, issue_personal_token

URL = "/api/v1/workflows"
JSON = "application/json"


def _new(owner: str = "owner@example.com", **fields: object) -> dict:
    body = {
        "name": "Invoice triage",
        "slug": "invoice-triage",
        "owner": owner,
        "business_action": "Invoice routed to a team",
    }
    body.update(fields)
    return body


# --- List and get ---


def test_each_person_lists_what_they_can_see(
    api_client: Client,
    workflow: Workflow,
    ops_leader: User,
    executive: User,
    workflow_owner: User,
    cohort_member: User,
    other_user: User,
) -> None:
    hidden = make_workflow(name="Contract review", slug="contract-review", actor=ops_leader)
    seen = {
        person.email: [
            w["slug"]
            for w in api_client.get(URL, headers=issue_personal_token(person).headers).json()
        ]
        for person in (ops_leader, executive, workflow_owner, cohort_member, other_user)
    }
    assert seen == {
        ops_leader.email: [hidden.slug, workflow.slug],
        executive.email: [hidden.slug, workflow.slug],
        workflow_owner.email: [workflow.slug],
        cohort_member.email: [workflow.slug],
        other_user.email: [],
    }


def test_get_answers_the_whole_workflow(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    response = api_client.get(f"{URL}/{workflow.slug}", headers=owner_token.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == workflow.slug
    assert body["name"] == "Support reply drafting"
    assert body["owner"] == {"name": "Owen Owner", "email": "owner@example.com"}
    assert body["ownerless"] is False
    assert body["retired"] is False
    assert body["url"] == f"http://testserver/workflows/{workflow.slug}/"


def test_an_invisible_workflow_is_404_like_a_missing_one(
    api_client: Client, workflow: Workflow, other_user: User
) -> None:
    token = issue_personal_token(other_user)
    for slug in (workflow.slug, "no-such-workflow"):
        for method, path in (
            ("get", ""),
            ("patch", ""),
            ("get", "/plan"),
            ("patch", "/plan"),
            ("post", "/plan"),
            ("get", "/phases"),
            ("patch", "/phases/shadow"),
        ):
            body = {"start_date": "2027-01-04"} if method == "post" else {}
            response = getattr(api_client, method)(
                f"{URL}/{slug}{path}", body, content_type=JSON, headers=token.headers
            )
            assert (method, path, response.status_code) == (method, path, 404)
            assert response.json() == {"detail": MSG_NO_WORKFLOW}


# --- Create ---


def test_an_ops_leader_creates_a_workflow_with_its_plan(
    api_client: Client, ops_token: IssuedPersonalToken, workflow_owner: User
) -> None:
    response = api_client.post(
        URL,
        _new(plan_start_date="2027-01-04", summary="Routes invoices."),
        content_type=JSON,
        headers=ops_token.headers,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "invoice-triage"
    assert body["owner"]["email"] == workflow_owner.email
    workflow = Workflow.objects.get(slug="invoice-triage")
    assert workflow.owner == workflow_owner
    assert [p.kind for p in workflow.phases.order_by("position")] == [
        "audit",
        "shadow",
        "limited",
        "broad",
        "steady",
    ]
    entries = ActivityEntry.objects.filter(workflow=workflow)
    assert entries.filter(verb="created", target="workflow Invoice triage").exists()
    assert all("via token CI bot" in entry.note for entry in entries)
    # The owner may now see and change it, as if it had been made on the page.
    owner = issue_personal_token(workflow_owner, name="Owner bot")
    assert api_client.get(f"{URL}/invoice-triage", headers=owner.headers).status_code == 200


@pytest.mark.parametrize("who", ["workflow_owner", "executive", "other_user"])
def test_only_ops_leaders_create(
    api_client: Client, who: str, request: pytest.FixtureRequest, workflow_owner: User
) -> None:
    token = issue_personal_token(request.getfixturevalue(who))
    response = api_client.post(URL, _new(), content_type=JSON, headers=token.headers)
    assert response.status_code == 403
    assert response.json() == {"detail": MSG_NOT_OPS_LEADER}
    assert not Workflow.objects.filter(slug="invoice-triage").exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"slug": "support-reply-drafting"}, "slug", None),
        ({"owner": "nobody@example.com"}, "owner", None),
        ({"name": "Bad\x00name"}, "name", None),
        ({"summary": "Bad\x07text"}, "summary", None),
        ({"colour": "red"}, "colour", None),
        ({"slug": "Not A Slug"}, "slug", None),
        ({"plan_start_date": 20270104}, "plan_start_date", None),
        ({"plan_start_date": "next monday"}, "plan_start_date", None),
        ({"name": 7}, "name", None),
    ],
)
def test_bad_input_is_a_400_by_field_and_creates_nothing(
    api_client: Client,
    workflow: Workflow,
    ops_token: IssuedPersonalToken,
    fields: dict,
    field: str,
    message: str | None,
) -> None:
    before = Workflow.objects.count()
    response = api_client.post(URL, _new(**fields), content_type=JSON, headers=ops_token.headers)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert Workflow.objects.count() == before


def test_the_services_words_come_back(
    api_client: Client, workflow: Workflow, ops_token: IssuedPersonalToken
) -> None:
    response = api_client.post(
        URL, _new(slug=workflow.slug), content_type=JSON, headers=ops_token.headers
    )
    message = MSG_SLUG_TAKEN.format(slug=workflow.slug)
    assert response.json() == {
        "detail": message,
        "errors": [{"field": "slug", "message": message}],
    }


def test_a_deactivated_owner_is_refused(api_client: Client, ops_token: IssuedPersonalToken) -> None:
    UserFactory(email="gone@example.com", is_active=False)
    response = api_client.post(
        URL, _new(owner="gone@example.com"), content_type=JSON, headers=ops_token.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "owner"


# --- Update ---


def test_the_owner_updates_the_description(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    response = api_client.patch(
        f"{URL}/{workflow.slug}",
        {"summary": "All tiers.", "model_version": "2026-11"},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert response.status_code == 200
    assert response.json()["summary"] == "All tiers."
    workflow.refresh_from_db()
    assert (workflow.summary, workflow.model_version) == ("All tiers.", "2026-11")
    entry = ActivityEntry.objects.filter(workflow=workflow, verb="edited").first()
    assert entry.changes["model version"] == ["2026-09", "2026-11"]


@pytest.mark.parametrize("who", ["executive", "cohort_member"])
def test_people_who_see_but_may_not_change(
    api_client: Client, workflow: Workflow, who: str, request: pytest.FixtureRequest
) -> None:
    token = issue_personal_token(request.getfixturevalue(who))
    response = api_client.patch(
        f"{URL}/{workflow.slug}", {"summary": "x"}, content_type=JSON, headers=token.headers
    )
    assert response.status_code == 403
    assert response.json() == {"detail": MSG_NOT_CHANGER}


def test_slug_and_owner_are_not_changed_here(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    response = api_client.patch(
        f"{URL}/{workflow.slug}",
        {"owner": "ops@example.com", "slug": "other"},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"owner", "slug"}


# --- Plan and phases ---


def test_plan_create_get_and_settings(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    headers = owner_token.headers
    assert api_client.get(f"{URL}/{workflow.slug}/phases", headers=headers).json() == []
    created = api_client.post(
        f"{URL}/{workflow.slug}/plan",
        {"start_date": "2027-01-04"},
        content_type=JSON,
        headers=headers,
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert plan["plan_start_date"] == "2027-01-04"
    assert [p["kind"] for p in plan["phases"]] == ["audit", "shadow", "limited", "broad", "steady"]
    assert plan["thresholds_url"].endswith(f"/api/v1/workflows/{workflow.slug}/thresholds")

    again = api_client.post(
        f"{URL}/{workflow.slug}/plan",
        {"start_date": "2027-02-01"},
        content_type=JSON,
        headers=headers,
    )
    assert again.status_code == 400
    assert again.json()["detail"] == MSG_PLAN_EXISTS.format(workflow=workflow.name)

    changed = api_client.patch(
        f"{URL}/{workflow.slug}/plan",
        {"lead_time_days": 10, "review_cadence_days": 90, "fallback_mode": "off"},
        content_type=JSON,
        headers=headers,
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["lead_time_days"], changed.json()["fallback_mode"]) == (10, "off")
    workflow.refresh_from_db()
    assert (workflow.lead_time_days, workflow.review_cadence_days) == (10, 90)

    cleared = api_client.patch(
        f"{URL}/{workflow.slug}/plan",
        {"review_cadence_days": None},
        content_type=JSON,
        headers=headers,
    )
    assert cleared.json()["review_cadence_days"] is None
    assert cleared.json()["lead_time_days"] == 10


def test_only_ops_leaders_change_the_approvals(
    api_client: Client,
    workflow: Workflow,
    owner_token: IssuedPersonalToken,
    ops_token: IssuedPersonalToken,
) -> None:
    url = f"{URL}/{workflow.slug}/plan"
    refused = api_client.patch(
        url,
        {"required_approvals": 1 + workflow.required_approvals},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "required_approvals", "message": MSG_APPROVALS_OPS_ONLY}
    ]
    allowed = api_client.patch(
        url, {"required_approvals": 2}, content_type=JSON, headers=ops_token.headers
    )
    assert allowed.json()["required_approvals"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lead_time_days": 91}, "lead_time_days"),
        ({"lead_time_days": "5"}, "lead_time_days"),
        ({"fallback_mode": "loud"}, "fallback_mode"),
        ({"pause_on_unannounced_change": "yes"}, "pause_on_unannounced_change"),
        ({"next_review_due": "31/01/2027"}, "next_review_due"),
    ],
)
def test_plan_settings_bad_input(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken, body: dict, field: str
) -> None:
    response = api_client.patch(
        f"{URL}/{workflow.slug}/plan", body, content_type=JSON, headers=owner_token.headers
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    workflow.refresh_from_db()
    assert (workflow.lead_time_days, workflow.fallback_mode) == (5, "shadow")


def test_phase_update_as_the_plan_page_allows(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken, ops_leader: User
) -> None:
    start = timezone.localdate() + timedelta(days=30)
    plan_create_default(workflow=workflow, start_date=start, actor=ops_leader)
    url = f"{URL}/{workflow.slug}/phases/audit"
    shadow = Phase.objects.get(workflow=workflow, kind="shadow")
    response = api_client.patch(
        url,
        {"min_duration_days": 21, "exit_criteria": "Every source verified."},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert response.status_code == 200, response.content
    assert response.json()["min_duration_days"] == 21
    overlapping = api_client.patch(
        url,
        {"planned_end": shadow.planned_start.isoformat()},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert overlapping.status_code == 400
    assert overlapping.json()["errors"][0]["field"] == "planned_end"
    assert Phase.objects.get(workflow=workflow, kind="audit").planned_end < shadow.planned_start
    listed = api_client.get(f"{URL}/{workflow.slug}/phases", headers=owner_token.headers).json()
    assert listed[0]["exit_criteria"] == "Every source verified."

    unknown_kind = api_client.patch(
        f"{URL}/{workflow.slug}/phases/launch", {}, content_type=JSON, headers=owner_token.headers
    )
    assert unknown_kind.status_code == 400


def test_a_phase_of_a_workflow_without_a_plan(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    response = api_client.patch(
        f"{URL}/{workflow.slug}/phases/audit",
        {"min_duration_days": 3},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", '{"name": null}', "name"),
        ("/plan", '{"lead_time_days": null}', "lead_time_days"),
        ("/phases/audit", '{"planned_start": null}', "planned_start"),
    ],
)
def test_null_is_refused_where_it_clears_nothing(
    api_client: Client,
    workflow: Workflow,
    owner_token: IssuedPersonalToken,
    ops_leader: User,
    path: str,
    body: str,
    field: str,
) -> None:
    plan_create_default(
        workflow=workflow, start_date=timezone.localdate() + timedelta(days=30), actor=ops_leader
    )
    response = api_client.patch(
        f"{URL}/{workflow.slug}{path}", body, content_type=JSON, headers=owner_token.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": field, "message": MSG_NOT_NULL}]


def test_a_lone_surrogate_is_refused_before_the_database(
    api_client: Client, ops_token: IssuedPersonalToken, workflow_owner: User
) -> None:
    """JSON may escape one; PostgreSQL cannot store it (SQLite would)."""
    body = json.dumps(_new(summary="broken \ud800 text"))
    response = api_client.post(URL, body, content_type=JSON, headers=ops_token.headers)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["summary"]
    assert not Workflow.objects.filter(slug="invoice-triage").exists()

"""/api/v1/workflows/{slug}/data-sources with a personal token: the plan page's rules and log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from rollout.api.errors import MSG_INVALID_INPUT
from rollout.api.manage.answers import MSG_CONTROL, MSG_NOT_NULL
from rollout.api.manage.common import MSG_KEY_OTHER_BODY, REPLAYED_HEADER
from rollout.api.manage.data_sources import MSG_UNKNOWN_SOURCE
from rollout.models import ActivityEntry, DataSource, Workflow
from rollout.services.data_sources import MSG_NAME_TAKEN, MSG_VERIFIED_IN_FUTURE
from tests.factories import make_workflow
from tests.rollout.api.manage.area_fixtures import BASE, make_parts, send, token_headers

URL = BASE.format(slug="support-reply-drafting") + "/data-sources"


@pytest.fixture
def owner(workflow: Workflow, ops_leader: User, workflow_owner: User) -> dict[str, str]:
    make_parts(workflow, ops_leader, workflow_owner)
    return token_headers(workflow_owner)


def test_list(owner: dict[str, str]) -> None:
    source = DataSource.objects.get()
    response = send("GET", URL, owner)
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": source.pk,
            "name": "Ticket export",
            "key": "ticket-export",
            "kind": "static_export",
            "live_equivalent": "",
            "description": "",
            "freshness": "",
            "max_age_minutes": None,
            "validation": "",
            "last_verified_at": None,
            "version": "",
            "created_at": response.json()[0]["created_at"],
        }
    ]


def test_create_answers_the_source_and_logs_via_token(
    owner: dict[str, str], workflow_owner: User
) -> None:
    body = {"name": "CRM", "kind": "live", "max_age_minutes": 15, "last_verified_at": "2026-11-02"}
    response = send("POST", URL, owner, body)
    assert response.status_code == 201
    created = DataSource.objects.get(name="CRM")
    assert response.json() | {"created_at": None} == {
        "id": created.pk,
        "name": "CRM",
        "key": "crm",
        "kind": "live",
        "live_equivalent": "",
        "description": "",
        "freshness": "",
        "max_age_minutes": 15,
        "validation": "",
        "last_verified_at": "2026-11-02",
        "version": "",
        "created_at": None,
    }
    entry = ActivityEntry.objects.filter(verb="added").latest("pk")
    assert (entry.actor, entry.target, entry.note) == (
        workflow_owner,
        "data source CRM",
        "via token CI bot",
    )


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"kind": "live"}, [{"field": "name", "message": "Field required"}]),
        (
            {"name": "CRM", "kind": "cloud"},
            [
                {
                    "field": "kind",
                    "message": "Input should be 'live', 'static_export' or 'synthetic'",
                }
            ],
        ),
        (
            {"name": "CRM", "kind": "live", "colour": "red"},
            [{"field": "colour", "message": "Unknown field: colour."}],
        ),
        (
            {"name": "CRM\u0000", "kind": "live"},
            [{"field": "name", "message": MSG_CONTROL}],
        ),
        (
            {"name": "CRM", "kind": "live", "max_age_minutes": 0},
            [{"field": "max_age_minutes", "message": "Input should be greater than or equal to 1"}],
        ),
        (
            ["CRM"],
            [{"field": "", "message": "Send one JSON object with the fields of the schema."}],
        ),
    ],
)
def test_invalid_input_is_400_by_field_and_changes_nothing(
    owner: dict[str, str], body: object, errors: list[dict[str, str]]
) -> None:
    entries = ActivityEntry.objects.count()
    response = send("POST", URL, owner, body)
    assert response.status_code == 400
    assert response.json() == {"detail": MSG_INVALID_INPUT, "errors": errors}
    assert DataSource.objects.count() == 1
    assert ActivityEntry.objects.count() == entries


def test_the_services_rules_answer_in_its_words(owner: dict[str, str]) -> None:
    taken = send("POST", URL, owner, {"name": "ticket export", "kind": "live"})
    assert taken.status_code == 400
    message = MSG_NAME_TAKEN.format(name="ticket export")
    assert taken.json() == {"detail": message, "errors": [{"field": "name", "message": message}]}
    tomorrow = timezone.localdate() + timedelta(days=1)
    future = send(
        "POST", URL, owner, {"name": "CRM", "kind": "live", "last_verified_at": str(tomorrow)}
    )
    assert future.status_code == 400
    message = MSG_VERIFIED_IN_FUTURE.format(today=timezone.localdate().isoformat())
    assert future.json()["errors"] == [{"field": "last_verified_at", "message": message}]
    assert DataSource.objects.count() == 1


def test_idempotent_create(owner: dict[str, str]) -> None:
    body = {"name": "CRM", "kind": "live"}
    first = send("POST", URL, owner, body, **{"Idempotency-Key": "crm-1"})
    again = send("POST", URL, owner, body, **{"Idempotency-Key": "crm-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again[REPLAYED_HEADER] == "true"
    assert DataSource.objects.filter(name="CRM").count() == 1
    other = send(
        "POST", URL, owner, {"name": "ERP", "kind": "live"}, **{"Idempotency-Key": "crm-1"}
    )
    assert other.status_code == 422
    assert other.json() == {"detail": MSG_KEY_OTHER_BODY}
    assert not DataSource.objects.filter(name="ERP").exists()


def test_a_refused_create_keeps_no_answer_for_its_key(owner: dict[str, str]) -> None:
    """The client fixes the body and sends it again with the same key: it is created."""
    refused = send(
        "POST", URL, owner, {"name": "ticket export", "kind": "live"}, **{"Idempotency-Key": "k"}
    )
    assert refused.status_code == 400
    fixed = send(
        "POST",
        URL,
        owner,
        {"name": "ticket export", "kind": "live"} | {"name": "CRM"},
        **{"Idempotency-Key": "k"},
    )
    assert fixed.status_code == 201


def test_update_changes_what_is_sent(owner: dict[str, str]) -> None:
    source = DataSource.objects.get()
    url = f"{URL}/{source.pk}"
    response = send("PATCH", url, owner, {"version": "v2", "max_age_minutes": 60})
    assert response.status_code == 200
    assert (response.json()["version"], response.json()["max_age_minutes"]) == ("v2", 60)
    assert response.json()["name"] == "Ticket export"
    cleared = send("PATCH", url, owner, {"max_age_minutes": None})
    assert cleared.json()["max_age_minutes"] is None
    entry = ActivityEntry.objects.filter(verb="edited").latest("pk")
    assert entry.changes == {"maximum data age (minutes)": ["60", "—"]}
    assert entry.note == "via token CI bot"


def test_update_refuses_null_where_nothing_can_be_cleared(owner: dict[str, str]) -> None:
    source = DataSource.objects.get()
    response = send("PATCH", f"{URL}/{source.pk}", owner, {"name": None})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "name", "message": MSG_NOT_NULL}]
    source.refresh_from_db()
    assert source.name == "Ticket export"


def test_delete(owner: dict[str, str]) -> None:
    source = DataSource.objects.get()
    response = send("DELETE", f"{URL}/{source.pk}", owner)
    assert response.status_code == 204
    assert not DataSource.objects.exists()
    entry = ActivityEntry.objects.latest("pk")
    assert (entry.verb, entry.target) == ("removed", "data source Ticket export")


def test_another_workflows_source_is_404(
    owner: dict[str, str], ops_leader: User, workflow_owner: User
) -> None:
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="invoice-triage")
    theirs = DataSource.objects.create(workflow=other, name="Ledger", kind="live")
    for method in ("PATCH", "DELETE"):
        response = send(method, f"{URL}/{theirs.pk}", owner, {"name": "Mine"})
        assert response.status_code == 404
        assert response.json() == {"detail": MSG_UNKNOWN_SOURCE}
    theirs.refresh_from_db()
    assert theirs.name == "Ledger"

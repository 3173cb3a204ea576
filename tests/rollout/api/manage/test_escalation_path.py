"""/api/v1/workflows/{slug}/escalation-levels with a personal token: the escalation path page's
rules and log; contacts named by email."""

import pytest

from accounts.models import User
from rollout.api.manage.escalation_path import MSG_UNKNOWN_LEVEL
from rollout.forms.people import MSG_UNKNOWN_EMAIL
from rollout.models import ActivityEntry, EscalationLevel, Workflow
from rollout.services.escalation_path import (
    MSG_ALREADY_FIRST,
    MSG_CONTACT_INACTIVE,
    MSG_TOO_MANY_LEVELS,
    escalation_level_add,
)
from tests.factories import UserFactory
from tests.rollout.api.manage.area_fixtures import BASE, Parts, make_parts, send, token_headers

URL = BASE.format(slug="support-reply-drafting") + "/escalation-levels"


@pytest.fixture
def parts(workflow: Workflow, ops_leader: User, workflow_owner: User) -> Parts:
    return make_parts(workflow, ops_leader, workflow_owner)


@pytest.fixture
def owner(parts: Parts, workflow_owner: User) -> dict[str, str]:
    return token_headers(workflow_owner)


def _path(owner: dict[str, str]) -> list[tuple[int, str]]:
    return [(level["level"], level["contact"]["email"]) for level in send("GET", URL, owner).json()]


def test_list(owner: dict[str, str], parts: Parts) -> None:
    response = send("GET", URL, owner)
    assert response.status_code == 200
    assert response.json()[0] == {
        "id": parts.level.pk,
        "level": 1,
        "contact": {"email": "owner@example.com", "display_name": "Owen Owner"},
        "channel": "email",
        "response_target_minutes": 30,
        "summary": "Owen Owner by email within 30 minutes",
    }
    assert _path(owner) == [(1, "owner@example.com"), (2, "ops@example.com")]


def test_create_by_email_gives_the_contact_the_workflow(owner: dict[str, str]) -> None:
    carl = UserFactory(email="carl@example.com", display_name="Carl Contact")
    body = {"contact": "Carl@Example.com", "channel": "in_app", "response_target_minutes": 90}
    response = send("POST", URL, owner, body)
    assert response.status_code == 201
    assert response.json()["level"] == 3
    assert response.json()["summary"] == "Carl Contact by in-app within 1 hour 30 minutes"
    assert carl.has_perm("rollout.view_workflow", Workflow.objects.get())
    entry = ActivityEntry.objects.latest("pk")
    assert (entry.verb, entry.target, entry.note) == (
        "added escalation level",
        "level 3",
        "via token CI bot",
    )


@pytest.mark.parametrize(
    ("contact", "message"),
    [
        ("nobody@example.com", MSG_UNKNOWN_EMAIL.format(email="nobody@example.com")),
        ("gone@example.com", MSG_CONTACT_INACTIVE.format(contact="Gone Person")),
    ],
)
def test_create_refuses_an_unknown_or_deactivated_contact(
    owner: dict[str, str], contact: str, message: str
) -> None:
    UserFactory(email="gone@example.com", display_name="Gone Person", is_active=False)
    entries = ActivityEntry.objects.count()
    body = {"contact": contact, "channel": "email", "response_target_minutes": 30}
    response = send("POST", URL, owner, body)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "contact", "message": message}]
    assert EscalationLevel.objects.count() == 2
    assert ActivityEntry.objects.count() == entries


def test_create_beyond_ten_levels_is_refused(
    owner: dict[str, str], parts: Parts, ops_leader: User
) -> None:
    for _ in range(8):
        escalation_level_add(
            workflow=parts.workflow,
            actor=ops_leader,
            contact=ops_leader,
            channel="email",
            response_target_minutes=5,
        )
    body = {"contact": "ops@example.com", "channel": "email", "response_target_minutes": 30}
    response = send("POST", URL, owner, body)
    assert (response.status_code, response.json()) == (400, {"detail": MSG_TOO_MANY_LEVELS})
    assert EscalationLevel.objects.count() == 10


def test_response_target_bounds_are_in_the_schema(owner: dict[str, str]) -> None:
    body = {"contact": "ops@example.com", "channel": "email", "response_target_minutes": 0}
    response = send("POST", URL, owner, body)
    assert response.json()["errors"] == [
        {
            "field": "response_target_minutes",
            "message": "Input should be greater than or equal to 1",
        }
    ]


def test_update_and_move_and_delete(owner: dict[str, str], parts: Parts) -> None:
    changed = send("PATCH", f"{URL}/{parts.level.pk}", owner, {"contact": "ops@example.com"})
    assert changed.status_code == 200
    assert changed.json()["contact"]["email"] == "ops@example.com"
    assert changed.json()["response_target_minutes"] == 30
    moved = send("POST", f"{URL}/{parts.level.pk}/move", owner, {"direction": "down"})
    assert moved.status_code == 200
    assert [(lv["id"], lv["level"]) for lv in moved.json()] == [
        (parts.second_level.pk, 1),
        (parts.level.pk, 2),
    ]
    assert ActivityEntry.objects.latest("pk").changes == {"level": ["1", "2"]}
    first = send("POST", f"{URL}/{parts.second_level.pk}/move", owner, {"direction": "up"})
    assert (first.status_code, first.json()) == (400, {"detail": MSG_ALREADY_FIRST})
    sideways = send("POST", f"{URL}/{parts.level.pk}/move", owner, {"direction": "left"})
    assert sideways.status_code == 400
    assert sideways.json()["errors"][0]["field"] == "direction"
    assert send("DELETE", f"{URL}/{parts.second_level.pk}", owner).status_code == 204
    assert _path(owner) == [(1, "ops@example.com")]
    gone = send("PATCH", f"{URL}/{parts.second_level.pk}", owner, {"channel": "email"})
    assert (gone.status_code, gone.json()) == (404, {"detail": MSG_UNKNOWN_LEVEL})

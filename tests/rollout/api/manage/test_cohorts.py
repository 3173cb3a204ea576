"""/api/v1/workflows/{slug}/cohorts with a personal token: the cohorts page's rules and log, and
members added and removed by email with the CSV import's fates."""

import pytest

from accounts.models import User
from core.text import MSG_ONE_LINE
from rollout.api.errors import MSG_INVALID_INPUT
from rollout.api.manage.cohorts import FATE_MESSAGES, MSG_UNKNOWN_COHORT
from rollout.api.manage.common import REPLAYED_HEADER
from rollout.models import ActivityEntry, Cohort, CohortMember, Workflow
from rollout.services.cohorts import (
    MSG_DELETE_LIVE,
    MSG_ENROL_UNCHANGED,
    MSG_NAME_TAKEN,
    MSG_NOT_ENROLLED,
    cohort_enrol,
)
from tests.factories import UserFactory
from tests.rollout.api.manage.area_fixtures import BASE, Parts, make_parts, send, token_headers
from tests.rollout.promotion_fixtures import make_plan

URL = BASE.format(slug="support-reply-drafting") + "/cohorts"


@pytest.fixture
def parts(workflow: Workflow, ops_leader: User, workflow_owner: User) -> Parts:
    return make_parts(workflow, ops_leader, workflow_owner)


@pytest.fixture
def owner(parts: Parts, workflow_owner: User) -> dict[str, str]:
    return token_headers(workflow_owner)


def test_list_and_create(owner: dict[str, str], parts: Parts) -> None:
    created = send("POST", URL, owner, {"name": "  Tier   2 ", "description": "EMEA"})
    assert created.status_code == 201
    tier2 = Cohort.objects.get(name="Tier 2")
    assert created.json() == {
        "id": tier2.pk,
        "name": "Tier 2",
        "description": "EMEA",
        "enrolled_phase": "",
        "percentage": 100,
        "holdout_percentage": 0,
        "member_count": 0,
    }
    listed = send("GET", URL, owner).json()
    assert [(c["name"], c["member_count"]) for c in listed] == [("Tier 1", 1), ("Tier 2", 0)]
    entry = ActivityEntry.objects.latest("pk")
    assert (entry.verb, entry.target, entry.note) == (
        "created",
        "cohort Tier 2",
        "via token CI bot",
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "tier 1"}, "name", MSG_NAME_TAKEN.format(name="tier 1")),
        ({"name": "Tier\n2"}, "name", MSG_ONE_LINE),
        ({"name": ""}, "name", "String should have at least 1 character"),
        (
            {"name": "Tier 2", "description": "x" * 2001},
            "description",
            "String should have at most 2000 characters",
        ),
    ],
)
def test_create_refused_by_field(
    owner: dict[str, str], parts: Parts, body: dict, field: str, message: str
) -> None:
    entries = ActivityEntry.objects.count()
    response = send("POST", URL, owner, body)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": field, "message": message}]
    assert Cohort.objects.count() == 1
    assert ActivityEntry.objects.count() == entries


def test_update_renames(owner: dict[str, str], parts: Parts) -> None:
    response = send("PATCH", f"{URL}/{parts.cohort.pk}", owner, {"name": "Tier one"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["member_count"]) == ("Tier one", 1)
    parts.cohort.refresh_from_db()
    assert parts.cohort.name == "Tier one"


def test_delete_of_a_cohort_in_use_is_refused(
    owner: dict[str, str], parts: Parts, ops_leader: User
) -> None:
    make_plan(parts.workflow, current="limited")
    cohort_enrol(cohort=parts.cohort, phase="limited", percentage=100, actor=ops_leader)
    response = send("DELETE", f"{URL}/{parts.cohort.pk}", owner)
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_DELETE_LIVE.format(name="Tier 1", phase="limited roll-out")
    }
    assert Cohort.objects.filter(pk=parts.cohort.pk).exists()


def test_delete(owner: dict[str, str], parts: Parts) -> None:
    response = send("DELETE", f"{URL}/{parts.cohort.pk}", owner)
    assert response.status_code == 204
    assert not Cohort.objects.exists()
    assert send("DELETE", f"{URL}/{parts.cohort.pk}", owner).json() == {
        "detail": MSG_UNKNOWN_COHORT
    }


def test_members_page(owner: dict[str, str], parts: Parts, ops_leader: User) -> None:
    for name in ("Ann", "Bob", "Cid"):
        user = UserFactory(email=f"{name.lower()}@example.com", display_name=name)
        CohortMember.objects.create(cohort=parts.cohort, user=user, added_by=ops_leader)
    response = send("GET", f"{URL}/{parts.cohort.pk}/members?offset=1&limit=2", owner)
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 4
    assert [(m["display_name"], m["email"]) for m in page["members"]] == [
        ("Bob", "bob@example.com"),
        ("Cid", "cid@example.com"),
    ]
    too_many = send("GET", f"{URL}/{parts.cohort.pk}/members?limit=501", owner)
    assert too_many.status_code == 400


def test_members_add_answers_each_fate(owner: dict[str, str], parts: Parts) -> None:
    ann = UserFactory(email="ann@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    emails = [
        "ANN@example.com",
        "mia.member@example.com",
        "new@example.com",
        "not an email",
        "ann@example.com",
        "gone@example.com",
    ]
    response = send("POST", f"{URL}/{parts.cohort.pk}/members", owner, {"emails": emails})
    assert response.status_code == 200
    fates = ["added", "member", "unknown", "malformed", "duplicate", "deactivated"]
    assert response.json() == {
        "added": 1,
        "rows": [
            {"index": i, "email": email, "fate": fate, "message": FATE_MESSAGES[fate]}
            for i, (email, fate) in enumerate(zip(emails, fates, strict=True))
        ],
    }
    assert set(parts.cohort.members.all()) == {ann, parts.member}
    assert not User.objects.filter(email="new@example.com").exists()
    entry = ActivityEntry.objects.latest("pk")
    assert entry.changes == {"members added": ["—", "ann@example.com"]}
    assert entry.note == "via token CI bot"


def test_members_add_again_with_its_key_replays(owner: dict[str, str], parts: Parts) -> None:
    UserFactory(email="ann@example.com")
    url = f"{URL}/{parts.cohort.pk}/members"
    body = {"emails": ["ann@example.com"]}
    first = send("POST", url, owner, body, **{"Idempotency-Key": "add-ann"})
    again = send("POST", url, owner, body, **{"Idempotency-Key": "add-ann"})
    assert again.json() == first.json()
    assert again.json()["rows"][0]["fate"] == "added"
    assert again[REPLAYED_HEADER] == "true"
    # Without the key the same list is simply worked out again: nothing left to add.
    third = send("POST", url, owner, body)
    assert third.json()["rows"][0]["fate"] == "member"


def test_members_remove_answers_each_fate(owner: dict[str, str], parts: Parts) -> None:
    UserFactory(email="outsider@example.com")
    emails = ["Mia.Member@example.com", "outsider@example.com", "who@example.com", "x@", ""]
    response = send("POST", f"{URL}/{parts.cohort.pk}/members/remove", owner, {"emails": emails})
    assert response.status_code == 200
    fates = ["removed", "not_member", "unknown", "malformed", "malformed"]
    assert response.json() == {
        "removed": 1,
        "rows": [
            {"index": i, "email": email, "fate": fate, "message": FATE_MESSAGES[fate]}
            for i, (email, fate) in enumerate(zip(emails, fates, strict=True))
        ],
    }
    assert not parts.cohort.members.exists()
    assert not parts.member.has_perm("rollout.use_workflow", parts.workflow)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"emails": []},
            [
                {
                    "field": "emails",
                    "message": "List should have at least 1 item after validation, not 0",
                }
            ],
        ),
        (
            {"emails": "ann@example.com"},
            [{"field": "emails", "message": "Input should be a valid list"}],
        ),
        ({"emails": [1]}, [{"field": "emails", "message": "Input should be a valid string"}]),
        ({}, [{"field": "emails", "message": "Field required"}]),
    ],
)
def test_members_bad_lists_are_refused(
    owner: dict[str, str], parts: Parts, body: dict, errors: list
) -> None:
    entries = ActivityEntry.objects.count()
    for path in ("members", "members/remove"):
        response = send("POST", f"{URL}/{parts.cohort.pk}/{path}", owner, body)
        assert response.status_code == 400
        assert response.json() == {"detail": MSG_INVALID_INPUT, "errors": errors}
    assert ActivityEntry.objects.count() == entries
    assert list(parts.cohort.members.all()) == [parts.member]


def test_enrol_and_unenrol(owner: dict[str, str], parts: Parts) -> None:
    url = f"{URL}/{parts.cohort.pk}/enrolment"
    enrolled = send(
        "PUT", url, owner, {"phase": "limited", "percentage": 40, "holdout_percentage": 10}
    )
    assert enrolled.status_code == 200
    body = enrolled.json()
    assert (body["enrolled_phase"], body["percentage"], body["holdout_percentage"]) == (
        "limited",
        40,
        10,
    )
    entry = ActivityEntry.objects.latest("pk")
    assert (entry.verb, entry.note) == ("enrolled", "via token CI bot")
    same = send("PUT", url, owner, {"phase": "limited", "percentage": 40})
    assert (same.status_code, same.json()) == (
        400,
        {"detail": MSG_ENROL_UNCHANGED.format(name="Tier 1")},
    )
    bad = send("PUT", url, owner, {"phase": "shadow", "percentage": 101})
    assert [e["field"] for e in bad.json()["errors"]] == ["phase", "percentage"]
    unenrolled = send("DELETE", url, owner)
    assert unenrolled.status_code == 200
    assert unenrolled.json()["enrolled_phase"] == ""
    again = send("DELETE", url, owner)
    assert again.json() == {"detail": MSG_NOT_ENROLLED.format(name="Tier 1")}

"""/api/v1/workflows/{slug}/notices with a personal token: drafts, changes and scheduling under
the notices page's rules (rules 5 and 10), logged "via token"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from rollout.api.checks import MSG_NAIVE
from rollout.api.manage.answers import MSG_ISO
from rollout.api.manage.notices import MSG_UNKNOWN_NOTICE, MSG_YEAR
from rollout.models import ActivityEntry, ChangeNotice, NoticeStatus, Workflow
from rollout.services.cohorts import cohort_create
from rollout.services.notices import (
    MSG_EFFECTIVE_BEFORE_PUBLISH,
    MSG_FOREIGN_COHORTS,
    MSG_NOT_DRAFT,
    MSG_PUBLISHED,
    MSG_URGENT_REASON_REQUIRED,
)
from tests.factories import make_workflow
from tests.rollout.api.manage.area_fixtures import BASE, Parts, make_parts, send, token_headers

URL = BASE.format(slug="support-reply-drafting") + "/notices"


def _at(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0).isoformat()


def _new(**change: object) -> dict[str, object]:
    return {
        "kind": "prompt_change",
        "title": "Shorter drafts",
        "body": "Drafts get **shorter** from the effective date.",
        "audience": "everyone",
        "publish_at": _at(2),
        "effective_at": _at(20),
        "requires_ack": True,
        "reminder_hours": 24,
    } | change


@pytest.fixture
def parts(workflow: Workflow, ops_leader: User, workflow_owner: User) -> Parts:
    return make_parts(workflow, ops_leader, workflow_owner)


@pytest.fixture
def owner(parts: Parts, workflow_owner: User) -> dict[str, str]:
    return token_headers(workflow_owner)


def test_list(owner: dict[str, str], parts: Parts) -> None:
    response = send("GET", URL, owner)
    assert response.status_code == 200
    (notice,) = response.json()
    assert notice | {"publish_at": None, "effective_at": None} == {
        "id": parts.notice.pk,
        "status": "draft",
        "kind": "other",
        "title": "Replies get a new signature",
        "body": "From next month every draft ends with the team's signature.",
        "audience": "cohorts",
        "cohorts": [parts.cohort.pk],
        "include_followers": True,
        "publish_at": None,
        "effective_at": None,
        "requires_ack": False,
        "reminder_hours": None,
        "urgent": False,
        "urgent_reason": "",
        "published_at": None,
    }


def test_create_a_draft(owner: dict[str, str], workflow_owner: User) -> None:
    body = _new(audience="cohorts", cohorts=[], include_followers=True)
    response = send("POST", URL, owner, body, **{"Idempotency-Key": "notice-1"})
    assert response.status_code == 201
    created = ChangeNotice.objects.get(title="Shorter drafts")
    assert response.json()["id"] == created.pk
    assert response.json()["status"] == "draft"
    assert created.created_by == workflow_owner
    assert "<strong>shorter</strong>" in created.body_html
    entry = ActivityEntry.objects.latest("pk")
    assert (entry.verb, entry.note) == ("drafted", "via token CI bot")
    again = send("POST", URL, owner, body, **{"Idempotency-Key": "notice-1"})
    assert again.json() == response.json()
    assert ChangeNotice.objects.filter(title="Shorter drafts").count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"publish_at": "2027-01-04T09:00:00"}, "publish_at", MSG_NAIVE),
        ({"publish_at": 1767000000}, "publish_at", MSG_ISO),
        ({"effective_at": "0001-01-01T00:00:00+05:00"}, "effective_at", MSG_YEAR),
        ({"effective_at": _at(1)}, "effective_at", MSG_EFFECTIVE_BEFORE_PUBLISH),
        (
            {"title": "Two\nlines"},
            "title",
            "Use one line: line breaks and control characters are not allowed.",
        ),
        ({"kind": "rumour"}, "kind", None),
    ],
)
def test_create_refused_by_field_and_nothing_written(
    owner: dict[str, str], change: dict, field: str, message: str | None
) -> None:
    entries = ActivityEntry.objects.count()
    response = send("POST", URL, owner, _new(**change))
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == field
    if message is not None:
        assert error["message"] == message
    assert ChangeNotice.objects.count() == 1
    assert ActivityEntry.objects.count() == entries


def test_cohorts_are_this_workflows_only(
    owner: dict[str, str], ops_leader: User, workflow_owner: User
) -> None:
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="invoice-triage")
    theirs = cohort_create(workflow=other, name="Finance", actor=ops_leader)
    response = send("POST", URL, owner, _new(audience="cohorts", cohorts=[theirs.pk]))
    message = MSG_FOREIGN_COHORTS.format(names="“Finance”")
    assert response.json()["errors"] == [{"field": "cohorts", "message": message}]


def test_update_then_schedule(owner: dict[str, str], parts: Parts) -> None:
    url = f"{URL}/{parts.notice.pk}"
    changed = send("PATCH", url, owner, {"title": "A new signature", "requires_ack": True})
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["requires_ack"]) == ("A new signature", True)
    assert changed.json()["cohorts"] == [parts.cohort.pk]
    scheduled = send("POST", f"{url}/schedule", owner)
    assert scheduled.status_code == 200
    assert scheduled.json()["status"] == "scheduled"
    entry = ActivityEntry.objects.latest("pk")
    assert (entry.verb, entry.note) == ("scheduled", "via token CI bot")
    twice = send("POST", f"{url}/schedule", owner)
    assert (twice.status_code, twice.json()) == (
        400,
        {"detail": MSG_NOT_DRAFT.format(status="scheduled")},
    )


def test_an_urgent_notice_needs_a_reason_and_then_waits_for_an_ops_leader(
    owner: dict[str, str], parts: Parts
) -> None:
    url = f"{URL}/{parts.notice.pk}"
    send("PATCH", url, owner, {"effective_at": _at(2)})
    refused = send("POST", f"{url}/schedule", owner)
    assert refused.status_code == 400
    message = MSG_URGENT_REASON_REQUIRED.format(days=5)
    assert refused.json()["errors"] == [{"field": "urgent_reason", "message": message}]
    parts.notice.refresh_from_db()
    assert parts.notice.status == NoticeStatus.DRAFT
    send("PATCH", url, owner, {"urgent_reason": "The old signature names a departed manager."})
    waiting = send("POST", f"{url}/schedule", owner)
    assert (waiting.json()["status"], waiting.json()["urgent"]) == ("awaiting_approval", True)


def test_a_published_notice_cannot_change(owner: dict[str, str], parts: Parts) -> None:
    ChangeNotice.objects.filter(pk=parts.notice.pk).update(status=NoticeStatus.PUBLISHED)
    response = send("PATCH", f"{URL}/{parts.notice.pk}", owner, {"title": "Late"})
    assert response.status_code == 400
    assert response.json() == {"detail": MSG_PUBLISHED}
    parts.notice.refresh_from_db()
    assert parts.notice.title == "Replies get a new signature"


def test_an_unknown_notice_is_404(owner: dict[str, str]) -> None:
    response = send("POST", f"{URL}/999999/schedule", owner)
    assert (response.status_code, response.json()) == (404, {"detail": MSG_UNKNOWN_NOTICE})

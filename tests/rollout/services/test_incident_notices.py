"""Incidents explain themselves (rule 5's exception): closing publishes the explanation to exactly
the affected cohorts at once — no approval, urgent, logged — and updates posted while it is open
reach those cohorts' inbox. Every other urgent notice still waits for an ops leader."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    NoticeAudience,
    NoticeKind,
    NoticeStatus,
)
from rollout.selectors.inbox import inbox_list_for_user
from rollout.services import incidents as svc
from rollout.services import notices
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.follows import follow
from rollout.services.notice_delivery import notice_deliveries_send
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eu(workflow, workflow_owner):
    return cohort_create(workflow=workflow, name="EU agents", actor=workflow_owner)


@pytest.fixture
def uk(workflow, workflow_owner):
    return cohort_create(workflow=workflow, name="UK agents", actor=workflow_owner)


@pytest.fixture
def amy(eu, workflow_owner):
    person = UserFactory(email="amy@example.com")
    cohort_members_add(cohort=eu, users=[person], actor=workflow_owner)
    return person


@pytest.fixture
def ulla(uk, workflow_owner):
    person = UserFactory(email="ulla@example.com")
    cohort_members_add(cohort=uk, users=[person], actor=workflow_owner)
    return person


@pytest.fixture
def incident(workflow, workflow_owner, eu):
    return svc.incident_open(
        workflow=workflow,
        actor=workflow_owner,
        title="Replies promised refunds",
        started_at=timezone.now() - timedelta(hours=2),
        cohorts=[eu],
    )


def close(incident, actor):
    return svc.incident_close(
        incident=incident,
        actor=actor,
        what_happened="A prompt change made the model offer refunds.",
        what_changed="We rolled the prompt back.",
    )


def inbox_titles(user) -> list[str]:
    return [r.notice.title for r in inbox_list_for_user(user)]


def test_closing_publishes_the_explanation_at_once_to_exactly_the_affected_cohorts(
    workflow, workflow_owner, executive, incident, amy, ulla
):
    follow(workflow=workflow, user=executive)
    incident = close(incident, workflow_owner)
    notice = ChangeNotice.objects.get(incident=incident)
    assert notice.kind == NoticeKind.INCIDENT_EXPLANATION
    assert (notice.status, notice.urgent, notice.approved_by) == (
        NoticeStatus.PUBLISHED,
        True,
        None,
    )
    assert notice.audience == NoticeAudience.COHORTS and not notice.include_followers
    assert [c.name for c in notice.cohorts.all()] == ["EU agents"]
    assert (notice.title, notice.body) == (incident.notice_title, incident.notice_body)
    assert "A prompt change made the model offer refunds." in notice.body
    assert notice.urgent_reason == notices.MSG_INCIDENT_URGENT
    notice_deliveries_send()
    assert inbox_titles(amy) == [incident.notice_title]
    assert inbox_titles(ulla) == [] and inbox_titles(executive) == []
    verbs = set(ActivityEntry.objects.filter(workflow=workflow).values_list("verb", flat=True))
    assert {"closed incident", "published at once, urgent and without approval,"} <= verbs
    assert "published notice" in verbs


def test_the_published_explanation_cannot_be_edited_afterwards(workflow_owner, incident):
    incident = close(incident, workflow_owner)
    notice = ChangeNotice.objects.get(incident=incident)
    with pytest.raises(ApplicationError, match="published"):
        notices.notice_update(notice=notice, actor=workflow_owner, title="Changed")
    with pytest.raises(ApplicationError):
        svc.incident_update_add(incident=incident, actor=workflow_owner, text="Later")


def test_an_update_while_open_reaches_the_affected_inbox(workflow_owner, incident, amy, ulla):
    svc.incident_update_add(
        incident=incident, actor=workflow_owner, text="We found the cause.", publish=True
    )
    svc.incident_update_add(incident=incident, actor=workflow_owner, text="Internal note.")
    notice = ChangeNotice.objects.get(incident=incident)
    assert notice.kind == NoticeKind.INCIDENT_UPDATE
    assert notice.title == "Update on the incident: Replies promised refunds"
    assert "We found the cause." in notice.body and "Internal note." not in notice.body
    assert (notice.status, notice.urgent) == (NoticeStatus.PUBLISHED, True)
    notice_deliveries_send()
    assert inbox_titles(amy) == [notice.title]
    assert inbox_titles(ulla) == []


def test_a_refused_update_posts_nothing(workflow_owner, incident, amy):
    with pytest.raises(ApplicationError):
        svc.incident_update_add(incident=incident, actor=workflow_owner, text=" ", publish=True)
    assert not ChangeNotice.objects.exists()


def test_someone_without_change_rights_cannot_post_an_update(incident, amy):
    with pytest.raises(ApplicationError):
        svc.incident_update_add(incident=incident, actor=amy, text="Hi", publish=True)
    assert not ChangeNotice.objects.exists()


def test_a_hand_written_incident_explanation_still_needs_approval(workflow, workflow_owner, eu):
    now = timezone.now()
    notice = notices.notice_create_scheduled(
        workflow=workflow,
        actor=workflow_owner,
        cohorts=[eu],
        kind=NoticeKind.INCIDENT_EXPLANATION,
        title="About yesterday",
        body="It broke.",
        publish_at=now,
        effective_at=now + timedelta(hours=1),
        urgent_reason="People are asking.",
    )
    assert notice.status == NoticeStatus.AWAITING_APPROVAL and notice.urgent


def test_the_inbox_says_when_it_was_published_not_when_it_takes_effect(
    workflow_owner, incident, amy
):
    from django.urls import reverse

    from tests.rollout.views.conftest import as_user

    close(incident, workflow_owner)
    notice_deliveries_send()
    html = as_user(amy).get(reverse("inbox")).content.decode()
    assert "Incident explanation" in html and "Published" in html
    assert "Takes effect" not in html

"""The calendar's events (rollout/selectors/calendar.py) and its iCalendar feed
(rollout/services/calendar_feed.py), parsed back with the `icalendar` package."""

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from django.utils import timezone

from accounts.models import User
from rollout.models import (
    BlackoutWindow,
    CalendarFeed,
    ChangeNotice,
    NoticeReceipt,
    PromotionRequest,
    Workflow,
)
from rollout.selectors.calendar import calendar_events
from rollout.services import calendar_feed as svc
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.factories import UserFactory, make_workflow
from tests.rollout.promotion_fixtures import make_plan

MARCH = (date(2027, 3, 1), date(2027, 4, 1))


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2027, 3, day, hour, 0, tzinfo=UTC)


def notice(workflow: Workflow, title: str, status: str = "scheduled") -> ChangeNotice:
    return ChangeNotice.objects.create(
        workflow=workflow,
        kind="model_change",
        title=title,
        body="Body",
        publish_at=at(2),
        effective_at=at(10, 14),
        status=status,
    )


@pytest.fixture
def busy_march(workflow: Workflow, ops_leader: User) -> dict:
    phases = make_plan(workflow, current="shadow")
    limited = phases["limited"]
    limited.planned_start, limited.planned_end = date(2027, 3, 15), date(2027, 3, 31)
    limited.save()
    promotion = PromotionRequest.objects.create(
        workflow=workflow,
        from_phase=phases["shadow"],
        to_phase=limited,
        requested_by=workflow.owner,
        scheduled_for=at(15, 8),
        status="approved",
        gate_fingerprint="x",
    )
    Workflow.objects.filter(pk=workflow.pk).update(next_review_due=date(2027, 3, 20))
    blackout = BlackoutWindow.objects.create(
        name="Quarter close", starts_at=at(28, 0), ends_at=at(31, 0), created_by=ops_leader
    )
    return {
        "limited": limited,
        "promotion": promotion,
        "notice": notice(workflow, "New model, “better”; faster, too"),
        "draft": notice(workflow, "Draft only", status="draft"),
        "blackout": blackout,
    }


def test_the_owner_sees_every_kind_of_event_in_time_order(busy_march, workflow_owner):
    events = calendar_events(workflow_owner, start=MARCH[0], end=MARCH[1])
    limited = busy_march["limited"].pk
    assert [(e.uid, e.title) for e in events] == [
        (
            f"notice-{busy_march['notice'].pk}-publish",
            "Support reply drafting: notice “New model, “better”; faster, too” published",
        ),
        (
            f"notice-{busy_march['notice'].pk}-effective",
            "Support reply drafting: “New model, “better”; faster, too” takes effect",
        ),
        (f"phase-{limited}-start", "Support reply drafting: Limited roll-out starts (planned)"),
        (
            f"promotion-{busy_march['promotion'].pk}",
            "Support reply drafting: promotion to Limited roll-out",
        ),
        (
            f"review-{busy_march['limited'].workflow_id}-2027-03-20",
            "Support reply drafting: review due",
        ),
        (f"blackout-{busy_march['blackout'].pk}", "blackout “Quarter close”"),
        (f"phase-{limited}-end", "Support reply drafting: Limited roll-out ends (planned)"),
    ]
    blackout = next(e for e in events if e.kind == "blackout")
    assert blackout.days(*MARCH) == [date(2027, 3, 28), date(2027, 3, 29), date(2027, 3, 30)]


def test_a_stranger_sees_only_org_wide_blackouts(busy_march, other_user):
    events = calendar_events(other_user, start=MARCH[0], end=MARCH[1])
    assert [e.kind for e in events] == ["blackout"]


def test_a_cohort_member_sees_phases_blackouts_and_the_notices_they_received(
    busy_march, workflow: Workflow, workflow_owner: User
):
    member = UserFactory()
    cohort = cohort_create(workflow=workflow, actor=workflow_owner, name="EU", description="")
    cohort_members_add(cohort=cohort, users=[member], actor=workflow_owner)
    ChangeNotice.objects.filter(pk=busy_march["notice"].pk).update(status="published")
    received = notice(workflow, "Yours", status="published")
    NoticeReceipt.objects.create(notice=received, recipient=member)

    events = calendar_events(member, start=MARCH[0], end=MARCH[1])

    assert sorted({e.kind for e in events}) == ["blackout", "notice", "phase"]
    assert {e.uid for e in events if e.kind == "notice"} == {
        f"notice-{received.pk}-publish",
        f"notice-{received.pk}-effective",
    }


def test_queries_are_bounded_whatever_the_number_of_workflows(
    busy_march, ops_leader, django_assert_max_num_queries
):
    for _ in range(5):
        other = make_workflow(actor=ops_leader)
        make_plan(other)
        notice(other, "Another")
    with django_assert_max_num_queries(7):
        events = calendar_events(ops_leader, start=MARCH[0], end=MARCH[1])
    assert len(events) > 10


def test_feed_tokens_are_stored_hashed_replaced_and_revoked(workflow_owner: User):
    feed, token = svc.calendar_feed_create(user=workflow_owner)
    assert feed.token_hash == svc.feed_token_hash(token) != token
    assert svc.calendar_feed_user(token=token) == workflow_owner
    assert CalendarFeed.objects.get().last_used_at is not None

    _, new_token = svc.calendar_feed_create(user=workflow_owner)
    assert svc.calendar_feed_user(token=token) is None
    assert svc.calendar_feed_user(token=new_token) == workflow_owner

    assert svc.calendar_feed_revoke(user=workflow_owner) is True
    assert svc.calendar_feed_revoke(user=workflow_owner) is False
    assert svc.calendar_feed_user(token=new_token) is None


def test_a_deactivated_users_feed_opens_nothing(workflow_owner: User):
    _, token = svc.calendar_feed_create(user=workflow_owner)
    User.objects.filter(pk=workflow_owner.pk).update(is_active=False)
    assert svc.calendar_feed_user(token=token) is None


def test_the_feed_parses_with_stable_uids_dates_and_escaped_summaries(
    busy_march, workflow_owner, settings
):
    settings.SITE_URL = "https://rollout.example.com"
    events = calendar_events(workflow_owner, start=MARCH[0], end=MARCH[1])

    raw = svc.calendar_ical(events, name="Rollout — Owen")
    again = svc.calendar_ical(
        calendar_events(workflow_owner, start=MARCH[0], end=MARCH[1]), name="x"
    )
    parsed = icalendar.Calendar.from_ical(raw)

    assert str(parsed["X-WR-CALNAME"]) == "Rollout — Owen"
    vevents = {str(e["UID"]): e for e in parsed.walk("VEVENT")}
    assert len(vevents) == len(events) == 7
    # Stable UIDs: the same events keep their ids from one refresh to the next.
    assert set(vevents) == {
        str(e["UID"]) for e in icalendar.Calendar.from_ical(again).walk("VEVENT")
    }
    limited = busy_march["limited"].pk
    start = vevents[f"phase-{limited}-start@rollout.example.com"]
    assert start.decoded("DTSTART") == date(2027, 3, 15)
    assert start.decoded("DTEND") == date(2027, 3, 16)
    assert str(start["URL"]) == "https://rollout.example.com/workflows/support-reply-drafting/"

    blackout = vevents[f"blackout-{busy_march['blackout'].pk}@rollout.example.com"]
    assert blackout.decoded("DTSTART") == at(28, 0)
    assert blackout.decoded("DTEND") == at(31, 0)

    effective = vevents[f"notice-{busy_march['notice'].pk}-effective@rollout.example.com"]
    assert effective.decoded("DTSTART") == at(10, 14)
    assert "DTEND" not in effective  # a moment in time (RFC 5545: zero length)
    # Commas and semicolons are escaped on the wire and come back intact.
    assert b"better\xe2\x80\x9d\\; faster\\, too" in raw
    assert str(effective["SUMMARY"]) == (
        "Support reply drafting: “New model, “better”; faster, too” takes effect"
    )


def test_an_empty_feed_is_still_a_valid_calendar(other_user):
    today = date(2027, 3, 1)
    events = calendar_events(other_user, start=today, end=today + timedelta(days=30))
    parsed = icalendar.Calendar.from_ical(svc.calendar_ical(events, name="Empty"))
    assert parsed["VERSION"] == "2.0"
    assert list(parsed.walk("VEVENT")) == []


def test_notice_events_link_to_the_notice_or_the_inbox(db):
    from django.urls import reverse

    from rollout.selectors.calendar import calendar_events
    from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
    from tests.rollout.notice_fixtures import make_notice, make_scene

    scene = make_scene()
    notice = make_notice(scene)
    notices_publish_due()
    notice_deliveries_send()
    today = timezone.localdate()

    def notice_urls(user):
        events = calendar_events(
            user, start=today - timedelta(days=1), end=today + timedelta(days=10)
        )
        return {e.url for e in events if e.kind == "notice"}

    detail = reverse("notice_detail", kwargs={"slug": scene.workflow.slug, "notice_id": notice.pk})
    assert notice_urls(scene.owner) == {detail}
    assert notice_urls(scene.amy) == {reverse("inbox")}

"""The iCalendar feed carries instants in UTC (…Z), so every calendar app converts them to its
own zone: whatever zone the person or the organisation reads Rollout in, the instants hold."""

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.utils import timezone

from accounts.models import Organisation, User
from rollout.models import BlackoutWindow, ChangeNotice, NoticeStatus, Workflow
from rollout.services.calendar_feed import calendar_feed_create

pytestmark = pytest.mark.django_db


def _instant(days: int, hour: int, minute: int) -> datetime:
    day = timezone.now().astimezone(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


@pytest.mark.parametrize("reader_zone", ["Asia/Tokyo", "America/New_York", ""])
def test_the_feeds_instants_are_utc_whatever_zone_people_read_in(
    client, workflow: Workflow, workflow_owner: User, ops_leader: User, reader_zone: str
):
    Organisation.objects.create(pk=1, default_time_zone="Pacific/Auckland")
    workflow_owner.time_zone = reader_zone
    workflow_owner.save(update_fields=["time_zone"])
    publish, effective = _instant(3, 23, 45), _instant(10, 7, 30)
    notice = ChangeNotice.objects.create(
        workflow=workflow,
        kind="prompt_change",
        title="Shorter drafts",
        body="b",
        body_html="<p>b</p>",
        status=NoticeStatus.SCHEDULED,
        publish_at=publish,
        effective_at=effective,
        created_by=workflow_owner,
    )
    window_start, window_end = _instant(20, 22, 0), _instant(22, 6, 15)
    BlackoutWindow.objects.create(
        name="Peak season",
        starts_at=window_start,
        ends_at=window_end,
        created_by=ops_leader,
    )
    _, token = calendar_feed_create(user=workflow_owner)
    client.force_login(workflow_owner)  # a signed-in calendar app changes nothing either

    response = client.get(f"/calendar/feed/{token}.ics")

    assert response.status_code == 200
    body = response.content.decode()
    events = {
        str(e["UID"]).split("@")[0]: e
        for e in icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    }
    published = events[f"notice-{notice.pk}-publish"]["DTSTART"].dt
    takes_effect = events[f"notice-{notice.pk}-effective"]["DTSTART"].dt
    [blackout] = [e for uid, e in events.items() if uid.startswith("blackout")]
    assert (published, takes_effect) == (publish, effective)
    assert (blackout["DTSTART"].dt, blackout["DTEND"].dt) == (window_start, window_end)
    for moment in (published, takes_effect, blackout["DTSTART"].dt, blackout["DTEND"].dt):
        assert moment.utcoffset() == timedelta(0)
    # Written as UTC (…Z): no floating times, no TZID without its VTIMEZONE.
    assert f"DTSTART:{publish:%Y%m%dT%H%M%S}Z" in body.replace("\r\n", "\n")
    assert "TZID" not in body

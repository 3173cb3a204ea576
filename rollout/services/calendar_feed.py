"""A person's private iCalendar feed: the URL carries a token, which is the only credential (a
calendar app cannot sign in). Only the token's SHA-256 is stored, so the full URL exists once, in
what `calendar_feed_create` returns: the page shows it right after creation and never again.
Regenerating replaces the token (the old URL stops working); revoking deletes it."""

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta

import icalendar
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from rollout.models import CalendarFeed
from rollout.selectors.calendar import CalendarEvent

# last_used_at is written at most this often: calendar apps poll, a write per poll is waste.
LAST_USED_PRECISION = timedelta(hours=1)
PRODID = "-//Rollout//Calendar feed//EN"


def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, user: User) -> tuple[CalendarFeed, str]:
    """A new feed token for the user, replacing any earlier one. Returns the feed and the token
    (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.filter(user=user).delete()
    feed = CalendarFeed(user=user, token_hash=feed_token_hash(token))
    feed.full_clean()
    feed.save()
    return feed, token


def calendar_feed_revoke(*, user: User) -> bool:
    """Stop the user's feed URL working. Returns whether there was one."""
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    return bool(deleted)


def calendar_feed_user(*, token: str) -> User | None:
    """The active user whose feed this token opens, or None (unknown, revoked, deactivated)."""
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_hash=feed_token_hash(token), user__is_active=True)
        .first()
    )
    if feed is None:
        return None
    now = timezone.now()
    if feed.last_used_at is None or feed.last_used_at < now - LAST_USED_PRECISION:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user


def calendar_ical(events: list[CalendarEvent], *, name: str) -> bytes:
    """The events as an iCalendar (RFC 5545) document. All-day events get DTSTART/DTEND dates
    (DTEND exclusive); moments in time get a DTSTART only, which RFC 5545 reads as zero length."""
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "rollout"
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    stamp = timezone.now()
    for event in events:
        vevent = icalendar.Event()
        vevent.add("uid", f"{event.uid}@{host}")
        vevent.add("dtstamp", stamp)
        vevent.add("summary", event.title)
        vevent.add("categories", [event.kind])
        vevent.add("url", f"{settings.SITE_URL}{event.url}")
        # In UTC: no VTIMEZONE needed, every calendar app shows it in its own zone.
        vevent.add("dtstart", event.start if event.all_day else event.start.astimezone(UTC))
        if event.all_day:
            last = event.end or event.start
            assert isinstance(last, date)
            vevent.add("dtend", last + timedelta(days=1))
        elif event.end is not None:
            assert isinstance(event.end, datetime)
            vevent.add("dtend", event.end.astimezone(UTC))
        cal.add_component(vevent)
    return cal.to_ical()

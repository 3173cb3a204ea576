"""The calendar page (month grid and agenda), its private iCalendar feed, and the feed's URL."""

import calendar as pycalendar
import re
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.selectors.calendar import CalendarEvent, calendar_events, calendar_feed_get_for_user
from rollout.services import calendar_feed as feed_services

FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 365
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
DAY_SHOWN = 3  # events in a day's square of the grid; the agenda lists them all
AGENDA_PER_PAGE = 50

MSG_BAD_MONTH = "“{value}” is not a month: use the form YYYY-MM, e.g. {example}. Showing {shown}."
MSG_FEED_REVOKED = "Revoked your calendar feed. Calendar apps using it get nothing from now on."
MSG_NO_FEED = "You have no calendar feed to revoke."


def _parse_month(value: str | None, today: date) -> tuple[date, str]:
    """The first day of the asked-for month, and an error for people (empty if none)."""
    this_month = today.replace(day=1)
    if not value:
        return this_month, ""
    match = MONTH_PATTERN.match(value)
    if match:
        year, month = int(match[1]), int(match[2])
        if 1900 <= year <= 2200 and 1 <= month <= 12:
            return date(year, month, 1), ""
    error = MSG_BAD_MONTH.format(
        value=value[:20], example=this_month.strftime("%Y-%m"), shown=this_month.strftime("%B %Y")
    )
    return this_month, error


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_context(
    month: date, today: date, events: list[CalendarEvent], params: QueryDict
) -> dict:
    """Weeks (Monday first) of days with their first DAY_SHOWN events (and how many more), and
    the agenda: the month's days with events, in order, AGENDA_PER_PAGE events a page."""
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    start, end = weeks[0][0], weeks[-1][-1] + timedelta(days=1)
    by_day: dict[date, list[CalendarEvent]] = {}
    for event in events:
        for day in event.days(start, end):
            by_day.setdefault(day, []).append(event)
    entries = [
        (day, event) for day in sorted(by_day) if day.month == month.month for event in by_day[day]
    ]
    page = paginate(entries, params, per_page=AGENDA_PER_PAGE)
    # The agenda page on which each day of the month begins: where a day's "more" link goes.
    first_page: dict[date, int] = {}
    for index, (day, _event) in enumerate(entries):
        first_page.setdefault(day, index // AGENDA_PER_PAGE + 1)
    agenda: dict[date, list[CalendarEvent]] = {}
    for day, event in page["page_obj"].object_list:
        agenda.setdefault(day, []).append(event)
    return {
        **page,
        "weeks": [
            [
                {
                    "date": day,
                    "in_month": day.month == month.month,
                    "is_today": day == today,
                    "events": by_day.get(day, [])[:DAY_SHOWN],
                    "count": len(by_day.get(day, [])),
                    "more": max(len(by_day.get(day, [])) - DAY_SHOWN, 0),
                    "agenda_page": first_page.get(day),
                }
                for day in week
            ]
            for week in weeks
        ],
        "agenda": list(agenda.items()),
        "weekday_names": [pycalendar.day_abbr[i] for i in range(7)],
    }


def _page_context(request: HtmxHttpRequest, month: date, today: date) -> dict:
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    start, end = weeks[0][0], weeks[-1][-1] + timedelta(days=1)
    events = calendar_events(request.user, start=start, end=end)
    context = _month_context(month, today, events, request.GET)
    context.update(
        month=month,
        previous_month=_shift(month, -1).strftime("%Y-%m"),
        next_month=_shift(month, 1).strftime("%Y-%m"),
        this_month=today.strftime("%Y-%m"),
        is_this_month=month == today.replace(day=1),
        feed=calendar_feed_get_for_user(request.user),
        feed_url=None,
    )
    return context


@require_GET
def calendar(request: HtmxHttpRequest) -> HttpResponse:
    """What is coming up for the workflows I can see, one month at a time (?month=YYYY-MM)."""
    today = timezone.localdate()
    month, error = _parse_month(request.GET.get("month"), today)
    context = _page_context(request, month, today)
    context["month_error"] = error
    return render(request, "rollout/calendar.html", context)


# never_cache: the response to a creation carries the feed's address, which no cache may keep.
@never_cache
@require_POST
def calendar_feed_token(request: HtmxHttpRequest) -> HttpResponse:
    """Named actions: `create` (also regenerates: the old address stops working) shows the new
    address on this response, once; `revoke` deletes it."""
    action = request.POST.get("action")
    feed_url = None
    if action == "revoke":
        revoked = feed_services.calendar_feed_revoke(user=request.user)
        if not request.htmx:
            if revoked:
                messages.success(request, MSG_FEED_REVOKED)
            else:
                messages.info(request, MSG_NO_FEED)
            return redirect("calendar")
    elif action == "create":
        _feed, token = feed_services.calendar_feed_create(user=request.user)
        feed_url = request.build_absolute_uri(reverse("calendar_feed", kwargs={"token": token}))
    else:
        raise Http404("No such action.")
    if request.htmx:
        feed = calendar_feed_get_for_user(request.user)
        context = {"feed": feed, "feed_url": feed_url}
        return render(request, "rollout/calendar.html#feed-panel", context)
    today = timezone.localdate()
    context = _page_context(request, today.replace(day=1), today)
    context.update(feed_url=feed_url, month_error="")
    return render(request, "rollout/calendar.html", context)


@login_not_required  # the secret token in the address is the feed's authentication
@never_cache
@require_GET
def calendar_feed(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed. No sign-in: the token in the address is the credential, so an unknown
    or revoked one is a 404, like a page that does not exist."""
    user = feed_services.calendar_feed_user(token=token)
    if user is None:
        raise Http404("No such calendar feed.")
    today = timezone.localdate()
    events = calendar_events(
        user,
        start=today - timedelta(days=FEED_PAST_DAYS),
        end=today + timedelta(days=FEED_FUTURE_DAYS),
    )
    body = feed_services.calendar_ical(events, name=f"Rollout — {user.display_name}")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="rollout.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response

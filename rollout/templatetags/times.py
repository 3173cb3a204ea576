"""Template filters for instants: ``{% load times %}`` then ``{{ when|age }}`` ("3d") in dense
lists — templates/rollout/_age.html wraps it with the full time in the reader's zone — or
``{{ when|ago }}`` ("5 minutes ago", "just now") in a sentence."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from core.dates import short_age

register = template.Library()


@register.filter
def age(when: datetime | None) -> str:
    """An aware datetime → how long ago, shortly ("5h"); "" for None."""
    if when is None:
        return ""
    return short_age(timezone.now() - when)


JUST_NOW_SECONDS = 60


@register.filter
def ago(when: datetime | None) -> str:
    """An aware datetime → "just now" within the minute, else "3 hours, 5 minutes ago" (Django's
    timesince, which would say "0 minutes"); "" for None."""
    if when is None:
        return ""
    if (timezone.now() - when).total_seconds() < JUST_NOW_SECONDS:
        return "just now"
    return f"{timesince(when)} ago"

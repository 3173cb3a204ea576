"""Template filters for instants in dense lists: ``{% load times %}`` then ``{{ when|age }}``
("3d"). templates/rollout/_age.html wraps it with the full time in the reader's zone."""

from datetime import datetime

from django import template
from django.utils import timezone

from core.dates import short_age

register = template.Library()


@register.filter
def age(when: datetime | None) -> str:
    """An aware datetime → how long ago, shortly ("5h"); "" for None."""
    if when is None:
        return ""
    return short_age(timezone.now() - when)

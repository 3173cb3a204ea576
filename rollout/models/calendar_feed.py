"""A person's private iCalendar feed of the change notices they may see."""

from django.conf import settings
from django.db import models


class CalendarFeed(models.Model):
    """A person's private iCalendar feed URL. Only the token's SHA-256 is stored; revoking
    deletes the row and a new URL can be made."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

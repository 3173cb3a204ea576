from django.conf import settings
from django.db import models

from accounts.models import EmailCategory


class Notification(models.Model):
    """A message from Rollout to one person (a threshold alert, a pause on breach), shown on their
    home page and, if they want that kind of email, emailed. Change notices to cohorts are a
    different thing."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, max_length=4000)
    url = models.CharField(max_length=300, blank=True)
    # A link for the email only, never shown in the app: an approval request's signed link for
    # this recipient (rollout.selectors.approval_links). Site-relative, like `url`.
    email_link = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The kind of email it goes out as, decided when it is made (the person wanted it then);
    # empty: in the app only. Never set later, so turning a category on sends nothing old.
    email_category = models.CharField(
        max_length=20, choices=EmailCategory.choices, blank=True, default=""
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Why the email was given up (a header Django refuses, an address refused for good): it is
    # not tried again. Empty while it is sent or still to be sent.
    email_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.title

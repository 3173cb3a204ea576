"""Feedback from the people who use a workflow: a report on one output, triaged by the owner."""

from django.conf import settings
from django.db import models

from rollout.models.severity import Severity


class FeedbackRating(models.TextChoices):
    HELPFUL = "helpful", "Helpful"
    NOT_HELPFUL = "not_helpful", "Not helpful"


class FeedbackCategory(models.TextChoices):
    WRONG_OUTPUT = "wrong_output", "Wrong output"
    HARMFUL = "harmful", "Harmful or unsafe"
    SLOW = "slow", "Slow"
    CONFUSING = "confusing", "Confusing"
    MISSING_CAPABILITY = "missing_capability", "Missing capability"
    PRAISE = "praise", "Praise"
    OTHER = "other", "Other"


class FeedbackStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"
    WONT_FIX = "wont_fix", "Won't fix"


OPEN_FEEDBACK = (FeedbackStatus.NEW, FeedbackStatus.ACKNOWLEDGED, FeedbackStatus.IN_PROGRESS)


class Feedback(models.Model):
    """One person's report on an output. `author` is None when the AI tool reported it for someone
    Rollout does not know (`user_ref` keeps who they are); `cohort` is the author's cohort then."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="feedback"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="feedback_given",
    )
    user_ref = models.CharField(max_length=254, blank=True)
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rating = models.CharField(max_length=12, choices=FeedbackRating.choices)
    category = models.CharField(max_length=20, choices=FeedbackCategory.choices)
    text = models.TextField(max_length=4000, blank=True)
    event_id = models.UUIDField("usage event", null=True, blank=True)
    source = models.CharField(
        max_length=10, choices=[("form", "Form"), ("api", "AI tool")], default="form"
    )
    status = models.CharField(
        max_length=12, choices=FeedbackStatus.choices, default=FeedbackStatus.NEW
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="feedback_assigned",
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )
    notify_by_email = models.BooleanField(
        default=True, help_text="Email the author when its status changes."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workflow", "status"], name="feedback_wf_status"),
            models.Index(fields=["workflow", "created_at"], name="feedback_wf_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_rating_display()}: {self.get_category_display()}"


class FeedbackVote(models.Model):
    """ "Me too": one per person per feedback."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notify_by_email = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feedback", "user"], name="feedback_vote_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.feedback_id}"


class FeedbackComment(models.Model):
    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.feedback_id}"

"""Output reviews (issue 18 §2): AI outputs picked for review at a cohort's `sample` level, graded
by the workflow's owner or the reviewers the owner names.

Not the quarterly reviews of rollout.models.review. The excerpt is copied from the `invocation`
event's `attrs.output` (which the events table never keeps) and deleted a set number of days
after grading (settings.ROLLOUT_REVIEW_EXCERPT_DAYS, rollout.services.retention); the grade stays.
"""

from django.conf import settings
from django.db import models

MAX_EXCERPT = 1000


class OutputGrade(models.TextChoices):
    CORRECT = "correct", "Correct"
    MINOR = "minor", "Minor issue"
    WRONG = "wrong", "Wrong"
    HARMFUL = "harmful", "Harmful"


# The reviewed error rate counts these as errors: (wrong + harmful) ÷ graded.
ERROR_GRADES = (OutputGrade.WRONG, OutputGrade.HARMFUL)


class OutputReview(models.Model):
    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="output_reviews"
    )
    event_id = models.UUIDField()
    cohort = models.ForeignKey(
        "rollout.Cohort",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="output_reviews",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user_ref = models.CharField(max_length=254)
    occurred_at = models.DateTimeField()
    # The output's text (≤ MAX_EXCERPT characters) or an https link; "" once retention deleted it.
    excerpt = models.TextField(blank=True, max_length=MAX_EXCERPT)
    created_at = models.DateTimeField()
    grade = models.CharField(max_length=8, choices=OutputGrade.choices, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    graded_at = models.DateTimeField(null=True, blank=True)
    excerpt_deleted_at = models.DateTimeField(null=True, blank=True)
    escalation = models.ForeignKey(
        "rollout.Escalation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            # Idempotent with the event: a batch sent twice creates the item once.
            models.UniqueConstraint(fields=["workflow", "event_id"], name="output_review_once"),
            models.CheckConstraint(
                condition=models.Q(grade="") | models.Q(graded_at__isnull=False),
                name="output_review_graded_at",
            ),
        ]
        indexes = [
            models.Index(fields=["workflow", "graded_at"], name="output_review_graded"),
            models.Index(fields=["workflow", "grade", "occurred_at"], name="output_review_queue"),
        ]

    def __str__(self) -> str:
        return f"Output {self.event_id} of {self.workflow}"

    @property
    def is_link(self) -> bool:
        return self.excerpt.startswith("https://")


class OutputReviewer(models.Model):
    """A person the owner named to grade a workflow's sampled outputs."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="output_reviewers"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="output_reviewer_of"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "user__display_name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "user"], name="output_reviewer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} reviews {self.workflow}"

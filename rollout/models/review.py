"""Reviews: the recurring (quarterly) health review of a workflow by its owner (PRODUCT.md
"Review"). A review freezes a snapshot of the metrics when it starts, collects the owner's
re-attestation item by item, records the decisions taken and, when completed, sets the next due
date. Reminders of a due review are rows of their own, one per (workflow, due date, kind), so a
scheduler that runs twice or late never sends one twice.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ReviewStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class Review(models.Model):
    """One review. `snapshot` is written once, when the review starts, and never changed: it is
    what the numbers said at that moment, whatever data arrives later. `period_start` is where
    "since the last review" begins (the last completed review's start, or the workflow's
    creation)."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="reviews"
    )
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.IN_PROGRESS
    )
    due_date = models.DateField("was due", null=True, blank=True)
    period_start = models.DateTimeField()
    snapshot = models.JSONField(default=dict)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField()
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True, max_length=4000)
    next_due = models.DateField("next review due", null=True, blank=True)
    outcome_notice = models.ForeignKey(
        "rollout.ChangeNotice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One review in progress per workflow: two people starting one at once get one.
            models.UniqueConstraint(
                fields=["workflow"],
                condition=Q(status="in_progress"),
                name="review_one_in_progress",
            ),
        ]

    def __str__(self) -> str:
        return f"Review of {self.workflow_id} started {self.started_at:%Y-%m-%d}"


class AttestationItem(models.TextChoices):
    OWNER = "owner", "Owner"
    THRESHOLD = "threshold", "Threshold"
    ESCALATION_LEVEL = "escalation_level", "Escalation level"
    DATA_SOURCE = "data_source", "Data source"
    READINESS = "readiness", "Readiness answers"


class AttestationAnswer(models.TextChoices):
    HOLDS = "holds", "Holds"
    CHANGED = "changed", "Changed"


class ThresholdFit(models.TextChoices):
    KEPT = "kept", "Kept"
    TIGHTENED = "tightened", "Tightened"
    LOOSENED = "loosened", "Loosened"


class ReviewAttestation(models.Model):
    """One item the owner re-attests: the owner, a threshold, an escalation level, a data source,
    the readiness answers. `label` is the item as it stood when the review started; `flag` is
    what Rollout found by itself (an inactive contact)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="attestations")
    item = models.CharField(max_length=20, choices=AttestationItem.choices)
    item_key = models.CharField(max_length=20, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=400)
    flag = models.CharField(max_length=200, blank=True)
    answer = models.CharField(max_length=8, choices=AttestationAnswer.choices, blank=True)
    threshold_fit = models.CharField(max_length=10, choices=ThresholdFit.choices, blank=True)
    what_changed = models.TextField("what changed", blank=True, max_length=2000)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["review", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "item", "item_key"], name="review_attestation_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()}: {self.label}"


class DecisionKind(models.TextChoices):
    CONTINUE = "continue", "Continue as is"
    EXPAND = "expand", "Expand to the next phase"
    HOLD = "hold", "Hold the current phase"
    PAUSE = "pause", "Pause the roll-out"
    ROLL_BACK = "roll_back", "Roll back a phase"
    RETIRE = "retire", "Retire the workflow"


class ReviewDecision(models.Model):
    """A decision taken in a review, with its written rationale. An expansion links the
    promotion request it opened (the usual gate and approvals decide whether it happens)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=10, choices=DecisionKind.choices)
    rationale = models.TextField(max_length=4000)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()
    promotion_request = models.ForeignKey(
        "rollout.PromotionRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["review", "decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.review_id})"


class ReminderKind(models.TextChoices):
    DAYS_14 = "days_14", "14 days before"
    DAYS_3 = "days_3", "3 days before"
    DUE_DAY = "due_day", "On the due day"
    OVERDUE = "overdue", "Overdue (to ops leaders)"


class ReminderOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped (a later reminder was due)"


class ReviewReminder(models.Model):
    """One reminder of one due date: sent, or skipped because the scheduler was down and a later
    one was already due. The unique constraint makes each reminder happen at most once."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    due_date = models.DateField()
    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    outcome = models.CharField(max_length=8, choices=ReminderOutcome.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["workflow", "due_date", "at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "due_date", "kind"], name="review_reminder_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.due_date} {self.kind}: {self.outcome}"

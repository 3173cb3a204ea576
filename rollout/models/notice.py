"""Change notices: announced ahead of time to exactly the people affected, delivered once per
recipient and channel, read and acknowledged (PRODUCT.md "Change notice", rules 5, 6 and 10)."""

from django.conf import settings
from django.db import models

from core.text import refuse_control_characters


class NoticeKind(models.TextChoices):
    MODEL_CHANGE = "model_change", "Model change"
    PROMPT_CHANGE = "prompt_change", "Prompt change"
    NEW_PHASE = "new_phase", "New phase"
    COHORT_ENROLMENT = "cohort_enrolment", "Cohort enrolment"
    INCIDENT_EXPLANATION = "incident_explanation", "Incident explanation"
    INCIDENT_UPDATE = "incident_update", "Incident update"
    REVIEW_OUTCOME = "review_outcome", "Review outcome"
    OTHER = "other", "Other"


class NoticeAudience(models.TextChoices):
    COHORTS = "cohorts", "Chosen cohorts"
    EVERYONE = "everyone", "Everyone in scope of the workflow"


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Waiting for approval (urgent)"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
    CANCELLED = "cancelled", "Cancelled"


class ChangeNotice(models.Model):
    """One announcement. `body_html` is the Markdown body rendered and sanitised when saved (no
    script ever gets through); recipients are resolved at publish time and re-checked at send."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    title = models.CharField(max_length=200, validators=[refuse_control_characters])
    body = models.TextField("body (Markdown)", max_length=20000)
    body_html = models.TextField(blank=True)
    audience = models.CharField(
        max_length=10, choices=NoticeAudience.choices, default=NoticeAudience.COHORTS
    )
    cohorts = models.ManyToManyField("rollout.Cohort", blank=True, related_name="notices")
    include_followers = models.BooleanField(
        "also send to followers", default=True, help_text="People who follow the workflow."
    )
    publish_at = models.DateTimeField("publish at")
    effective_at = models.DateTimeField("effective at")
    requires_ack = models.BooleanField("acknowledgement required", default=False)
    reminder_hours = models.PositiveSmallIntegerField(
        "remind before effective (hours)",
        null=True,
        blank=True,
        help_text="Remind those who have not acknowledged this long before it takes effect.",
    )
    status = models.CharField(
        max_length=20, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT
    )
    urgent = models.BooleanField(default=False)
    urgent_reason = models.TextField(blank=True, max_length=2000)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        "rollout.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Once its receipts are past the organisation's retention (rollout.services.retention), the
    # counts per cohort they made, kept in their place: {"rows": [{label, is_followers, …}]}.
    kept_counts = models.JSONField(null=True, blank=True, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Rule 10: why it is held (a blackout window created over it, named with its end), or "".
    # Set and cleared by the run that finds it due; its owner is told when it is set.
    blocked_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-publish_at", "-id"]
        indexes = [
            models.Index(fields=["status", "publish_at"], name="notice_due"),
            models.Index(fields=["workflow", "status"], name="notice_wf_status"),
        ]

    def __str__(self) -> str:
        return self.title


class NoticeReceipt(models.Model):
    """One recipient of a published notice: whether they read and acknowledged it."""

    notice = models.ForeignKey(ChangeNotice, on_delete=models.CASCADE, related_name="receipts")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_receipts"
    )
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "recipient"], name="notice_receipt_once"),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notice_receipt_unread")]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.recipient_id}"


class DeliveryChannel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # Email only: claimed by a sender, not tried yet (rollout.services.notice_delivery).
    QUEUED = "queued", "Queued"
    # Email only: its attempt has begun (the message is on its way to the mail server); a crash
    # before "sent" leaves it here, and it is never re-sent automatically
    # (rollout.services.notice_delivery explains why). At most one per sender at a time.
    SENDING = "sending", "Sending"
    SENT = "sent", "Delivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (no longer in the audience)"


class NoticeDelivery(models.Model):
    """One notice to one recipient on one channel (rule 6: exactly once). Claimed with
    SELECT … FOR UPDATE SKIP LOCKED, sent, then marked sent; a retry finds it sent.
    `sent_at` is when it was sent; on a sending or failed row, when the last attempt began; on a
    queued one, when it was claimed."""

    notice = models.ForeignKey(ChangeNotice, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=DeliveryChannel.choices)
    kind = models.CharField(
        max_length=10, default="notice", choices=[("notice", "Notice"), ("reminder", "Reminder")]
    )
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "recipient", "channel", "kind"], name="notice_delivery_once"
            ),
        ]
        indexes = [
            # The sender's "oldest due rows of a channel first", read in order: no sort of every
            # pending row for each group it claims.
            models.Index(
                fields=["status", "channel", "created_at", "id"], name="notice_delivery_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.recipient_id} ({self.channel}, {self.status})"

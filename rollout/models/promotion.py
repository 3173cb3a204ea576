from django.conf import settings
from django.db import models


class PromotionStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved, scheduled"
    EXECUTED = "executed", "Done"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    LAPSED = "lapsed", "Lapsed (its gate changed)"
    FAILED = "failed", "Could not run"


OPEN_PROMOTION = (PromotionStatus.PENDING, PromotionStatus.APPROVED)


class PromotionRequest(models.Model):
    """A request to move a workflow from one phase to the next, approved against one exact gate.

    `gate_fingerprint` is a digest of the gate's conditions and inputs at request time; approvals
    record the fingerprint they saw, and the promotion runs only while it is unchanged.
    """

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="promotion_requests"
    )
    from_phase = models.ForeignKey("rollout.Phase", on_delete=models.CASCADE, related_name="+")
    to_phase = models.ForeignKey("rollout.Phase", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True, max_length=2000)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=PromotionStatus.choices, default=PromotionStatus.PENDING
    )
    gate_snapshot = models.JSONField(default=list)
    gate_fingerprint = models.CharField(max_length=64)
    override_reason = models.TextField(blank=True, max_length=2000)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Rule 10: why it is held (a blackout window created over it, named with its end), or "".
    # Set and cleared by the run that finds it due; its owner is told when it is set.
    blocked_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request per workflow at a time.
            models.UniqueConstraint(
                fields=["workflow"],
                condition=models.Q(status__in=[PromotionStatus.PENDING, PromotionStatus.APPROVED]),
                name="promotion_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow}: {self.from_phase.kind} → {self.to_phase.kind}"


class PromotionApproval(models.Model):
    request = models.ForeignKey(
        PromotionRequest, on_delete=models.CASCADE, related_name="approvals"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    gate_fingerprint = models.CharField(max_length=64)
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="approval_once_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.approver} approved {self.request}"

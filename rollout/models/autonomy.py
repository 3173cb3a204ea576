"""Autonomy change requests: moving an enrolment down the review ladder (every → sample → none),
gated and approved like a promotion (rollout.models.promotion), against one exact gate.

Moving up (more review) is not a request: it happens at once and is only recorded.
"""

from django.conf import settings
from django.db import models

from rollout.models.cohort import ReviewLevel
from rollout.models.promotion import PromotionStatus

# The same life cycle as a promotion; an autonomy change is never scheduled, so never APPROVED
# while waiting, and never FAILED.
AutonomyStatus = PromotionStatus
OPEN_AUTONOMY = (PromotionStatus.PENDING,)


class AutonomyRequest(models.Model):
    """`gate_fingerprint` digests the gate's inputs at request time (rollout.gates.autonomy);
    approvals record the fingerprint they saw, and the change runs only while it is unchanged."""

    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, related_name="autonomy_requests"
    )
    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="autonomy_requests"
    )
    from_level = models.CharField(max_length=6, choices=ReviewLevel.choices)
    to_level = models.CharField(max_length=6, choices=ReviewLevel.choices)
    sample_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True, max_length=2000)
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

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort"],
                condition=models.Q(status=PromotionStatus.PENDING),
                name="autonomy_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cohort}: {self.from_level} → {self.to_level}"

    @property
    def label(self) -> str:
        to = ReviewLevel(self.to_level).label.lower()
        if self.to_level == ReviewLevel.SAMPLE and self.sample_rate:
            to = f"{self.sample_rate}% sampled after the fact"
        return f"{ReviewLevel(self.from_level).label} → {to}"


class AutonomyApproval(models.Model):
    request = models.ForeignKey(AutonomyRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    gate_fingerprint = models.CharField(max_length=64)
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="autonomy_approval_once"),
        ]

    def __str__(self) -> str:
        return f"{self.approver} approved {self.request}"

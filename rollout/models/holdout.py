"""Outcome holdouts (issue 18 §1): who is kept on the old process, and since when.

A cohort's `holdout_percentage` (rollout.models.cohort) keeps a hashed slice of the members
inside its enrolment percentage on the old process (rollout.selectors.decision). Comparing
outcomes needs the arm each person was in at any past moment, so every change of a cohort's
enrolment, percentage or holdout is kept as an `EnrolmentSetting` from its time on, and every
person moved out of the holdout as a `HoldoutRelease`.
"""

from django.conf import settings
from django.db import models


class Arm(models.TextChoices):
    """The arm an outcome is stamped with: the AI, or the holdout (the old process)."""

    AI = "ai", "AI"
    HOLDOUT = "holdout", "Holdout"


class EnrolmentSetting(models.Model):
    """A cohort's enrolment as it stood from `effective_at` until its next setting: the phase it
    was enrolled at ("" = not enrolled), the percentage and the holdout percentage."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, related_name="enrolment_settings"
    )
    effective_at = models.DateTimeField()
    enrolled_phase = models.CharField(max_length=10, blank=True)
    percentage = models.PositiveSmallIntegerField()
    holdout_percentage = models.PositiveSmallIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["cohort", "effective_at", "id"]
        indexes = [
            models.Index(fields=["workflow", "effective_at"], name="enrolment_setting_wf_time")
        ]

    def __str__(self) -> str:
        phase = self.enrolled_phase or "not enrolled"
        return f"{self.cohort_id} from {self.effective_at:%Y-%m-%d %H:%M}: {phase}"


class HoldoutRelease(models.Model):
    """A person moved out of a cohort's holdout: from `released_at` on they are treated as any
    other member inside the percentage (live, and in the AI arm)."""

    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, related_name="holdout_releases"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    released_at = models.DateTimeField()
    reason = models.TextField(max_length=2000)

    class Meta:
        ordering = ["-released_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "user"], name="holdout_release_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} released from the holdout of {self.cohort_id}"

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.text import refuse_control_characters


class EnrolmentPhase(models.TextChoices):
    LIMITED = "limited", "Limited roll-out"
    BROAD = "broad", "Broad roll-out"


class ReviewLevel(models.TextChoices):
    """The autonomy ladder (issue 18 §2), from most review to least."""

    EVERY = "every", "Every output reviewed"
    SAMPLE = "sample", "A sample reviewed after the fact"
    NONE = "none", "No review"


# Down the ladder is less review: every → sample → none.
LADDER = (ReviewLevel.EVERY, ReviewLevel.SAMPLE, ReviewLevel.NONE)
MIN_SAMPLE_RATE_PERCENT = 1
MAX_SAMPLE_RATE_PERCENT = 50


class Cohort(models.Model):
    """A named group of users of one workflow, optionally enrolled at the limited or broad phase.

    Enrolled cohorts get live output once their phase has started (and keep it in later phases);
    `percentage` lets a stable slice of the members in (see rollout.selectors.decision);
    `holdout_percentage` keeps an independent, stable slice of those on the old process (the
    control group of outcome comparisons, rollout.models.holdout).
    """

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="cohorts"
    )
    name = models.CharField(max_length=120, validators=[refuse_control_characters])
    description = models.TextField(blank=True, max_length=2000)
    enrolled_phase = models.CharField(
        "enrolled at", max_length=10, choices=EnrolmentPhase.choices, blank=True
    )
    percentage = models.PositiveSmallIntegerField(
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Share of the members who get it (1–100). Raising it keeps everyone already in.",
    )
    holdout_percentage = models.PositiveSmallIntegerField(
        "holdout",
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text="Share of the members inside the percentage kept on the old process (0–50), "
        "so outcomes can be compared. Raising it keeps everyone already held out.",
    )
    enrolled_at = models.DateTimeField(null=True, blank=True)
    # The autonomy ladder: changed through rollout.services.autonomy only (down is gated).
    review_level = models.CharField(
        max_length=6, choices=ReviewLevel.choices, default=ReviewLevel.EVERY
    )
    # Whole percent of invocations picked for review at the `sample` level (see
    # rollout.lib.output_sampling); kept when the level changes, so going back restores it.
    review_sample_rate = models.PositiveSmallIntegerField(
        "sample rate (%)",
        default=10,
        validators=[
            MinValueValidator(MIN_SAMPLE_RATE_PERCENT),
            MaxValueValidator(MAX_SAMPLE_RATE_PERCENT),
        ],
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="rollout.CohortMember",
        through_fields=("cohort", "user"),
        related_name="cohorts",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "name"], name="cohort_unique_name"),
            models.CheckConstraint(
                condition=models.Q(percentage__gte=1, percentage__lte=100),
                name="cohort_percentage_range",
            ),
            models.CheckConstraint(
                condition=models.Q(holdout_percentage__gte=0, holdout_percentage__lte=50),
                name="cohort_holdout_percentage_range",
            ),
            models.CheckConstraint(
                condition=models.Q(review_level__in=ReviewLevel.values),
                name="cohort_review_level_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    review_sample_rate__gte=MIN_SAMPLE_RATE_PERCENT,
                    review_sample_rate__lte=MAX_SAMPLE_RATE_PERCENT,
                ),
                name="cohort_review_sample_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CohortMember(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cohort_memberships"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cohort", "user"], name="cohort_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.cohort}"

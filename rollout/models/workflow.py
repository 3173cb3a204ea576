from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.text import refuse_control_characters
from rollout.models.briefing import BriefingRequirement
from rollout.models.phase import FallbackMode

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "Use lowercase letters, digits and single hyphens, e.g. support-reply-drafting.",
)


class WorkflowQuerySet(models.QuerySet["Workflow"]):
    def with_owner(self) -> "WorkflowQuerySet":
        return self.select_related("owner")

    def ownerless(self) -> "WorkflowQuerySet":
        return self.filter(owner__is_active=False)


class Workflow(models.Model):
    """One AI-assisted business process being rolled out. Exactly one owner, always.

    A workflow whose owner has been deactivated is "ownerless" (derived, not stored) until an ops
    leader hands it over to an active user.
    """

    name = models.CharField(max_length=120, validators=[refuse_control_characters])
    slug = models.SlugField(max_length=60, unique=True, validators=[SLUG_VALIDATOR])
    summary = models.TextField(blank=True, max_length=2000)
    business_action = models.CharField(
        "business action",
        max_length=200,
        help_text="What the AI output drives, e.g. “reply email sent to the customer”.",
    )
    model_provider = models.CharField(
        "model provider", max_length=80, blank=True, validators=[refuse_control_characters]
    )
    model_name = models.CharField(
        "model", max_length=120, blank=True, validators=[refuse_control_characters]
    )
    model_version = models.CharField(
        "model version", max_length=80, blank=True, validators=[refuse_control_characters]
    )
    prompt_version = models.CharField(
        "prompt version",
        max_length=80,
        blank=True,
        validators=[refuse_control_characters],
        help_text="The version of the prompt the AI runs with, e.g. v6.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_workflows"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # --- Roll-out plan settings (see rollout.services.phases and rollout.gates.registry) ---
    plan_start_date = models.DateField("plan start date", null=True, blank=True)
    fallback_mode = models.CharField(
        "fallback when paused",
        max_length=6,
        choices=FallbackMode.choices,
        default=FallbackMode.SHADOW,
    )
    lead_time_days = models.PositiveSmallIntegerField(
        "notice lead time (days)",
        default=5,
        validators=[MinValueValidator(0), MaxValueValidator(90)],
        help_text="How long before a change takes effect its notice must be published.",
    )
    required_approvals = models.PositiveSmallIntegerField(
        "approvals needed to promote",
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    review_cadence_days = models.PositiveSmallIntegerField(
        "review every (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(7), MaxValueValidator(366)],
        help_text="How often the owner reviews the workflow's health, e.g. 90 for quarterly.",
    )
    next_review_due = models.DateField("next review due", null=True, blank=True)
    retired_at = models.DateTimeField(
        "retired",
        null=True,
        blank=True,
        help_text="Set when a review retires the workflow: off for everyone, no new events.",
    )
    escalation_repeat_last = models.PositiveSmallIntegerField(
        "repeat the last escalation level",
        default=0,
        validators=[MaxValueValidator(10)],
        help_text="How many more times the last level is notified if nobody acknowledges.",
    )
    # --- Failure-mode briefing (rollout.models.briefing; the gate is in rollout.selectors.decision)
    briefing_required_from = models.CharField(
        "briefing required",
        max_length=8,
        choices=BriefingRequirement.choices,
        default=BriefingRequirement.LIMITED,
        help_text="From this phase on, a member who has not acknowledged the briefing gets the "
        "fallback instead of live output.",
    )
    briefing_grace_days = models.PositiveSmallIntegerField(
        "briefing grace period (days)",
        default=7,
        validators=[MaxValueValidator(60)],
        help_text="After a material change, how long members who acknowledged an earlier version "
        "keep their mode while they read the new one.",
    )
    briefing_coverage_target = models.PositiveSmallIntegerField(
        "briefing coverage target (%)",
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="The share of the next phase's members who must have acknowledged the briefing "
        "for readiness to count the failure modes as understood.",
    )

    pause_on_unannounced_change = models.BooleanField(
        "pause on an unannounced change",
        default=False,
        help_text="Pause the roll-out when events report a model or prompt version nobody "
        "declared.",
    )
    drift_opens_escalation = models.BooleanField(
        "open an escalation on drift",
        default=False,
        help_text="When a cohort starts degrading, open an escalation as well as telling you.",
    )

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("use_workflow", "Use the workflow as a cohort member")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("workflow_overview", kwargs={"slug": self.slug})

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def is_review_overdue(self) -> bool:
        """Its review's due date has passed (today in the current time zone)."""
        due = self.next_review_due
        return due is not None and self.retired_at is None and due < timezone.localdate()

    @property
    def is_ownerless(self) -> bool:
        return not self.owner.is_active

    @property
    def model_label(self) -> str:
        parts = [p for p in (self.model_provider, self.model_name, self.model_version) if p]
        return " · ".join(parts)


# Guardian's direct foreign-key permission tables: real FKs (cascade on delete, joinable, indexed)
# instead of the generic content-type table.
class WorkflowUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Workflow, on_delete=models.CASCADE)


class WorkflowGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Workflow, on_delete=models.CASCADE)

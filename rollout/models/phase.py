from django.db import models
from django.db.models import Q


class PhaseKind(models.TextChoices):
    AUDIT = "audit", "Data audit"
    SHADOW = "shadow", "Shadow mode"
    LIMITED = "limited", "Limited roll-out"
    BROAD = "broad", "Broad roll-out"
    STEADY = "steady", "Steady state"


PHASE_ORDER = [k.value for k in PhaseKind]


class PhaseStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    ROLLED_BACK = "rolled_back", "Rolled back"


# A phase "in progress" is active or paused: at most one per workflow.
IN_PROGRESS = (PhaseStatus.ACTIVE, PhaseStatus.PAUSED)


class FallbackMode(models.TextChoices):
    SHADOW = "shadow", "Shadow (computed and logged, not acted on)"
    OFF = "off", "Off"


class Phase(models.Model):
    """One step of a workflow's roll-out plan. Five per workflow, one of each kind, in order."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="phases"
    )
    kind = models.CharField(max_length=10, choices=PhaseKind.choices)
    position = models.PositiveSmallIntegerField(editable=False)
    planned_start = models.DateField("planned start")
    planned_end = models.DateField("planned end", null=True, blank=True)
    actual_start = models.DateTimeField("actual start", null=True, blank=True)
    actual_end = models.DateTimeField("actual end", null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=PhaseStatus.choices, default=PhaseStatus.PLANNED
    )
    exit_criteria = models.TextField("exit criteria", blank=True, max_length=4000)
    min_duration_days = models.PositiveSmallIntegerField("minimum duration (days)", default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    baseline_start = models.DateTimeField(
        "baseline restarted",
        null=True,
        blank=True,
        help_text="Set when the AI itself changed mid-phase (rule 9): drift is measured from here.",
    )
    pause_reason = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["workflow", "position"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "kind"], name="phase_one_per_kind"),
            # At most one phase in progress per workflow: the database refuses a second one, so two
            # concurrent promotions cannot both succeed.
            models.UniqueConstraint(
                fields=["workflow"],
                condition=Q(status__in=[PhaseStatus.ACTIVE, PhaseStatus.PAUSED]),
                name="phase_one_in_progress",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow} — {self.get_kind_display()}"

    @property
    def is_in_progress(self) -> bool:
        return self.status in IN_PROGRESS

"""A workflow's failure-mode briefing: what the AI does, what a bad output looks like, and what
to do then — versioned, and acknowledged by the cohorts' members (issue 17 §3).

The current version is the latest. A *material* version asks everyone to acknowledge again; a
*minor* one (a correction) does not, so the acknowledgement that counts is one of the latest
material version or of any later version.
"""

from django.conf import settings
from django.db import models

from core.text import refuse_control_characters


class BriefingRequirement(models.TextChoices):
    """From which phase on a member must have acknowledged the briefing to get live output."""

    LIMITED = "limited", "From the limited roll-out"
    BROAD = "broad", "From the broad roll-out"
    STEADY = "steady", "From steady state"
    NEVER = "never", "Never (the briefing is asked for, not required)"


class Briefing(models.Model):
    """One published version of a workflow's briefing. Never edited: a change is a new version."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="briefings"
    )
    number = models.PositiveIntegerField("version")
    what_it_does = models.TextField("what the AI does", max_length=8000)
    bad_output = models.TextField("what a bad output looks like", max_length=8000)
    wrong_examples = models.TextField("examples of wrong outputs", max_length=8000, blank=True)
    what_to_do = models.TextField("what to do when you see one", max_length=8000)
    material = models.BooleanField(
        default=True,
        help_text="Material: everyone acknowledges again. Minor: a correction, no new "
        "acknowledgement.",
    )
    change_note = models.CharField(
        "what changed", max_length=300, blank=True, validators=[refuse_control_characters]
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["workflow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="briefing_unique_number"),
        ]

    def __str__(self) -> str:
        return f"Briefing v{self.number}"


class BriefingAcknowledgement(models.Model):
    """One person said they read one version. Once per (version, person)."""

    briefing = models.ForeignKey(
        Briefing, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="briefing_acknowledgements"
    )
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["briefing", "user"], name="briefing_acknowledgement_unique"
            ),
        ]
        indexes = [models.Index(fields=["user", "briefing"], name="briefing_ack_user")]

    def __str__(self) -> str:
        return f"{self.user} acknowledged {self.briefing}"

"""The AI a workflow runs, versioned as a whole (rule 9), and what the events say it runs.

`AIConfiguration` is one version of the workflow's configuration: model provider, name and
version, prompt version, and each versioned data source's version. A version is *declared* (a
person edited the workflow or a data source) or *observed* (events reported versions nobody
declared: an unannounced change, rollout.services.ai_config). The latest version of either
origin is the one in effect; versions are numbered 1, 2, … per workflow.

`ConfigMismatchDay` and `ConfigReportDay` are rollups, rebuilt with the day's usage rollups
(rollout.services.usage_rollup): the events of a day that reported a model or prompt version,
and those whose version differs from the configuration in effect when they occurred.
"""

from django.conf import settings
from django.db import models

from core.text import refuse_control_characters


class ConfigOrigin(models.TextChoices):
    DECLARED = "declared", "Declared"
    OBSERVED = "observed", "Observed"


# The configuration fields events may report, as `attrs.<name>`.
REPORTED_FIELDS = ("model_version", "prompt_version")


class AIConfiguration(models.Model):
    """One version of a workflow's AI configuration, in effect from `effective_at` until the
    next version's. `sources` is {data source id: {"name": …, "version": …}} for the sources
    that have a version; `evidence` holds what an observed version was detected from."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="ai_configurations"
    )
    version = models.PositiveIntegerField()
    model_provider = models.CharField("model provider", max_length=80, blank=True)
    model_name = models.CharField("model", max_length=120, blank=True)
    model_version = models.CharField("model version", max_length=80, blank=True)
    prompt_version = models.CharField(
        "prompt version", max_length=80, blank=True, validators=[refuse_control_characters]
    )
    sources = models.JSONField("data source versions", default=dict, blank=True)
    effective_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when Rollout observed the change.",
    )
    origin = models.CharField(
        max_length=10, choices=ConfigOrigin.choices, default=ConfigOrigin.DECLARED
    )
    note = models.TextField(blank=True, max_length=4000)
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["workflow", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "version"], name="ai_config_version_once"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.version} ({self.origin})"

    @property
    def model_label(self) -> str:
        parts = [p for p in (self.model_provider, self.model_name, self.model_version) if p]
        return " · ".join(parts)

    @property
    def source_versions(self) -> dict[str, str]:
        """{source name: version}, by name, for display."""
        return {
            str(entry.get("name", key)): str(entry.get("version", ""))
            for key, entry in sorted(self.sources.items(), key=lambda kv: str(kv[1].get("name")))
        }


class ConfigReportDay(models.Model):
    """How many of one day's events, in effect under one configuration version, reported a
    model or prompt version (the denominator of the unannounced-change share)."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    config_version = models.PositiveIntegerField()
    reporting = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workflow", "day"], name="config_report_wf_day")]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.day} v{self.config_version}: {self.reporting}"


class ConfigMismatchDay(models.Model):
    """Events of one day that reported `field` = `reported` while the configuration in effect
    when they occurred (`config_version`) declared something else."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    config_version = models.PositiveIntegerField()
    field = models.CharField(max_length=20)
    reported = models.CharField(max_length=80)
    count = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workflow", "day"], name="config_mismatch_wf_day")]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.day} v{self.config_version} {self.field}={self.reported}"

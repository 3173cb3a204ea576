from typing import Any

from django.conf import settings
from django.db import models
from django.utils.text import slugify

from core.text import refuse_control_characters


class SourceKind(models.TextChoices):
    LIVE = "live", "Live connection"
    STATIC_EXPORT = "static_export", "Static export"
    SYNTHETIC = "synthetic", "Synthetic"


class DataSource(models.Model):
    """An input the workflow depends on. A static export without a mapped live equivalent has
    proven the concept, not the system (the audit → shadow gate says so)."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="data_sources"
    )
    name = models.CharField(max_length=120, validators=[refuse_control_characters])
    # What the integration names the source by (events' attrs.source, the heartbeat's path):
    # set from the name on creation, editable only while nothing has been reported for it.
    key = models.SlugField(
        max_length=60,
        help_text="What the integration calls it: attrs.source of input events, and the "
        "heartbeat's path. Letters, digits, hyphens and underscores.",
    )
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    live_equivalent = models.CharField(
        "live equivalent",
        max_length=200,
        blank=True,
        help_text="For a static export: the live connection it will be replaced by.",
    )
    description = models.TextField(blank=True, max_length=2000)
    freshness = models.CharField(
        "freshness expectation",
        max_length=120,
        blank=True,
        help_text="How fresh the data must be, e.g. “updated within 15 minutes”.",
    )
    # The same expectation, measurable: the observed freshness is judged against it (None: no
    # expectation declared, so the source is judged only silent or not).
    max_age_minutes = models.PositiveIntegerField(
        "maximum data age (minutes)", null=True, blank=True
    )
    validation = models.TextField(
        "validation in place",
        blank=True,
        max_length=2000,
        help_text="The checks that catch bad or stale data.",
    )
    last_verified_at = models.DateField("last verified", null=True, blank=True)
    version = models.CharField(max_length=60, blank=True, validators=[refuse_control_characters])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "name"], name="datasource_unique_name"),
            models.UniqueConstraint(fields=["workflow", "key"], name="datasource_unique_key"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The service (rollout.services.data_sources) gives a key unique within the workflow;
        # a row made any other way (fixtures, the shell) still gets one from its name.
        if not self.key:
            self.key = (slugify(self.name) or "source")[:60]
        super().save(*args, **kwargs)

    @property
    def is_documented(self) -> bool:
        return bool(self.freshness and self.validation and self.last_verified_at)

    @property
    def is_unmapped_export(self) -> bool:
        return self.kind == SourceKind.STATIC_EXPORT and not self.live_equivalent


class ReadinessQuestion(models.TextChoices):
    LIVE_DATA = "live_data", "Does it run on live data rather than static exports?"
    BAD_OUTPUT_HANDLING = "bad_output_handling", "Is there documented handling for bad outputs?"
    FAILURE_MODES = "failure_modes", "Does the team using it understand the failure modes?"
    NAMED_OWNER = "named_owner", "Is there a named owner?"
    ESCALATION_PATH = "escalation_path", "Is there a documented escalation path?"
    THRESHOLDS = "thresholds", "Are quality thresholds defined?"
    LOGGING = "logging", "Is logging in place?"
    SHADOW_RUN = "shadow_run", "Did it run in shadow mode?"
    COMMUNICATION_PLAN = "communication_plan", "Is there a communication plan?"


class ReadinessAnswerValue(models.TextChoices):
    YES = "yes", "Yes"
    PARTLY = "partly", "Partly"
    NO = "no", "No"


class ReadinessAnswer(models.Model):
    """One answer to one readiness question. Answers are never edited: a new answer is a new row,
    so the history of who said what, when, and on what evidence is kept."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="readiness_answers"
    )
    question = models.CharField(max_length=30, choices=ReadinessQuestion.choices)
    answer = models.CharField(max_length=6, choices=ReadinessAnswerValue.choices)
    evidence = models.TextField(max_length=4000, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "question", "-answered_at", "-id"]
        indexes = [models.Index(fields=["workflow", "question", "-answered_at"])]

    def __str__(self) -> str:
        return f"{self.get_question_display()} {self.answer}"

"""Reading a workflow's AI configuration history and what the events report about it."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Max, Min, Sum
from django.utils import formats, timezone

from rollout.lib.numbers import format_count
from rollout.models import (
    AIConfiguration,
    ConfigMismatchDay,
    ConfigOrigin,
    ConfigReportDay,
    DataSource,
    Workflow,
)

CONFIG_FIELDS = ("model_provider", "model_name", "model_version", "prompt_version")
FIELD_LABELS = {
    "model_provider": "Model provider",
    "model_name": "Model",
    "model_version": "Model version",
    "prompt_version": "Prompt version",
}


def ai_config_values(workflow: Workflow) -> dict:
    """What the workflow's fields and its data sources declare now, in AIConfiguration's shape:
    the four model fields and {source id: {"name", "version"}} for sources with a version."""
    values = {name: getattr(workflow, name) for name in CONFIG_FIELDS}
    values["sources"] = {
        str(pk): {"name": name, "version": version}
        for pk, name, version in DataSource.objects.filter(workflow=workflow)
        .exclude(version="")
        .order_by("pk")
        .values_list("pk", "name", "version")
    }
    return values


def ai_config_current(workflow: Workflow | int) -> AIConfiguration | None:
    """The version in effect: the latest, declared or observed. None before any is recorded."""
    return (
        AIConfiguration.objects.filter(workflow=workflow)
        .order_by("-version")
        .select_related("recorded_by")
        .first()
    )


def ai_config_declared_version(workflow: Workflow | int) -> int | None:
    """The number of the latest declared version (what the decision API answers)."""
    return (
        AIConfiguration.objects.filter(workflow=workflow, origin=ConfigOrigin.DECLARED)
        .aggregate(n=Max("version"))
        .get("n")
    )


def ai_config_history(workflow: Workflow) -> list[AIConfiguration]:
    """Every version, newest first, with who recorded it."""
    return list(
        AIConfiguration.objects.filter(workflow=workflow)
        .select_related("recorded_by")
        .order_by("-version")
    )


def ai_config_periods(workflow_id: int, start: datetime, end: datetime) -> list[tuple]:
    """[(configuration, from, until)] covering [start, end): the versions in effect over that
    span, each clipped to it. Events before the first version count under the first."""
    configs = list(
        AIConfiguration.objects.filter(workflow_id=workflow_id, effective_at__lt=end).order_by(
            "effective_at", "version"
        )
    )
    periods = []
    for i, config in enumerate(configs):
        until = configs[i + 1].effective_at if i + 1 < len(configs) else end
        since = start if i == 0 else max(start, config.effective_at)
        until = min(until, end)
        if since < until:
            periods.append((config, since, until))
    return periods


@dataclass
class MismatchEvidence:
    """What the events reported against one configuration version since a day."""

    reporting: int = 0
    # field → reported value → [count, first_at, last_at]
    values: dict[str, dict[str, list]] = field(default_factory=lambda: defaultdict(dict))

    @property
    def mismatching(self) -> int:
        """Events that reported something else, counted once per field reported."""
        return max(
            (sum(v[0] for v in by_value.values()) for by_value in self.values.values()), default=0
        )

    def dominant(self) -> dict[str, tuple[str, int, datetime, datetime]]:
        """field → (the most reported other value, its count, first and last seen)."""
        found = {}
        for name, by_value in self.values.items():
            value, (count, first, last) = max(by_value.items(), key=lambda kv: kv[1][0])
            found[name] = (value, count, first, last)
        return found


def config_mismatch_evidence(workflow: Workflow, *, version: int, since: date) -> MismatchEvidence:
    """Events from `since` (a day) in effect under configuration `version`: how many reported a
    version, and which other values they reported. Two queries over the day rollups."""
    evidence = MismatchEvidence()
    evidence.reporting = (
        ConfigReportDay.objects.filter(
            workflow=workflow, config_version=version, day__gte=since
        ).aggregate(n=Sum("reporting"))["n"]
        or 0
    )
    rows = (
        ConfigMismatchDay.objects.filter(workflow=workflow, config_version=version, day__gte=since)
        .values("field", "reported")
        .annotate(n=Sum("count"), first=Min("first_at"), last=Max("last_at"))
        .order_by()
    )
    for row in rows:
        evidence.values[row["field"]][row["reported"]] = [row["n"], row["first"], row["last"]]
    return evidence


def ai_config_restart(workflow: Workflow) -> datetime | None:
    """When the measurements last restarted because the AI changed: the current version's start
    (None for version 1 or none: nothing restarted them)."""
    current = (
        AIConfiguration.objects.filter(workflow=workflow)
        .order_by("-version")
        .values_list("version", "effective_at")
        .first()
    )
    if current is None or current[0] <= 1:
        return None
    return current[1]


def when_text(at: datetime) -> str:
    return formats.date_format(timezone.localtime(at), "j F Y, H:i")


def source_version_changes(before: dict, after: dict) -> dict[str, list[str]]:
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, {}), after.get(key, {})
        if old.get("version") != new.get("version"):
            name = new.get("name") or old.get("name") or key
            label = f"Data source “{name}” version"
            changes[label] = [old.get("version") or "—", new.get("version") or "—"]
    return changes


def config_changes(before: dict, after: dict) -> dict[str, list[str]]:
    """{label: [before, after]} for every configuration field that differs: the activity log's
    and the notice's account of a change."""
    changes = {
        FIELD_LABELS[name]: [before.get(name) or "—", after.get(name) or "—"]
        for name in CONFIG_FIELDS
        if (before.get(name) or "") != (after.get(name) or "")
    }
    return changes | source_version_changes(before.get("sources", {}), after.get("sources", {}))


def evidence_sentence(evidence: dict) -> str:
    """The detection's evidence in words, for the alert, the notice and the history page."""
    parts = []
    for name, found in evidence.get("fields", {}).items():
        first = datetime.fromisoformat(found["first_at"])
        parts.append(
            f"{format_count(found['count'])} events since {when_text(first)} report "
            f"{FIELD_LABELS[name].lower()} "
            f"“{found['reported']}” where “{found['declared'] or '—'}” was declared"
        )
    share = ""
    if evidence.get("reporting"):
        pct = 100 * evidence["mismatching"] / evidence["reporting"]
        reporting = format_count(evidence["reporting"])
        share = f" ({pct:.0f}% of the {reporting} events reporting a version)"
    return "; ".join(parts) + share + "." if parts else ""


def config_values(config: AIConfiguration | None) -> dict:
    """A version's values in ai_config_values's shape ({} for none), to compare two versions."""
    if config is None:
        return {}
    values = {name: getattr(config, name) for name in CONFIG_FIELDS}
    values["sources"] = config.sources
    return values

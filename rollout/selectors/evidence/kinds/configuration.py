"""Changes of the AI itself (rule 9): each AI configuration version after the first, declared by a
person or observed in the events (an unannounced change, with the evidence that showed it)."""

from django.db.models import QuerySet
from django.urls import reverse

from rollout.models import AIConfiguration, ConfigOrigin
from rollout.selectors.ai_config import config_changes, config_values, evidence_sentence
from rollout.selectors.evidence.entries import EvidenceEntry, timeline_rows
from rollout.selectors.evidence.kinds.text import person_text


def configuration_rows() -> QuerySet:
    return timeline_rows(
        AIConfiguration.objects.filter(version__gt=1),
        kind="configuration",
        workflow="workflow_id",
        at="effective_at",
    )


def configuration_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    """Two queries: the versions of the page, and the versions just before them."""
    configs = list(
        AIConfiguration.objects.filter(pk__in=pks).select_related("workflow", "recorded_by")
    )
    wanted = {(c.workflow_id, c.version - 1) for c in configs}
    previous = {
        (p.workflow_id, p.version): p
        for p in AIConfiguration.objects.filter(
            workflow_id__in={w for w, _ in wanted}, version__in={v for _, v in wanted}
        )
    }
    entries = {}
    for config in configs:
        before = previous.get((config.workflow_id, config.version - 1))
        changes = config_changes(config_values(before), config_values(config))
        observed = config.origin == ConfigOrigin.OBSERVED
        details = [(label, f"{old} → {new}") for label, (old, new) in changes.items()]
        if observed:
            details.append(("Evidence", evidence_sentence(config.evidence) or config.note))
        else:
            details.append(("Declared by", person_text(config.recorded_by)))
        entries[config.pk] = EvidenceEntry(
            kind="configuration",
            kind_label="AI configuration",
            at=config.effective_at,
            workflow=config.workflow,
            title=(
                f"Unannounced change observed: version {config.version}"
                if observed
                else f"AI configuration changed: version {config.version}"
            ),
            details=details,
            url=reverse("workflow_configuration", args=[config.workflow.slug]),
            tone="bad" if observed else "",
        )
    return entries

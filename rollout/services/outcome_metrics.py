"""Writes on the outcome metrics an owner declares (issue 18 §1): declare, edit, archive,
restore. Each recorded in the workflow's activity log."""

import re

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import OUTCOME_NAME_PATTERN, OutcomeMetric, Workflow
from rollout.services.activity import activity_record

MSG_NAME = (
    "Name it as events will: lowercase letters, digits and _, starting with a letter, at most "
    "40 characters (e.g. handle_time_s)."
)
MSG_NAME_TAKEN = "This workflow already has an outcome metric called “{name}”."
MSG_LABEL_REQUIRED = "Give it a label people will read, e.g. “Handle time”."
MSG_ALREADY_ARCHIVED = "“{name}” is already archived."
MSG_NOT_ARCHIVED = "“{name}” is not archived."


def _direction(higher_is_better: bool) -> str:
    return "higher is better" if higher_is_better else "lower is better"


def _check(workflow: Workflow, name: str, label: str, *, exclude_pk: int | None = None) -> None:
    if not re.fullmatch(OUTCOME_NAME_PATTERN, name):
        raise ApplicationError(MSG_NAME, field="name")
    if not label:
        raise ApplicationError(MSG_LABEL_REQUIRED, field="label")
    clash = OutcomeMetric.objects.filter(workflow=workflow, name=name).exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(MSG_NAME_TAKEN.format(name=name), field="name")


@transaction.atomic
def outcome_metric_create(
    *, workflow: Workflow, actor: User, name: str, label: str, unit: str, higher_is_better: bool
) -> OutcomeMetric:
    """Declare an outcome the integration reports as `outcome` events with attrs.metric=name."""
    name, label, unit = name.strip(), " ".join(label.split()), unit.strip()
    _check(workflow, name, label)
    metric = OutcomeMetric(
        workflow=workflow, name=name, label=label, unit=unit, higher_is_better=higher_is_better
    )
    metric.full_clean()
    metric.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="declared an outcome metric",
        target=f"outcome {name}",
        changes={
            "outcome metric": [
                "—",
                f"{label} ({unit or 'no unit'}, {_direction(higher_is_better)})",
            ]
        },
    )
    return metric


@transaction.atomic
def outcome_metric_update(
    *, metric: OutcomeMetric, actor: User, label: str, unit: str, higher_is_better: bool
) -> OutcomeMetric:
    """Edit what people read (label, unit, direction). The name stays: stored events and
    thresholds refer to it."""
    metric = OutcomeMetric.objects.select_for_update().select_related("workflow").get(pk=metric.pk)
    label, unit = " ".join(label.split()), unit.strip()
    _check(metric.workflow, metric.name, label, exclude_pk=metric.pk)
    before = {
        "label": metric.label,
        "unit": metric.unit,
        "direction": _direction(metric.higher_is_better),
    }
    metric.label, metric.unit, metric.higher_is_better = label, unit, higher_is_better
    after = {"label": label, "unit": unit, "direction": _direction(higher_is_better)}
    changes = {k: [before[k] or "—", after[k] or "—"] for k in before if before[k] != after[k]}
    if not changes:
        return metric
    metric.full_clean()
    metric.save()
    activity_record(
        workflow=metric.workflow,
        actor=actor,
        verb="edited an outcome metric",
        target=f"outcome {metric.name}",
        changes=changes,
    )
    return metric


@transaction.atomic
def outcome_metric_archive(*, metric: OutcomeMetric, actor: User, archived: bool) -> OutcomeMetric:
    """Archive (events naming it are then refused; its figures stay) or restore a metric."""
    metric = OutcomeMetric.objects.select_for_update().select_related("workflow").get(pk=metric.pk)
    if archived and metric.archived_at is not None:
        raise ApplicationError(MSG_ALREADY_ARCHIVED.format(name=metric.name))
    if not archived and metric.archived_at is None:
        raise ApplicationError(MSG_NOT_ARCHIVED.format(name=metric.name))
    metric.archived_at = timezone.now() if archived else None
    metric.save(update_fields=["archived_at"])
    activity_record(
        workflow=metric.workflow,
        actor=actor,
        verb="archived an outcome metric" if archived else "restored an outcome metric",
        target=f"outcome {metric.name}",
        changes={"status": ["current", "archived"] if archived else ["archived", "current"]},
    )
    return metric

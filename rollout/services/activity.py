from collections.abc import Iterable
from typing import Any

from django.db import models

from accounts.models import User
from core.acting import acting_token_name
from rollout.models import ActivityEntry, Workflow
from rollout.services.webhook_outbox import webhook_deliveries_create


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def field_changes(
    instance: models.Model, before: dict[str, Any], fields: Iterable[str]
) -> dict[str, list[str]]:
    """`{label: [before, after]}` for the fields whose value differs from `before`."""
    changes: dict[str, list[str]] = {}
    for name in fields:
        after = getattr(instance, name)
        if before.get(name) != after:
            label = str(instance._meta.get_field(name).verbose_name)
            changes[label] = [_display(before.get(name)), _display(after)]
    return changes


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in fields}


def activity_record(
    *,
    workflow: Workflow | None,
    actor: User | None,
    verb: str,
    target: str,
    changes: dict[str, list[str]] | None = None,
    note: str = "",
) -> ActivityEntry:
    """Record one activity-log entry, inside the transaction of the change it records.

    A change made through a personal access token (the management API) says so in its note:
    "via token <name>" (core.acting).
    """
    token_name = acting_token_name()
    if token_name is not None:
        via = f"via token {token_name}"
        note = f"{note} ({via})" if note else via
    entry = ActivityEntry(
        workflow=workflow,
        actor=actor,
        verb=verb,
        target=target,
        changes=changes or {},
        note=note,
    )
    entry.full_clean()
    entry.save()
    if workflow is not None:
        # Outgoing webhooks: one delivery row per active webhook, committed with the entry.
        webhook_deliveries_create(entry)
        Workflow.objects.filter(pk=workflow.pk).update(last_activity_at=entry.created_at)
        workflow.last_activity_at = entry.created_at
    return entry

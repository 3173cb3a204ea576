"""The data sources a workflow depends on: documenting, editing and removing them."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import IN_PROGRESS, DataSource, Phase, Workflow
from rollout.selectors.ai_config import ai_config_values
from rollout.selectors.source_health import source_has_reports
from rollout.services.activity import activity_record, field_changes, snapshot
from rollout.services.ai_config import ai_config_record

FIELDS = (
    "name",
    "key",
    "kind",
    "live_equivalent",
    "description",
    "freshness",
    "max_age_minutes",
    "validation",
    "last_verified_at",
    "version",
)
TEXT_FIELDS = (
    "name",
    "key",
    "live_equivalent",
    "description",
    "freshness",
    "validation",
    "version",
)

MSG_NAME_TAKEN = "This workflow already has a data source called “{name}”."
MSG_VERIFIED_IN_FUTURE = "The last verification cannot be in the future (today is {today})."
MSG_KEY_TAKEN = "Another data source of this workflow already has the key “{key}”."
MSG_KEY_FIXED = (
    "The key cannot change any more: the integration has already reported under “{key}”. "
    "Add a new data source if the integration must use another key."
)
MSG_KEY_INVALID = "Use letters, digits, hyphens and underscores only, e.g. “crm-export”."
MSG_MAX_AGE_ZERO = "A maximum data age is at least one minute (leave it empty for none)."

# Rule 9: a new version of an input mid-phase changes the AI itself. Later issues hook on this verb.
VERB_CHANGED_AI_INPUT = "changed AI input"


def _free_key(workflow_id: int, name: str, exclude: int | None) -> str:
    """A key from the name, made unique within the workflow (crm-export, crm-export-2, …)."""
    base = (slugify(name) or "source")[:55]
    taken = set(
        DataSource.objects.filter(workflow_id=workflow_id, key__startswith=base)
        .exclude(pk=exclude)
        .values_list("key", flat=True)
    )
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def _clean_key(source: DataSource, before: str) -> None:
    """An empty key is derived from the name; a key may change only while nothing was reported
    under it (the integration names the source by it)."""
    if not source.key:
        source.key = before or _free_key(source.workflow_id, source.name, source.pk)
    if (
        source.pk
        and source.key != before
        and source_has_reports(DataSource(pk=source.pk, workflow_id=source.workflow_id, key=before))
    ):
        raise ApplicationError(MSG_KEY_FIXED.format(key=before), field="key")
    taken = DataSource.objects.filter(workflow_id=source.workflow_id, key=source.key)
    if taken.exclude(pk=source.pk).exists():
        raise ApplicationError(MSG_KEY_TAKEN.format(key=source.key), field="key")


def _clean(source: DataSource, fields: dict[str, Any]) -> None:
    key_before = source.key
    for name in FIELDS:
        value = fields.get(name, getattr(source, name))
        if name in TEXT_FIELDS:
            value = (value or "").strip()
        setattr(source, name, value)
    if source.max_age_minutes is not None and source.max_age_minutes < 1:
        raise ApplicationError(MSG_MAX_AGE_ZERO, field="max_age_minutes")
    _clean_key(source, key_before)
    verified: date | None = source.last_verified_at
    today = timezone.localdate()
    if verified is not None and verified > today:
        raise ApplicationError(
            MSG_VERIFIED_IN_FUTURE.format(today=today.isoformat()), field="last_verified_at"
        )
    taken = DataSource.objects.filter(workflow_id=source.workflow_id, name__iexact=source.name)
    if taken.exclude(pk=source.pk).exists():
        raise ApplicationError(MSG_NAME_TAKEN.format(name=source.name), field="name")
    try:
        source.full_clean(exclude=["workflow"], validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        if field == "key":
            messages = [MSG_KEY_INVALID]
        raise ApplicationError(" ".join(messages), field=field) from exc


def _save(source: DataSource) -> None:
    try:
        # A savepoint: a lost race on the unique name must leave the outer transaction usable.
        with transaction.atomic():
            source.save()
    except IntegrityError as exc:
        raise ApplicationError(MSG_NAME_TAKEN.format(name=source.name), field="name") from exc


@transaction.atomic
def data_source_create(*, workflow: Workflow, actor: User, **fields: Any) -> DataSource:
    source = DataSource(workflow=workflow)
    config_before = ai_config_values(workflow)
    _clean(source, fields)
    _save(source)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="added",
        target=f"data source {source.name}",
        changes={"kind": ["—", source.get_kind_display()]},
    )
    # A source added with a version is a new input of the AI (rule 9).
    ai_config_record(workflow=workflow, actor=actor, before=config_before)
    return source


@transaction.atomic
def data_source_update(*, source: DataSource, actor: User, **fields: Any) -> DataSource:
    """Edit a data source. A new version while a phase is in progress is recorded as a change
    of the AI's input (rule 9), not as a plain edit."""
    source = DataSource.objects.select_for_update().select_related("workflow").get(pk=source.pk)
    before = snapshot(source, FIELDS)
    config_before = ai_config_values(source.workflow)
    _clean(source, fields)
    changes = field_changes(source, before, FIELDS)
    if not changes:
        return source
    _save(source)
    workflow = source.workflow
    version_changed = before["version"] != source.version
    mid_phase = Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS).exists()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb=VERB_CHANGED_AI_INPUT if version_changed and mid_phase else "edited",
        target=f"data source {source.name}",
        changes=changes,
    )
    # Rule 9: a new version of an input is a new configuration version of the AI.
    ai_config_record(workflow=workflow, actor=actor, before=config_before)
    return source


@transaction.atomic
def data_source_delete(*, source: DataSource, actor: User) -> None:
    source = DataSource.objects.select_for_update().select_related("workflow").get(pk=source.pk)
    workflow, name = source.workflow, source.name
    config_before = ai_config_values(workflow)
    source.delete()
    activity_record(workflow=workflow, actor=actor, verb="removed", target=f"data source {name}")
    # Removing a versioned input changes the AI's configuration too.
    ai_config_record(workflow=workflow, actor=actor, before=config_before)

"""The workflow's AI configuration, versioned as a whole (rule 9, completely).

One service records every version: `ai_config_record` after a person changed the model fields,
the prompt version or a data source's version (rollout.services.workflows,
rollout.services.data_sources), and `ai_config_detect_unannounced` when the events report versions
nobody declared (rollout.services.evaluation.usage_refresh_pending, after each rollup run).

A new version is in effect from its `effective_at`. From then on:

* every threshold's window counts only what happened since (rollout.services.evaluation reads the
  current version's `effective_at`), and the threshold page says so;
* the drift baseline of the phase in progress restarts (Phase.baseline_start);
* while a phase after the data audit is in progress, a notice to everyone in scope is drafted
  saying what changed.

An unannounced change is acted on once per episode: the detection runs under a lock on the
workflow's row and records an *observed* version, after which the same events no longer differ
from the configuration in effect. The owner is alerted then (in the app and by email), and the
phase in progress is paused when the plan says so (Workflow.pause_on_unannounced_change).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailCategory, User
from core.wake import wake
from rollout.models import (
    IN_PROGRESS,
    AIConfiguration,
    ConfigOrigin,
    Phase,
    PhaseKind,
    UsageDirtyDay,
    Workflow,
)
from rollout.selectors.ai_config import (
    CONFIG_FIELDS,
    MismatchEvidence,
    ai_config_current,
    ai_config_values,
    config_changes,
    config_mismatch_evidence,
    evidence_sentence,
    when_text,
)
from rollout.services.activity import activity_record
from rollout.services.decision_cache import plan_changed
from rollout.services.notice_drafts import notice_draft_for_model_change
from rollout.services.notifications import notification_send
from rollout.services.phase_control import phase_pause_on_breach

# An unannounced change: at least this many events reporting another version …
MISMATCH_EVENTS = 20
# … or at least this share of the version-reporting events of the window …
MISMATCH_SHARE = 0.05
# … once at least this many differ (one odd event among ten is not a change of the AI).
MISMATCH_SHARE_MIN_EVENTS = 5
# The window the share is taken over (from the configuration's start if later).
DETECTION_DAYS = 7

VERB_CHANGED = "changed the AI configuration"
VERB_OBSERVED = "observed an unannounced change of"
VERB_RESTARTED = "restarted the baseline of"
NOTE_RESTARTED = (
    "The AI changed mid-phase: drift is measured against a new baseline from {when}, and every "
    "threshold counts only what happened since."
)


def _create(
    workflow: Workflow,
    values: dict,
    *,
    effective_at: datetime,
    actor: User | None,
    origin: str = ConfigOrigin.DECLARED,
    note: str = "",
    evidence: dict | None = None,
) -> AIConfiguration:
    last = AIConfiguration.objects.filter(workflow=workflow).order_by("-version").first()
    config = AIConfiguration(
        workflow=workflow,
        version=(last.version + 1) if last else 1,
        effective_at=effective_at,
        recorded_by=actor,
        origin=origin,
        note=note[:4000],
        evidence=evidence or {},
        **{name: values.get(name, "") for name in CONFIG_FIELDS},
        sources=values.get("sources", {}),
    )
    config.full_clean(exclude=["workflow"])
    config.save()
    return config


def ai_config_initial(*, workflow: Workflow, actor: User | None) -> AIConfiguration:
    """Version 1, in effect from the workflow's creation (called by workflow_create)."""
    return _create(
        workflow, ai_config_values(workflow), effective_at=workflow.created_at, actor=actor
    )


def ai_config_record(
    *, workflow: Workflow, actor: User, before: dict, note: str = ""
) -> AIConfiguration | None:
    """After a change the caller has saved: if the configuration differs from `before` (what
    rollout.selectors.ai_config.ai_config_values said before the change), record a new declared
    version in effect now and restart the measurements. None when nothing in it changed.

    Called inside the caller's transaction; the workflow's row is locked so two changes at once
    number their versions one after the other."""
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    after = ai_config_values(workflow)
    changes = config_changes(before, after)
    if not changes:
        return None
    if ai_config_current(workflow) is None:
        # A workflow from before versioning: its configuration until now is version 1.
        _create(workflow, before, effective_at=workflow.created_at, actor=None)
    now = timezone.now()
    config = _create(workflow, after, effective_at=now, actor=actor, note=note)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb=VERB_CHANGED,
        target=f"version {config.version}",
        changes=changes,
        note=note,
    )
    # The decision API answers the declared version: cached answers must not keep the old one.
    plan_changed(workflow)
    _restart(workflow, config, actor=actor, lines=_lines(changes))
    return config


def _lines(changes: dict[str, list[str]]) -> list[str]:
    return [f"{label}: {old} → {new}" for label, (old, new) in changes.items()]


def _restart(
    workflow: Workflow,
    config: AIConfiguration,
    *,
    actor: User | None,
    lines: list[str],
    observed: str = "",
) -> None:
    """The measurements restart from the configuration's start: the drift baseline of the phase
    in progress (the thresholds' windows follow the current version by themselves), and a notice
    to everyone in scope is drafted. Then the thresholds are judged again at once."""
    wake("rollout.tasks.evaluate_workflow", workflow.pk)
    phase = Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS).first()
    if phase is None or phase.kind == PhaseKind.AUDIT:
        # During the data audit nobody uses the AI yet and drift is not measured: setting up its
        # inputs is the audit's work, not a change to announce.
        return
    phase.baseline_start = config.effective_at
    phase.save(update_fields=["baseline_start"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb=VERB_RESTARTED,
        target=phase.get_kind_display(),
        note=NOTE_RESTARTED.format(when=when_text(config.effective_at)),
    )
    phase.workflow = workflow
    notice_draft_for_model_change(
        workflow=workflow, actor=actor, phase=phase, lines=lines, observed=observed
    )


def is_unannounced(mismatching: int, reporting: int) -> bool:
    """Enough events differ from the declared configuration to call it a change."""
    if mismatching >= MISMATCH_EVENTS:
        return True
    return (
        mismatching >= MISMATCH_SHARE_MIN_EVENTS
        and reporting > 0
        and mismatching / reporting >= MISMATCH_SHARE
    )


def _evidence(config: AIConfiguration, found: MismatchEvidence, since) -> dict:
    fields = {}
    for name, (value, count, first, last) in found.dominant().items():
        fields[name] = {
            "declared": getattr(config, name),
            "reported": value,
            "count": count,
            "first_at": first.isoformat(),
            "last_at": last.isoformat(),
        }
    return {
        "since": since.isoformat(),
        "reporting": found.reporting,
        "mismatching": found.mismatching,
        "compared_with": config.version,
        "fields": fields,
    }


@transaction.atomic
def ai_config_detect_unannounced(
    *, workflow: Workflow, now: datetime | None = None
) -> AIConfiguration | None:
    """Compare what the events report with the configuration in effect; on enough difference,
    record an observed version and react (see the module docstring). Returns it, or None.

    Once per episode whatever the number of evaluators: the workflow's row is locked first, so
    a second detector waits, then finds the observed version in effect and the events agreeing
    with it."""
    now = now or timezone.now()
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    current = ai_config_current(workflow)
    if current is None:
        return None
    since = max(
        timezone.localdate(now) - timedelta(days=DETECTION_DAYS - 1),
        timezone.localdate(current.effective_at),
    )
    found = config_mismatch_evidence(workflow, version=current.version, since=since)
    if not is_unannounced(found.mismatching, found.reporting):
        return None
    evidence = _evidence(current, found, since)
    values = {name: getattr(current, name) for name in CONFIG_FIELDS}
    values["sources"] = current.sources
    before = dict(values)
    for name, field in evidence["fields"].items():
        values[name] = field["reported"][:80]
    effective_at = min(datetime.fromisoformat(f["first_at"]) for f in evidence["fields"].values())
    sentence = evidence_sentence(evidence)
    config = _create(
        workflow,
        values,
        effective_at=max(effective_at, current.effective_at),
        actor=None,
        origin=ConfigOrigin.OBSERVED,
        note=f"Detected in the events: {sentence}",
        evidence=evidence,
    )
    changes = config_changes(before, values)
    activity_record(
        workflow=workflow,
        actor=None,
        verb=VERB_OBSERVED,
        target=f"the AI configuration (version {config.version})",
        changes=changes,
        note=sentence,
    )
    # The days since the change are rolled up again, so their events count under the version
    # now in effect (and the detection sees them agree with it).
    _mark_days_dirty(workflow, config.effective_at, now)
    _restart(workflow, config, actor=None, lines=_lines(changes), observed=sentence)
    paused = None
    if workflow.pause_on_unannounced_change:
        paused = phase_pause_on_breach(
            workflow=workflow,
            reason=f"Paused automatically: an unannounced change of the AI. {sentence}",
        )
    body = f"{sentence}\nRecorded as configuration version {config.version} (observed)."
    if paused is not None:
        body += (
            f"\nThe {paused.get_kind_display().lower()} is paused, as your plan asks; people get "
            f"“{workflow.fallback_mode}” output until you resume it."
        )
    notification_send(
        recipient=workflow.owner,
        workflow=workflow,
        title=f"{workflow.name}: an unannounced change of its AI",
        body=body,
        url=reverse("workflow_configuration", kwargs={"slug": workflow.slug}),
        email=EmailCategory.UPDATES,
    )
    return config


def _mark_days_dirty(workflow: Workflow, since: datetime, now: datetime) -> None:
    day, last = timezone.localdate(since), timezone.localdate(now)
    days = []
    while day <= last:
        days.append(UsageDirtyDay(workflow=workflow, day=day))
        day += timedelta(days=1)
    UsageDirtyDay.objects.bulk_create(days, ignore_conflicts=True)

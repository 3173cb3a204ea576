"""Incidents: failures that reached users, and their explanation to the cohorts they affected.

An incident is opened by hand (owner or ops leader), from an escalation, or by the system on a
`pause_rollout` breach (rule 4, `actor=None`). While open, its timeline grows and its details can
be corrected, and the owner may post updates to the affected cohorts' inbox (as status pages do).
Closing it needs "what happened" and "what changed" and publishes the explanation notice
(`notice_title`/`notice_body`, kept on the incident too) to the affected cohorts at once: no
approval, marked urgent, logged (rule 5's exception). Until it closes both texts can change;
afterwards nothing does.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from core.errors import ApplicationError
from core.time_zones import format_instant
from rollout.models import (
    Cohort,
    Escalation,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    NoticeKind,
    Severity,
    Threshold,
    Workflow,
)
from rollout.permissions import can_change_workflow
from rollout.services.activity import activity_record
from rollout.services.notices import notice_publish_for_incident

MAX_TITLE = 200
MAX_DETECTED_BY = 200
MAX_IMPACT = 4000
MAX_ENTRY = 4000
# Below the model's 8,000: both texts and the impact go into the notice body, which holds 16,000
# at most, beside a timeline summary and the audience (both shortened to fit, see below).
MAX_EXPLANATION = 4000
NOTICE_TIMELINE_ENTRIES = 8
NOTICE_ENTRY_CHARS = 160
NOTICE_AUDIENCE_CHARS = 600

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can change its incidents."
MSG_TITLE_REQUIRED = "Give the incident a short title."
MSG_STARTED_REQUIRED = "Say when the failure started."
MSG_STARTED_IN_FUTURE = "The start is in the future. Enter when the failure began."
MSG_TOO_LONG = "{label} is too long: {length:,} characters, at most {limit:,}."
MSG_BAD_SEVERITY = "Choose a severity: low, medium, high or critical."
MSG_COHORT_ELSEWHERE = "Choose cohorts of this workflow only."
MSG_ESCALATION_ELSEWHERE = "That escalation belongs to another workflow."
MSG_THRESHOLD_ELSEWHERE = "That threshold belongs to another workflow."
MSG_CLOSED = "This incident is closed; its timeline and details no longer change."
MSG_ALREADY_CLOSED = "This incident is already closed."
MSG_ENTRY_REQUIRED = "Write what happened at this point of the incident."
MSG_ENTRY_IN_FUTURE = "A timeline entry cannot be in the future."
MSG_ENTRY_BEFORE_START = "A timeline entry cannot be earlier than the incident's start."
MSG_WHAT_HAPPENED_REQUIRED = "Say what happened, in words the people affected will understand."
MSG_WHAT_CHANGED_REQUIRED = "Say what changed, so the people affected know it won't happen again."

UPDATE_TITLE = "Update on the incident: {title}"
UPDATE_BODY = (
    "An update on a problem with “{workflow}” that affects you, while we work on it:\n\n{text}\n\n"
    "You will get an explanation of what happened and what changed when it is resolved."
)
NOTICE_TITLE = "What happened with {workflow} on {date}, and what we changed"
EVERYONE = "everyone using {workflow}"
BREACH_JOINED = "The breach also reached {cohorts}. {reason}"

DETAIL_FIELDS = ("title", "started_at", "detected_by", "impact", "severity")


def _checked_text(value: str, *, label: str, limit: int, field: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ApplicationError(
            MSG_TOO_LONG.format(label=label, length=len(value), limit=limit), field=field
        )
    return value


def _check_allowed(actor: User | None, workflow: Workflow) -> None:
    if actor is None or not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)


def _clean_details(
    *,
    workflow: Workflow,
    title: str,
    started_at: datetime | None,
    detected_by: str,
    impact: str,
    severity: str,
    cohorts: Iterable[Cohort],
    now: datetime,
) -> tuple[dict, list[Cohort]]:
    """The details in stored form, or an ApplicationError naming the first field at fault."""
    title = _checked_text(title, label="The title", limit=MAX_TITLE, field="title")
    if not title:
        raise ApplicationError(MSG_TITLE_REQUIRED, field="title")
    if started_at is None:
        raise ApplicationError(MSG_STARTED_REQUIRED, field="started_at")
    if started_at > now:
        raise ApplicationError(MSG_STARTED_IN_FUTURE, field="started_at")
    detected_by = _checked_text(
        detected_by, label="“Detected by”", limit=MAX_DETECTED_BY, field="detected_by"
    )
    impact = _checked_text(impact, label="The impact", limit=MAX_IMPACT, field="impact")
    if severity not in Severity.values:
        raise ApplicationError(MSG_BAD_SEVERITY, field="severity")
    cohorts = list(cohorts)
    if any(cohort.workflow_id != workflow.pk for cohort in cohorts):
        raise ApplicationError(MSG_COHORT_ELSEWHERE, field="cohorts")
    values = {
        "title": title,
        "started_at": started_at,
        "detected_by": detected_by,
        "impact": impact,
        "severity": severity,
    }
    return values, cohorts


def _names(cohorts: Iterable[Cohort]) -> str:
    names = sorted(cohort.name for cohort in cohorts)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def incident_audience(incident: Incident, cohorts: Iterable[Cohort] | None = None) -> str:
    """Who the explanation is addressed to: the affected cohorts, or everyone using the workflow
    when none were named (a change notice's audience is chosen cohorts or everyone in scope)."""
    names = _names(incident.cohorts.all() if cohorts is None else cohorts)
    return names or EVERYONE.format(workflow=incident.workflow.name)


def _open_breach_incident(workflow: Workflow, title: str) -> Incident | None:
    return (
        Incident.objects.select_for_update()
        .filter(workflow=workflow, status=IncidentStatus.OPEN, opened_by=None, title=title)
        .first()
    )


@transaction.atomic
def incident_open(
    *,
    workflow: Workflow,
    actor: User | None,
    title: str,
    started_at: datetime | None,
    detected_by: str = "",
    impact: str = "",
    severity: str = Severity.HIGH,
    cohorts: Iterable[Cohort] = (),
    escalation: Escalation | None = None,
    threshold: Threshold | None = None,
    now: datetime | None = None,
) -> Incident:
    """Open an incident. `actor=None` is the system acting on a breach of `threshold` (rule 4);
    otherwise the actor must be the owner or an ops leader. A given `escalation` is linked to it.

    A breach while the system's incident with the same title is still open joins it (its cohorts
    added, a timeline entry written) rather than opening another: one sweep breaching a
    per-cohort threshold in three cohorts is one incident, not three.
    """
    now = now or timezone.now()
    if actor is not None or threshold is None:
        _check_allowed(actor, workflow)
    if escalation is not None and escalation.workflow_id != workflow.pk:
        raise ApplicationError(MSG_ESCALATION_ELSEWHERE)
    if threshold is not None and threshold.workflow_id != workflow.pk:
        raise ApplicationError(MSG_THRESHOLD_ELSEWHERE)
    values, cohorts = _clean_details(
        workflow=workflow,
        title=title,
        started_at=started_at,
        detected_by=detected_by,
        impact=impact,
        severity=severity,
        cohorts=cohorts,
        now=now,
    )
    if actor is None and (existing := _open_breach_incident(workflow, values["title"])):
        return _join_breach(existing, cohorts=cohorts, reason=values["impact"], now=now)
    incident = Incident(workflow=workflow, opened_by=actor, **values)
    incident.full_clean(exclude=["workflow"])
    incident.save()
    incident.cohorts.set(cohorts)
    if escalation is not None:
        Escalation.objects.filter(pk=escalation.pk).update(incident=incident)
        escalation.incident = incident
    source = (
        f"Opened from the escalation “{escalation.title}”."
        if escalation is not None
        else "Opened automatically on a threshold breach."
        if actor is None
        else ""
    )
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="opened incident",
        target=incident.title,
        changes={"Cohorts affected": ["—", _names(cohorts) or "—"]} if cohorts else None,
        note=source,
    )
    return incident


def _join_breach(
    incident: Incident, *, cohorts: list[Cohort], reason: str, now: datetime
) -> Incident:
    known = {cohort.pk for cohort in incident.cohorts.all()}
    new = [cohort for cohort in cohorts if cohort.pk not in known]
    if new:
        incident.cohorts.add(*new)
    text = BREACH_JOINED.format(cohorts=_names(new) or "the same scope", reason=reason).strip()
    IncidentUpdate.objects.create(incident=incident, at=now, text=text[:MAX_ENTRY])
    return incident


def _locked_open(incident: Incident, actor: User) -> Incident:
    """The incident, locked, with its workflow; refused unless open and the actor may change it."""
    incident = Incident.objects.select_for_update().select_related("workflow").get(pk=incident.pk)
    _check_allowed(actor, incident.workflow)
    if incident.status != IncidentStatus.OPEN:
        raise ApplicationError(MSG_CLOSED)
    return incident


@transaction.atomic
def incident_update_add(
    *,
    incident: Incident,
    actor: User,
    text: str,
    at: datetime | None = None,
    publish: bool = False,
) -> IncidentUpdate:
    """Add a timeline entry (at `at`, default now) to an open incident. With `publish`, it is also
    posted at once to the affected cohorts' inbox as an "incident update" notice."""
    incident = _locked_open(incident, actor)
    now = timezone.now()
    at = at or now
    text = _checked_text(text, label="The entry", limit=MAX_ENTRY, field="text")
    if not text:
        raise ApplicationError(MSG_ENTRY_REQUIRED, field="text")
    if at > now:
        raise ApplicationError(MSG_ENTRY_IN_FUTURE, field="at")
    if at < incident.started_at:
        raise ApplicationError(MSG_ENTRY_BEFORE_START, field="at")
    update = IncidentUpdate(incident=incident, at=at, text=text, author=actor)
    update.full_clean(exclude=["incident"])
    update.save()
    activity_record(
        workflow=incident.workflow,
        actor=actor,
        verb="added to the timeline of incident",
        target=incident.title,
        note=text,
    )
    if publish:
        notice_publish_for_incident(
            incident=incident,
            actor=actor,
            kind=NoticeKind.INCIDENT_UPDATE,
            title=UPDATE_TITLE.format(title=incident.title)[:MAX_TITLE],
            body=UPDATE_BODY.format(workflow=incident.workflow.name, text=text),
        )
    return update


@transaction.atomic
def incident_update_details(
    *,
    incident: Incident,
    actor: User,
    title: str,
    started_at: datetime | None,
    detected_by: str = "",
    impact: str = "",
    severity: str = Severity.HIGH,
    cohorts: Iterable[Cohort] = (),
) -> Incident:
    """Correct an open incident's details. Returns it; records before → after of what changed."""
    incident = _locked_open(incident, actor)
    values, cohorts = _clean_details(
        workflow=incident.workflow,
        title=title,
        started_at=started_at,
        detected_by=detected_by,
        impact=impact,
        severity=severity,
        cohorts=cohorts,
        now=timezone.now(),
    )
    changes: dict[str, list[str]] = {}
    for name, value in values.items():
        before = getattr(incident, name)
        if before != value:
            label = str(Incident._meta.get_field(name).verbose_name).capitalize()
            changes[label] = [_shown(before), _shown(value)]
            setattr(incident, name, value)
    before_cohorts = list(incident.cohorts.all())
    if {c.pk for c in before_cohorts} != {c.pk for c in cohorts}:
        changes["Cohorts affected"] = [_names(before_cohorts) or "—", _names(cohorts) or "—"]
        incident.cohorts.set(cohorts)
    if not changes:
        return incident
    incident.full_clean(exclude=["workflow"])
    incident.save()
    activity_record(
        workflow=incident.workflow,
        actor=actor,
        verb="changed incident",
        target=incident.title,
        changes=changes,
    )
    return incident


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return format_instant(value)
    return str(value) if value not in (None, "") else "—"


def _when(value: datetime) -> str:
    return date_format(timezone.localtime(value), "j M Y, H:i T")


def _short(text: str, limit: int = NOTICE_ENTRY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def incident_notice_draft(incident: Incident, *, cohorts: list[Cohort]) -> tuple[str, str]:
    """The explanation notice: (title, body) in Markdown-ish plain text, for the cohorts."""
    workflow = incident.workflow
    day = date_format(timezone.localtime(incident.started_at), "j F Y")
    prefix = NOTICE_TITLE.format(workflow="", date=day)
    name = workflow.name[: MAX_TITLE - len(prefix)]
    title = NOTICE_TITLE.format(workflow=name, date=day)
    updates = list(incident.updates.all())
    shown = updates[-NOTICE_TIMELINE_ENTRIES:]
    timeline = [f"- {_when(incident.started_at)}: the problem began ({_short(incident.title)})."]
    if len(updates) > len(shown):
        timeline.append(f"- … {len(updates) - len(shown)} earlier entries left out.")
    timeline += [f"- {_when(u.at)}: {_short(u.text)}" for u in shown]
    timeline.append(f"- {_when(incident.closed_at)}: resolved, and this incident closed.")
    sections = [
        f"To {_short(incident_audience(incident, cohorts), NOTICE_AUDIENCE_CHARS)},",
        f"This explains a problem with “{workflow.name}” that affected you, and what we changed.",
        f"## What happened\n\n{incident.what_happened}",
    ]
    if incident.impact:
        sections.append(f"## Who and what was affected\n\n{incident.impact}")
    sections += [
        "## Timeline\n\n" + "\n".join(timeline),
        f"## What we changed\n\n{incident.what_changed}",
        f"If you have questions, contact {workflow.owner}, who owns this workflow.",
    ]
    return title, "\n\n".join(sections)


@transaction.atomic
def incident_close(
    *, incident: Incident, actor: User, what_happened: str, what_changed: str
) -> Incident:
    """Close an open incident with what happened and what changed (both required), and publish
    the explanation notice to the affected cohorts at once. Nothing changes when it is
    refused."""
    incident = (
        Incident.objects.select_for_update()
        .select_related("workflow", "workflow__owner")
        .get(pk=incident.pk)
    )
    _check_allowed(actor, incident.workflow)
    if incident.status != IncidentStatus.OPEN:
        raise ApplicationError(MSG_ALREADY_CLOSED)
    what_happened = _checked_text(
        what_happened, label="“What happened”", limit=MAX_EXPLANATION, field="what_happened"
    )
    if not what_happened:
        raise ApplicationError(MSG_WHAT_HAPPENED_REQUIRED, field="what_happened")
    what_changed = _checked_text(
        what_changed, label="“What changed”", limit=MAX_EXPLANATION, field="what_changed"
    )
    if not what_changed:
        raise ApplicationError(MSG_WHAT_CHANGED_REQUIRED, field="what_changed")
    incident.what_happened = what_happened
    incident.what_changed = what_changed
    incident.status = IncidentStatus.CLOSED
    incident.closed_at = timezone.now()
    incident.closed_by = actor
    cohorts = list(incident.cohorts.all())
    incident.notice_title, incident.notice_body = incident_notice_draft(incident, cohorts=cohorts)
    incident.full_clean(exclude=["workflow"])
    incident.save()
    activity_record(
        workflow=incident.workflow,
        actor=actor,
        verb="closed incident",
        target=incident.title,
        note=f"Explanation published to {incident_audience(incident, cohorts)}.",
    )
    notice_publish_for_incident(
        incident=incident,
        actor=actor,
        kind=NoticeKind.INCIDENT_EXPLANATION,
        title=incident.notice_title,
        body=incident.notice_body,
    )
    return incident

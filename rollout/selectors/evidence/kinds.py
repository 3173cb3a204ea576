"""The kinds of evidence: for each, where its entries are (`rows`) and how one page of them is
read (`load`). KINDS at the bottom is the registry, in the order the filter offers them.

To add a kind (quarterly reviews, say): write `_review_rows()` returning
`timeline_rows(Review.objects.filter(...), kind="review", workflow="workflow_id",
at="completed_at")` and `_review_load(pks)` returning {pk: EvidenceEntry} in a fixed number of
queries, then add `EvidenceKind("review", "Reviews", _review_rows, _review_load)` to KINDS. The
timeline, its filter, the exports and the board pack pick it up.
"""

from datetime import date, datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from rollout.lib.numbers import format_count, format_percent
from rollout.models import (
    ActivityEntry,
    BreachAction,
    ChangeNotice,
    Comparator,
    DeliveryChannel,
    DeliveryStatus,
    EscalationEvent,
    EscalationEventKind,
    EscalationSource,
    EscalationStatus,
    Incident,
    IncidentStatus,
    Metric,
    NoticeDelivery,
    NoticeKind,
    NoticeReceipt,
    NoticeStatus,
    Phase,
    PhaseKind,
    PhaseStatus,
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
    Severity,
    ThresholdEvaluation,
)
from rollout.selectors.evidence.entries import EvidenceEntry, EvidenceKind, timeline_rows
from rollout.selectors.thresholds import format_threshold_value

# Decided requests are evidence; open ones are not yet, and one the requester withdrew never was.
DECIDED_PROMOTION = (
    PromotionStatus.EXECUTED,
    PromotionStatus.REJECTED,
    PromotionStatus.LAPSED,
    PromotionStatus.FAILED,
)
VERB_PAUSED = "paused"  # rollout.services.phase_control
OWNERSHIP_VERBS = ("handed over", "made ownerless")  # rollout.services.workflows, accounts
NOBODY = "—"


def _day(value: date | datetime | None) -> str:
    if value is None:
        return NOBODY
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return date_format(value, "j M Y")


def _person(user: object) -> str:
    return str(user) if user is not None else NOBODY


# --- Phase changes: planned against actual dates ------------------------------------------------


def _phase_rows() -> QuerySet:
    return timeline_rows(
        Phase.objects.filter(actual_start__isnull=False),
        kind="phase",
        workflow="workflow_id",
        at="actual_start",
    )


def _slip(planned: date | None, actual: datetime | None) -> str:
    """ "on plan", "3 days late", "2 days early" (by the reader's calendar)."""
    if planned is None or actual is None:
        return ""
    days = (timezone.localtime(actual).date() - planned).days
    if days == 0:
        return "on plan"
    word = "day" if abs(days) == 1 else "days"
    return f"{abs(days)} {word} {'late' if days > 0 else 'early'}"


def _phase_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    for phase in Phase.objects.filter(pk__in=pks).select_related("workflow"):
        status = PhaseStatus(phase.status)
        planned = f"{_day(phase.planned_start)} – {_day(phase.planned_end)}"
        ended = _day(phase.actual_end) if phase.actual_end else "in progress"
        details = [
            ("Planned", planned),
            ("Actual", f"{_day(phase.actual_start)} – {ended}"),
            ("Started", _slip(phase.planned_start, phase.actual_start)),
        ]
        if phase.actual_end and phase.planned_end:
            details.append(("Ended", _slip(phase.planned_end, phase.actual_end)))
        details.append(("Status", status.label))
        if phase.pause_reason:
            details.append(("Paused because", phase.pause_reason))
        tone = {PhaseStatus.PAUSED: "warn", PhaseStatus.ROLLED_BACK: "bad"}.get(status, "good")
        entries[phase.pk] = EvidenceEntry(
            kind="phase",
            kind_label="Phase change",
            at=phase.actual_start,
            workflow=phase.workflow,
            title=f"{PhaseKind(phase.kind).label} started",
            details=details,
            url=reverse("workflow_plan", args=[phase.workflow.slug]),
            tone=tone,
        )
    return entries


# --- Promotions and gate overrides (one request each: an overridden one is an override) ---------


def _promotion_rows() -> QuerySet:
    return timeline_rows(
        PromotionRequest.objects.filter(status__in=DECIDED_PROMOTION, override_reason=""),
        kind="promotion",
        workflow="workflow_id",
        at="decided_at",
    )


def _override_rows() -> QuerySet:
    return timeline_rows(
        PromotionRequest.objects.filter(status__in=DECIDED_PROMOTION).exclude(override_reason=""),
        kind="override",
        workflow="workflow_id",
        at="decided_at",
    )


def _requests(pks: list[int]) -> QuerySet[PromotionRequest]:
    """Two queries: the requests with their phases and people, then their approvals."""
    return (
        PromotionRequest.objects.filter(pk__in=pks)
        .select_related("workflow", "from_phase", "to_phase", "requested_by", "overridden_by")
        .prefetch_related(
            Prefetch(
                "approvals",
                queryset=PromotionApproval.objects.select_related("approver").order_by(
                    "created_at", "pk"
                ),
            )
        )
    )


def _promotion_entry(request: PromotionRequest, *, kind: str, kind_label: str) -> EvidenceEntry:
    move = f"{PhaseKind(request.from_phase.kind).label} → {PhaseKind(request.to_phase.kind).label}"
    status = PromotionStatus(request.status)
    approvers = ", ".join(str(a.approver) for a in request.approvals.all()) or NOBODY
    details = [
        ("Requested by", f"{request.requested_by} on {_day(request.requested_at)}"),
        ("Approved by", approvers),
    ]
    if request.override_reason:
        details.append(("Gate overridden by", _person(request.overridden_by)))
        details.append(("Written reason", request.override_reason))
    if request.note:
        details.append(("Request note", request.note))
    details.append(("Outcome", status.label + (f": {request.outcome}" if request.outcome else "")))
    done = status == PromotionStatus.EXECUTED
    title = f"Promoted: {move}" if done else f"Promotion {status.label.lower()}: {move}"
    return EvidenceEntry(
        kind=kind,
        kind_label=kind_label,
        at=request.decided_at,
        workflow=request.workflow,
        title=title,
        details=details,
        url=reverse("workflow_gate", args=[request.workflow.slug]),
        tone="warn" if request.override_reason else ("good" if done else "bad"),
    )


def _promotion_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    return {
        r.pk: _promotion_entry(r, kind="promotion", kind_label="Promotion") for r in _requests(pks)
    }


def _override_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    return {
        r.pk: _promotion_entry(r, kind="override", kind_label="Gate override")
        for r in _requests(pks)
    }


# --- Threshold breaches, and the pauses (theirs or by hand) -------------------------------------


def _breach_rows() -> QuerySet:
    return timeline_rows(
        ThresholdEvaluation.objects.filter(breach=True),
        kind="breach",
        workflow="threshold__workflow_id",
        at="evaluated_at",
    )


def _breach_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    evaluations = ThresholdEvaluation.objects.filter(pk__in=pks).select_related(
        "threshold__workflow", "cohort"
    )
    for evaluation in evaluations:
        threshold = evaluation.threshold
        metric = Metric(threshold.metric)
        where = f" for “{evaluation.cohort.name}”" if evaluation.cohort else ""
        limit = format_threshold_value(threshold.metric, threshold.limit)
        action = BreachAction(threshold.action)
        entries[evaluation.pk] = EvidenceEntry(
            kind="breach",
            kind_label="Threshold breach",
            at=evaluation.evaluated_at,
            workflow=threshold.workflow,
            title=f"{metric.label} breached its threshold{where}",
            details=[
                ("Observed", format_threshold_value(threshold.metric, evaluation.observed)),
                ("Threshold", f"{Comparator(threshold.comparator).label} {limit}"),
                ("Sample", format_count(evaluation.sample)),
                ("Action", action.label),
                ("Why", evaluation.reason),
            ],
            url=reverse("workflow_thresholds", args=[threshold.workflow.slug]),
            tone="bad",
        )
    return entries


def _pause_rows() -> QuerySet:
    return timeline_rows(
        ActivityEntry.objects.filter(verb=VERB_PAUSED, workflow__isnull=False),
        kind="pause",
        workflow="workflow_id",
        at="created_at",
    )


def _pause_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    for entry in ActivityEntry.objects.filter(pk__in=pks).select_related("workflow", "actor"):
        by = str(entry.actor) if entry.actor else "Rollout, automatically on a threshold breach"
        entries[entry.pk] = EvidenceEntry(
            kind="pause",
            kind_label="Roll-out paused",
            at=entry.created_at,
            workflow=entry.workflow,
            title=f"{entry.target} paused",
            details=[("Paused by", by), ("Reason", entry.note or NOBODY)],
            url=reverse("workflow_activity", args=[entry.workflow.slug]),
            tone="warn",
        )
    return entries


# --- Incidents ----------------------------------------------------------------------------------


def _incident_rows() -> QuerySet:
    return timeline_rows(
        Incident.objects.all(), kind="incident", workflow="workflow_id", at="started_at"
    )


def _incident_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    incidents = (
        Incident.objects.filter(pk__in=pks).select_related("workflow").prefetch_related("cohorts")
    )
    for incident in incidents:
        closed = incident.status == IncidentStatus.CLOSED
        cohorts = ", ".join(sorted(c.name for c in incident.cohorts.all())) or "None named"
        details = [
            ("Status", f"Closed on {_day(incident.closed_at)}" if closed else "Open"),
            ("Severity", Severity(incident.severity).label),
            ("Cohorts affected", cohorts),
            ("Impact", incident.impact or NOBODY),
            ("What happened", incident.what_happened or "Not written yet"),
            ("What changed", incident.what_changed or "Not written yet"),
        ]
        entries[incident.pk] = EvidenceEntry(
            kind="incident",
            kind_label="Incident",
            at=incident.started_at,
            workflow=incident.workflow,
            title=incident.title,
            details=details,
            url=reverse("incident_detail", args=[incident.workflow.slug, incident.pk]),
            tone="warn" if closed else "bad",
        )
    return entries


# --- Notices published, with how many read and acknowledged them --------------------------------


def _notice_rows() -> QuerySet:
    return timeline_rows(
        ChangeNotice.objects.filter(status=NoticeStatus.PUBLISHED, published_at__isnull=False),
        kind="notice",
        workflow="workflow_id",
        at="published_at",
    )


def _notice_counts(pks: list[int]) -> dict[int, dict[str, int]]:
    """{notice id: recipients, read, acknowledged} in one query. Someone whose delivery was
    skipped at send time is not a recipient (as rollout.selectors.notice_stats counts)."""
    skipped = NoticeDelivery.objects.filter(
        notice_id=OuterRef("notice_id"),
        recipient_id=OuterRef("recipient_id"),
        channel=DeliveryChannel.IN_APP,
        kind="notice",
        status=DeliveryStatus.SKIPPED,
    )
    rows = (
        NoticeReceipt.objects.filter(notice_id__in=pks)
        .filter(~Exists(skipped))
        .values("notice_id")
        .annotate(
            recipients=Count("pk"),
            read=Count("pk", filter=Q(read_at__isnull=False)),
            acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        )
        .order_by()
    )
    return {row.pop("notice_id"): row for row in rows}


def _share(part: int, whole: int) -> str:
    return f"{format_count(part)} of {format_count(whole)} ({format_percent(part / whole)})"


def _notice_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    counts = _notice_counts(pks)
    entries = {}
    for notice in ChangeNotice.objects.filter(pk__in=pks).select_related("workflow"):
        numbers = counts.get(notice.pk, {"recipients": 0, "read": 0, "acknowledged": 0})
        whole = numbers["recipients"]
        details = [("Kind", NoticeKind(notice.kind).label), ("Recipients", format_count(whole))]
        if whole:
            details.append(("Read", _share(numbers["read"], whole)))
            acked = _share(numbers["acknowledged"], whole)
            details.append(
                ("Acknowledged", acked if notice.requires_ack else f"{acked}, not required")
            )
        if notice.urgent:
            details.append(("Urgent", notice.urgent_reason or "Yes"))
        low = notice.requires_ack and whole and numbers["acknowledged"] / whole < 0.5
        entries[notice.pk] = EvidenceEntry(
            kind="notice",
            kind_label="Notice published",
            at=notice.published_at,
            workflow=notice.workflow,
            title=notice.title,
            details=details,
            url=reverse("notice_detail", args=[notice.workflow.slug, notice.pk]),
            tone="warn" if low else "",
        )
    return entries


# --- Ownership changes --------------------------------------------------------------------------


def _ownership_rows() -> QuerySet:
    return timeline_rows(
        ActivityEntry.objects.filter(verb__in=OWNERSHIP_VERBS, workflow__isnull=False),
        kind="ownership",
        workflow="workflow_id",
        at="created_at",
    )


def _ownership_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    for entry in ActivityEntry.objects.filter(pk__in=pks).select_related("workflow", "actor"):
        before, after = (list(entry.changes.get("owner") or []) + ["", ""])[:2]
        handed = entry.verb == "handed over"
        details = [("From", before or NOBODY), ("To", after or NOBODY)]
        details.append(("By", _person(entry.actor) if entry.actor else "Rollout"))
        if entry.note:
            details.append(("Note", entry.note))
        entries[entry.pk] = EvidenceEntry(
            kind="ownership",
            kind_label="Ownership change",
            at=entry.created_at,
            workflow=entry.workflow,
            title="Ownership handed over" if handed else "Owner deactivated: workflow ownerless",
            details=details,
            url=reverse("workflow_activity", args=[entry.workflow.slug]),
            tone="" if handed else "bad",
        )
    return entries


# --- Escalations that reached the end of their path ---------------------------------------------


def _escalation_rows() -> QuerySet:
    return timeline_rows(
        EscalationEvent.objects.filter(kind=EscalationEventKind.EXHAUSTED),
        kind="escalation",
        workflow="escalation__workflow_id",
        at="at",
    )


def _escalation_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    events = EscalationEvent.objects.filter(pk__in=pks).select_related(
        "escalation__workflow", "escalation__current_contact"
    )
    for event in events:
        escalation = event.escalation
        status = EscalationStatus(escalation.status)
        if status == EscalationStatus.RESOLVED:
            state = f"Resolved on {_day(escalation.resolved_at)}"
        else:
            state = status.label
        entries[event.pk] = EvidenceEntry(
            kind="escalation",
            kind_label="Escalation exhausted",
            at=event.at,
            workflow=escalation.workflow,
            title=f"Escalation reached its last level: {escalation.title}",
            details=[
                ("Severity", Severity(escalation.severity).label),
                ("Source", EscalationSource(escalation.source).label),
                ("Opened", _day(escalation.opened_at)),
                ("Last contact", _person(escalation.current_contact)),
                ("Now", state),
            ],
            url=reverse("escalation_detail", args=[escalation.workflow.slug, escalation.pk]),
            tone="" if status == EscalationStatus.RESOLVED else "bad",
        )
    return entries


# Reviews (issue 16, part 1) plug in here: EvidenceKind("review", "Reviews", ...).
KINDS: tuple[EvidenceKind, ...] = (
    EvidenceKind("phase", "Phase changes", _phase_rows, _phase_load),
    EvidenceKind("promotion", "Promotions", _promotion_rows, _promotion_load),
    EvidenceKind("override", "Gate overrides", _override_rows, _override_load),
    EvidenceKind("breach", "Threshold breaches", _breach_rows, _breach_load),
    EvidenceKind("pause", "Pauses", _pause_rows, _pause_load),
    EvidenceKind("incident", "Incidents", _incident_rows, _incident_load),
    EvidenceKind("notice", "Notices published", _notice_rows, _notice_load),
    EvidenceKind("ownership", "Ownership changes", _ownership_rows, _ownership_load),
    EvidenceKind("escalation", "Escalations exhausted", _escalation_rows, _escalation_load),
)
KINDS_BY_KEY = {kind.key: kind for kind in KINDS}

"""Phase changes (planned against actual dates), promotions with who requested and who approved,
and gate overrides with their written reasons."""

from datetime import date, datetime

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from rollout.models import (
    Phase,
    PhaseKind,
    PhaseStatus,
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
)
from rollout.selectors.evidence.entries import EvidenceEntry, timeline_rows
from rollout.selectors.evidence.kinds.text import NOBODY, day_text, person_text

# Decided requests are evidence; open ones are not yet, and one the requester withdrew never was.
DECIDED_PROMOTION = (
    PromotionStatus.EXECUTED,
    PromotionStatus.REJECTED,
    PromotionStatus.LAPSED,
    PromotionStatus.FAILED,
)

# --- Phase changes: planned against actual dates ------------------------------------------------


def phase_rows() -> QuerySet:
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


def phase_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    for phase in Phase.objects.filter(pk__in=pks).select_related("workflow"):
        status = PhaseStatus(phase.status)
        planned = f"{day_text(phase.planned_start)} – {day_text(phase.planned_end)}"
        ended = day_text(phase.actual_end) if phase.actual_end else "in progress"
        details = [
            ("Planned", planned),
            ("Actual", f"{day_text(phase.actual_start)} – {ended}"),
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


def promotion_rows() -> QuerySet:
    return timeline_rows(
        PromotionRequest.objects.filter(status__in=DECIDED_PROMOTION, override_reason=""),
        kind="promotion",
        workflow="workflow_id",
        at="decided_at",
    )


def override_rows() -> QuerySet:
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
        ("Requested by", f"{request.requested_by} on {day_text(request.requested_at)}"),
        ("Approved by", approvers),
    ]
    if request.override_reason:
        details.append(("Gate overridden by", person_text(request.overridden_by)))
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


def promotion_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    return {
        r.pk: _promotion_entry(r, kind="promotion", kind_label="Promotion") for r in _requests(pks)
    }


def override_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    return {
        r.pk: _promotion_entry(r, kind="override", kind_label="Gate override")
        for r in _requests(pks)
    }

"""The executive evidence timeline (across workflows, and one workflow's), its CSV and JSON
exports with the same filter, and the printable board pack. Read only: no action here changes
anything, so an executive may open all of it."""

import csv
import json
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.dates import day_bounds
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.forms.evidence import BoardPackForm, EvidenceFilterForm
from rollout.lib.csv_cells import Echo, csv_row
from rollout.models import Workflow
from rollout.permissions import AnyUser, access_workflow
from rollout.selectors.evidence.board_pack import board_pack
from rollout.selectors.evidence.entries import EvidenceEntry
from rollout.selectors.evidence.timeline import (
    EvidenceScope,
    evidence_entries,
    evidence_iter,
    evidence_rows,
    evidence_sees_all,
    evidence_workflow_list,
)
from rollout.views._downloads import download
from rollout.views._workflow import workflow_page_context

EVIDENCE_PER_PAGE = 25
MSG_NO_EVIDENCE = "Evidence is for executives, ops leaders and the owners of workflows."
MSG_EXPORT_BAD_FILTER = "Nothing exported: {notes}"
CSV_HEADER = ("at", "kind", "kind_label", "workflow", "workflow_name", "title", "details", "url")


def _evidence_workflows(user: AnyUser) -> list[Workflow]:
    """The workflows whose evidence the user reads; a 403 for someone who reads none (a cohort
    member, or nobody's owner) — executives and ops leaders always pass, even with no workflows."""
    workflows = evidence_workflow_list(user)
    if not workflows and not evidence_sees_all(user):
        raise PermissionDenied(MSG_NO_EVIDENCE)
    return workflows


def _scope(
    user: AnyUser,
    form: EvidenceFilterForm,
    workflows: list[Workflow],
    workflow: Workflow | None = None,
) -> EvidenceScope:
    chosen = workflow or form.chosen_workflow()
    if chosen is not None:
        ids: tuple[int, ...] | None = (chosen.pk,)
    elif evidence_sees_all(user):
        ids = None
    else:
        ids = tuple(w.pk for w in workflows)
    dates = form.date_range()
    return EvidenceScope(
        workflow_ids=ids, kinds=form.chosen_kinds(), start=dates.start, end=dates.end
    )


def _export_query(request: HtmxHttpRequest, workflow: Workflow | None = None) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    if workflow is not None:
        params["workflow"] = workflow.slug
    return params.urlencode()


def _timeline_context(
    request: HtmxHttpRequest, scope: EvidenceScope, form: EvidenceFilterForm
) -> dict[str, object]:
    page = paginate(evidence_rows(scope), request.GET, per_page=EVIDENCE_PER_PAGE)
    page["page_obj"].object_list = evidence_entries(page["page_obj"].object_list)
    filtered = any(form.data.get(name) for name in form.fields)
    return {
        **page,
        "entries": page["page_obj"].object_list,
        "form": form,
        "notes": form.notes(),
        "filtered": filtered,
    }


@require_GET
def evidence_timeline(request: HtmxHttpRequest) -> HttpResponse:
    """What happened across every workflow the reader may see, newest first, 25 a page."""
    workflows = _evidence_workflows(request.user)
    form = EvidenceFilterForm(request.GET or None, workflows=workflows)
    context = _timeline_context(request, _scope(request.user, form, workflows), form)
    context.update(
        workflow_count=len(workflows),
        export_query=_export_query(request),
    )
    return render(request, "rollout/evidence_timeline.html", context)


@require_GET
def workflow_evidence(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """One workflow's evidence, in its own sections (the same timeline, one workflow)."""
    workflow = access_workflow(request.user, slug)
    form = EvidenceFilterForm(request.GET or None, workflows=[workflow], with_workflow=False)
    context = workflow_page_context(request.user, workflow, tab="evidence")
    context.update(_timeline_context(request, _scope(request.user, form, [], workflow), form))
    context["export_query"] = _export_query(request, workflow)
    return render(request, "rollout/workflow_evidence.html", context)


# --- Exports ------------------------------------------------------------------------------------


# A reversed range is still understood (its days are swapped); anything else is refused.
_REFUSED = {message for _name, message in EvidenceFilterForm.MESSAGES}


def _export_scope(request: HtmxHttpRequest) -> tuple[EvidenceScope | None, str]:
    """The scope of an export, or None and the reason (a filter value not understood)."""
    workflows = _evidence_workflows(request.user)
    form = EvidenceFilterForm(request.GET or None, workflows=workflows)
    notes = [note for note in form.notes() if note in _REFUSED]
    if notes:
        return None, MSG_EXPORT_BAD_FILTER.format(notes=" ".join(notes))
    return _scope(request.user, form, workflows), _file_stem(form)


def _file_stem(form: EvidenceFilterForm) -> str:
    workflow, dates = form.chosen_workflow(), form.date_range()
    stem = f"evidence-{workflow.slug}" if workflow else "evidence"
    if dates.first_day:
        stem += f"-from-{dates.first_day.isoformat()}"
    if dates.last_day:
        stem += f"-to-{dates.last_day.isoformat()}"
    return stem


def _record(request: HtmxHttpRequest, entry: EvidenceEntry) -> dict[str, object]:
    return {
        "at": timezone.localtime(entry.at).isoformat(),
        "kind": entry.kind,
        "kind_label": entry.kind_label,
        "workflow": entry.workflow.slug,
        "workflow_name": entry.workflow.name,
        "title": entry.title,
        "details": dict(entry.details),
        "url": request.build_absolute_uri(entry.url) if entry.url else "",
    }


def _csv_lines(request: HtmxHttpRequest, scope: EvidenceScope) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(CSV_HEADER)
    for entry in evidence_iter(scope):
        record = _record(request, entry)
        record["details"] = "\n".join(f"{label}: {text}" for label, text in entry.details)
        yield writer.writerow(csv_row([record[name] for name in CSV_HEADER]))


def _json_chunks(request: HtmxHttpRequest, scope: EvidenceScope) -> Iterator[str]:
    yield '{"entries": ['
    for index, entry in enumerate(evidence_iter(scope)):
        yield ("," if index else "") + json.dumps(_record(request, entry), ensure_ascii=False)
    yield "]}\n"


@require_GET
def evidence_csv(request: HtmxHttpRequest) -> HttpResponse:
    """The timeline's filter as CSV, one row per entry (details as "label: text" lines), every
    text cell guarded against formula injection. Streamed."""
    scope, stem = _export_scope(request)
    if scope is None:
        return HttpResponseBadRequest(stem, content_type="text/plain; charset=utf-8")
    return download(
        _csv_lines(request, scope),
        content_type="text/csv; charset=utf-8",
        filename=f"{stem}.csv",
    )


@require_GET
def evidence_json(request: HtmxHttpRequest) -> HttpResponse:
    """The timeline's filter as JSON: {"entries": [{at, kind, kind_label, workflow,
    workflow_name, title, details: {label: text}, url}]}, newest first. Streamed."""
    scope, stem = _export_scope(request)
    if scope is None:
        return HttpResponseBadRequest(stem, content_type="text/plain; charset=utf-8")
    return download(
        _json_chunks(request, scope),
        content_type="application/json",
        filename=f"{stem}.json",
    )


# --- Board pack ---------------------------------------------------------------------------------


@require_GET
def evidence_board_pack(request: HtmxHttpRequest) -> HttpResponse:
    """A page per workflow for the quarter (?quarter=2026-Q4, default the current one), made to
    be printed: phase, owner, health, adoption and the quarter's evidence."""
    workflows = _evidence_workflows(request.user)
    form = BoardPackForm(request.GET or None)
    quarter, notes = form.chosen()
    today = timezone.localdate()
    adoption_end = min(quarter.last_day, today)
    pages = board_pack(
        workflows,
        start=day_bounds(quarter.first_day)[0],
        end=day_bounds(quarter.last_day)[1],
        adoption_end=adoption_end,
    )
    return render(
        request,
        "rollout/evidence_board_pack.html",
        {
            "form": form,
            "quarter": quarter,
            "notes": notes,
            "pages": pages,
            "adoption_end": adoption_end,
            "generated_at": timezone.now(),
        },
    )

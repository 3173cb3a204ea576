"""The org-wide activity log (entries that belong to no workflow: invites, role changes,
deactivations, org-wide blackout windows), for ops leaders, with the evidence timeline's kind
and date filter and its CSV and JSON exports."""

import csv
import json
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import is_ops_leader
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.forms.evidence import OrgActivityFilterForm
from rollout.lib.csv_cells import Echo, csv_row
from rollout.models import ActivityEntry
from rollout.permissions import AnyUser
from rollout.selectors.org_activity import org_activity_list
from rollout.views._downloads import download

ACTIVITY_PER_PAGE = 25
EXPORT_CHUNK = 500
MSG_OPS_ONLY = "The org-wide activity log is for ops leaders."
MSG_EXPORT_BAD_FILTER = "Nothing exported: {notes}"
CSV_HEADER = ("at", "actor", "verb", "target", "changes", "note")


def _check(user: AnyUser) -> None:
    if not is_ops_leader(user):
        raise PermissionDenied(MSG_OPS_ONLY)


def _entries(form: OrgActivityFilterForm):
    dates = form.date_range()
    return org_activity_list(kind=form.chosen_kind(), start=dates.start, end=dates.end)


@require_GET
def org_activity(request: HtmxHttpRequest) -> HttpResponse:
    """Org-wide entries, newest first, 25 a page."""
    _check(request.user)
    form = OrgActivityFilterForm(request.GET or None)
    page = paginate(_entries(form), request.GET, per_page=ACTIVITY_PER_PAGE)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        **page,
        "entries": page["page_obj"].object_list,
        "form": form,
        "notes": form.notes(),
        "filtered": any(form.data.get(name) for name in form.fields),
        "export_query": params.urlencode(),
    }
    return render(request, "rollout/org_activity.html", context)


def _record(entry: ActivityEntry) -> dict[str, object]:
    return {
        "at": timezone.localtime(entry.created_at).isoformat(),
        "actor": str(entry.actor) if entry.actor else "Rollout",
        "verb": entry.verb,
        "target": entry.target,
        "changes": entry.changes,
        "note": entry.note,
    }


def _export_form(request: HtmxHttpRequest) -> tuple[OrgActivityFilterForm, str]:
    _check(request.user)
    form = OrgActivityFilterForm(request.GET or None)
    refused = {message for _name, message in form.MESSAGES}
    notes = [note for note in form.notes() if note in refused]
    return form, MSG_EXPORT_BAD_FILTER.format(notes=" ".join(notes)) if notes else ""


def _csv_lines(form: OrgActivityFilterForm) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(CSV_HEADER)
    for entry in _entries(form).iterator(chunk_size=EXPORT_CHUNK):
        record = _record(entry)
        record["changes"] = entry.change_summary
        yield writer.writerow(csv_row([record[name] for name in CSV_HEADER]))


def _json_chunks(form: OrgActivityFilterForm) -> Iterator[str]:
    yield '{"entries": ['
    for index, entry in enumerate(_entries(form).iterator(chunk_size=EXPORT_CHUNK)):
        yield ("," if index else "") + json.dumps(_record(entry), ensure_ascii=False)
    yield "]}\n"


@require_GET
def org_activity_csv(request: HtmxHttpRequest) -> HttpResponse:
    """The filtered org-wide entries as CSV (changes as one readable line), cells guarded
    against formula injection. Streamed."""
    form, refused = _export_form(request)
    if refused:
        return HttpResponseBadRequest(refused, content_type="text/plain; charset=utf-8")
    return download(
        _csv_lines(form), content_type="text/csv; charset=utf-8", filename="org-activity.csv"
    )


@require_GET
def org_activity_json(request: HtmxHttpRequest) -> HttpResponse:
    """The filtered org-wide entries as JSON: {"entries": [{at, actor, verb, target, changes:
    {field: [before, after]}, note}]}. Streamed."""
    form, refused = _export_form(request)
    if refused:
        return HttpResponseBadRequest(refused, content_type="text/plain; charset=utf-8")
    return download(
        _json_chunks(form), content_type="application/json", filename="org-activity.json"
    )

"""The evidence timeline: every kind's rows in one UNION ALL of (kind, workflow, at, pk), newest
first, cut into pages by the database; then, per kind present on a page, one `load` (a query or
two). A page costs the same number of queries whatever the data size: the count, the page's
rows, and each present kind's load.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import batched

from django.db.models import QuerySet

from accounts.roles import is_executive, is_ops_leader
from rollout.models import Workflow, WorkflowUserObjectPermission
from rollout.permissions import PERMS_CACHE_ATTR, AnyUser
from rollout.selectors.evidence.entries import EvidenceEntry
from rollout.selectors.evidence.kinds import KINDS, KINDS_BY_KEY

EXPORT_CHUNK = 500  # rows enriched at a time while an export streams


def evidence_sees_all(user: AnyUser) -> bool:
    return is_ops_leader(user) or is_executive(user)


def evidence_workflow_list(user: AnyUser) -> list[Workflow]:
    """The workflows whose evidence the user may read, by name: every workflow for ops leaders
    and executives; for anyone else those they may view (rollout.permissions.can_view_workflow:
    an owner's own, and any granted to them). A cohort member, who only uses a workflow, reads
    none. One query."""
    if not user.is_authenticated or not user.is_active:
        return []
    workflows = Workflow.objects.with_owner().order_by("name")
    if not evidence_sees_all(user):
        viewable = WorkflowUserObjectPermission.objects.filter(
            user=user, permission__codename="view_workflow"
        ).values("content_object_id")
        workflows = workflows.filter(pk__in=viewable)
    return list(workflows)


def evidence_reads_any(user: AnyUser) -> bool:
    """Whether the user may read any evidence (the main menu's link): one query at most."""
    if not user.is_authenticated or not user.is_active:
        return False
    if evidence_sees_all(user):
        return True
    # On a workflow's page the permission check has already read the user's permissions on it
    # (rollout.permissions.workflow_perms keeps them on the user): an owner there needs no query.
    known: dict[int, frozenset[str]] = user.__dict__.get(PERMS_CACHE_ATTR, {})
    if any("view_workflow" in perms for perms in known.values()):
        return True
    return WorkflowUserObjectPermission.objects.filter(
        user=user, permission__codename="view_workflow"
    ).exists()


@dataclass(frozen=True)
class EvidenceScope:
    """What the timeline shows: `workflow_ids` None for every workflow (only for those who see
    all), the kinds by key (empty: all), and [start, end) bounds, either open."""

    workflow_ids: tuple[int, ...] | None
    kinds: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def evidence_rows(scope: EvidenceScope) -> QuerySet:
    """(kind, workflow id, at, pk) of every entry in scope, newest first: one UNION ALL."""
    kinds = [KINDS_BY_KEY[key] for key in scope.kinds] if scope.kinds else list(KINDS)
    parts = []
    for kind in kinds:
        rows = kind.rows()
        if scope.workflow_ids is not None:
            rows = rows.filter(ev_workflow__in=scope.workflow_ids)
        if scope.start is not None:
            rows = rows.filter(ev_at__gte=scope.start)
        if scope.end is not None:
            rows = rows.filter(ev_at__lt=scope.end)
        parts.append(rows)
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("-ev_at", "-ev_pk")


def evidence_entries(rows: Iterable[tuple[str, int, datetime, int]]) -> list[EvidenceEntry]:
    """The entries of these rows, in their order: one `load` per kind present. A row whose
    entry vanished between the two reads is left out."""
    rows = list(rows)
    pks_by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, _workflow, _at, pk in rows:
        pks_by_kind[kind].append(pk)
    loaded = {kind: KINDS_BY_KEY[kind].load(pks) for kind, pks in pks_by_kind.items()}
    return [loaded[kind][pk] for kind, _w, _a, pk in rows if pk in loaded[kind]]


def evidence_iter(scope: EvidenceScope) -> Iterator[EvidenceEntry]:
    """Every entry in scope, newest first, for an export: the rows read once, then enriched
    EXPORT_CHUNK at a time, so memory and queries grow with the export, not per row."""
    for chunk in batched(evidence_rows(scope).iterator(chunk_size=EXPORT_CHUNK), EXPORT_CHUNK):
        yield from evidence_entries(chunk)

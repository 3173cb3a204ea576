"""What one line of the evidence timeline is, and what a kind of evidence must provide.

Every kind is two small functions (rollout.selectors.evidence.kinds): `rows` says where its
entries are and when they happened, as one SELECT of (kind, workflow, at, pk) that the timeline
UNIONs with the others; `load` turns the primary keys of one page into entries, in a fixed number
of queries. The timeline and its exports never know a kind's table: a new kind is a new pair
added to the registry.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import CharField, F, QuerySet, Value
from django.db.models.expressions import Combinable

from rollout.models import Workflow

# The columns of the UNION ALL, named so that none collides with a model field ("kind", "at").
ROW_COLUMNS = ("ev_kind", "ev_workflow", "ev_at", "ev_pk")


@dataclass(frozen=True)
class EvidenceEntry:
    """One thing that happened to a workflow, as an executive reads it: a headline, who acted and
    the facts behind it (label → plain text, in the order shown), a link to where it lives, and
    a `tone` ("", "good", "warn", "bad") for the badge."""

    kind: str
    kind_label: str
    at: datetime
    workflow: Workflow
    title: str
    details: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    tone: str = ""


Loader = Callable[[list[int]], dict[int, EvidenceEntry]]


@dataclass(frozen=True)
class EvidenceKind:
    """`rows()` is a queryset annotated with ROW_COLUMNS (use `timeline_rows`); `load(pks)`
    answers {pk: entry} for the rows of one page, in a fixed number of queries."""

    key: str
    label: str
    rows: Callable[[], QuerySet]
    load: Loader


def timeline_rows(
    queryset: QuerySet, *, kind: str, workflow: str | Combinable, at: str | Combinable
) -> QuerySet:
    """`queryset` as rows of the timeline: its kind, the workflow id and the moment (field names
    or expressions), and its primary key, in the order the UNION needs."""
    return (
        queryset.order_by()
        .annotate(
            ev_kind=Value(kind, output_field=CharField()),
            ev_workflow=F(workflow) if isinstance(workflow, str) else workflow,
            ev_at=F(at) if isinstance(at, str) else at,
            ev_pk=F("pk"),
        )
        .values_list(*ROW_COLUMNS)
    )

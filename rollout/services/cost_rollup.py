"""Rolling one day's tokens and reported costs up into CostDay, per cohort and model version.

Called by rollout.services.usage_rollup for every day it rebuilds, inside its transaction: the
day's rows are replaced by a recomputation from its raw events, like UsageRollup, so late and
duplicate events are harmless. Prices are not applied here but when the rows are read
(rollout.selectors.costs): a price declared later re-costs the days it covers without a rebuild.

An event's model version is `attrs.model_version` when it reports one, else the model version of
the AI configuration in effect when it occurred (the first one for events before it). One
aggregate query per configuration version in effect that day (usually one).
"""

from datetime import date, datetime

from django.db import transaction
from django.db.models import BigIntegerField, Count, FloatField, Q, Sum, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from core.dates import day_bounds
from rollout.models import INPUT_KINDS, AIConfiguration, CostDay, EventKind, UsageEvent
from rollout.selectors.ai_config import ai_config_periods

MAX_VERSION = 80  # CostDay.model_version, as ConfigMismatchDay keeps a reported version
_HAS_COST = Q(attrs__has_key="cost")
_HAS_TOKENS = Q(attrs__has_key="input_tokens") | Q(attrs__has_key="output_tokens")
_COUNTERS = (
    "input_tokens",
    "output_tokens",
    "reported",
    "reported_cost",
    "tokens_only",
    "priced_input_tokens",
    "priced_output_tokens",
    "unreported",
)


def _tokens(name: str, condition: Q | None = None) -> Coalesce:
    total = Sum(Cast(KT(f"attrs__{name}"), BigIntegerField()), filter=condition)
    return Coalesce(total, Value(0), output_field=BigIntegerField())


def _period_rows(workflow_id: int, since: datetime, until: datetime, declared: str) -> list[dict]:
    tokens_only = ~_HAS_COST & _HAS_TOKENS
    return list(
        UsageEvent.objects.filter(
            Q(kind=EventKind.INVOCATION) | _HAS_COST | _HAS_TOKENS,
            workflow_id=workflow_id,
            occurred_at__gte=since,
            occurred_at__lt=until,
        )
        .exclude(kind__in=INPUT_KINDS)
        .annotate(
            version=Coalesce(KT("attrs__model_version"), Value(declared), output_field=TextField())
        )
        .values("cohort_id", "version")
        .annotate(
            input_tokens=_tokens("input_tokens"),
            output_tokens=_tokens("output_tokens"),
            reported=Count("event_id", filter=_HAS_COST),
            reported_cost=Coalesce(
                Sum(Cast(KT("attrs__cost"), FloatField()), filter=_HAS_COST),
                Value(0.0),
                output_field=FloatField(),
            ),
            tokens_only=Count("event_id", filter=tokens_only),
            priced_input_tokens=_tokens("input_tokens", tokens_only),
            priced_output_tokens=_tokens("output_tokens", tokens_only),
            unreported=Count("event_id", filter=~_HAS_COST & ~_HAS_TOKENS),
        )
        .order_by()
    )


def cost_rebuild_day(*, workflow_id: int, day: date) -> int:
    """Replace the day's CostDay rows with a recomputation from its raw events. Returns the
    number of cost-bearing events the day holds."""
    start, end = day_bounds(day)
    periods = ai_config_periods(workflow_id, start, end)
    if not periods:
        # A day before the first configuration: its events count under the first (as
        # ai_config_periods does for the first version's own day).
        first = (
            AIConfiguration.objects.filter(workflow_id=workflow_id)
            .order_by("effective_at", "version")
            .first()
        )
        periods = [(first, start, end)]
    rows: dict[tuple[int | None, str], CostDay] = {}
    total = 0
    for config, since, until in periods:
        declared = config.model_version if config is not None else ""
        for found in _period_rows(workflow_id, since, until, declared):
            version = str(found["version"] or "").strip()[:MAX_VERSION]
            key = (found["cohort_id"], version)
            row = rows.get(key)
            if row is None:
                row = rows[key] = CostDay(
                    workflow_id=workflow_id, cohort_id=key[0], day=day, model_version=version
                )
            for name in _COUNTERS:
                setattr(row, name, getattr(row, name) + found[name])
            total += found["reported"] + found["tokens_only"] + found["unreported"]
    with transaction.atomic():
        CostDay.objects.filter(workflow_id=workflow_id, day=day).delete()
        CostDay.objects.bulk_create(rows.values())
    return total

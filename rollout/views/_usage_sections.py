"""The key under which the usage page keeps its costliest part rendered: the charts, the table by
cohort and the cost section (`{% cache %}` in rollout/workflow_usage.html). Rendering them again
is most of the page's time (its charts, the period's people, the cost forecast); they change only
when their inputs do, and the key is made of those inputs, so a change to any of them makes a new
key (the old entry is never read again and expires):

* the rollups of the days shown (and the week before, which the smoothing and the forecast read):
  rollout.selectors.usage_summary.usage_rollup_stamp, which changes whenever one of those days is
  rolled up again — with it, everything derived from the day's events (people active, costs);
* the plan version, which every change to cohorts, memberships, accounts, holdouts and phases
  bumps (rollout.services.decision_cache.plan_changed): the members counted, the people the
  forecast counts at the next phase;
* what the page reads anyway, as read: the cohorts, the thresholds drawn on the charts, the
  members per cohort, the feedback counts of the table, and the prices and currency the costs
  are computed in (read for the key: applied when read, they change no rollup);
* the request's period, cohort, day, time zone and language, and the code that renders them
  (a digest of its source files, so a new release never shows the old rendering).
"""

import functools
import hashlib
import importlib
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models import Model
from django.template.loader import get_template
from django.utils import timezone, translation

from rollout.models import Cohort, Threshold, Workflow
from rollout.selectors.costs import model_price_terms
from rollout.selectors.feedback import CohortFeedback
from rollout.selectors.usage import DailySeries, UsageGroup
from rollout.selectors.usage_summary import Members, RollupStamp, cohort_members

# What renders the cached sections: their modules (by name) and templates.
_MODULES = (
    "rollout.views._usage_charts",
    "rollout.views._usage_cost",
    "rollout.views._usage_tables",
    "rollout.views._usage_sections",
    "rollout.lib.charts",
    "rollout.lib.numbers",
    "rollout.selectors.costs",
    "rollout.selectors.usage",
    "rollout.selectors.usage_summary",
    "rollout.templatetags.numbers",
)
_TEMPLATES = (
    "rollout/workflow_usage.html",
    "rollout/_usage_cost.html",
    "rollout/_usage_cost_row.html",
    "rollout/charts/line_chart.svg.html",
)


@functools.cache
def _code_digest() -> str:
    """A digest of the sources of what renders the sections, read once per process."""
    digest = hashlib.sha256()
    paths = [Path(importlib.import_module(name).__file__) for name in _MODULES]
    paths += [Path(get_template(name).origin.name) for name in _TEMPLATES]
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _fields(row: Model) -> tuple[object, ...]:
    """Every stored value of a row, in field order."""
    return tuple(getattr(row, field.attname) for field in row._meta.concrete_fields)


def members_under_plan(workflow: Workflow, cohorts: list[Cohort], version: str) -> Members:
    """rollout.selectors.usage_summary.cohort_members of the workflow's `cohorts`, kept in the
    cache under the plan `version` (which every change to cohorts, memberships and accounts
    bumps): counting the members of large cohorts is the costliest query of the page."""
    ids = [c.pk for c in cohorts]
    key = f"usage-members:{workflow.pk}:{version}:{','.join(map(str, ids))}"
    members = cache.get(key)
    if members is None:
        members = cohort_members(workflow, ids)
        cache.set(key, members, settings.ROLLOUT_USAGE_SECTIONS_SECONDS)
    return members


def usage_sections_key(
    workflow: Workflow,
    *,
    version: str,
    stamp: RollupStamp,
    days: int,
    cohort: Cohort | None,
    first_day: date,
    end: date,
    cohorts: list[Cohort],
    thresholds: list[Threshold],
    members: Members,
    feedback: dict[int | None, CohortFeedback],
    currency: str,
) -> str:
    """The key of the sections for this request, under the plan `version`
    (rollout.selectors.decision.plan_version): `first_day`..`end` are the days read (the period
    and the days before it that the smoothing and the forecast need), `stamp` their rollup mark
    (usage_rollup_stamp); `currency`, the organisation's (rollout.selectors.costs.currency_code).
    One small query: the prices."""
    parts = (
        _code_digest(),
        workflow.pk,
        workflow.slug,
        days,
        cohort.pk if cohort else None,
        first_day,
        end,
        timezone.get_current_timezone_name(),
        translation.get_language(),
        version,
        tuple(stamp),
        [_fields(c) for c in cohorts],
        [_fields(t) for t in thresholds],
        sorted(members.by_cohort.items()),
        members.in_any_cohort,
        sorted(((-1 if k is None else k), f.not_helpful, f.total) for k, f in feedback.items()),
        model_price_terms(workflow),
        currency,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


Shape = tuple[bool, list[UsageGroup]]


def _shape_key(sections_key: str) -> str:
    return f"usage-shape:{sections_key}"


def usage_shape_kept(sections_key: str, cohorts: list[Cohort]) -> Shape | None:
    """(whether the period shows any usage, the groups shown in the table's order) as kept
    under the sections' key by usage_shape_keep, or None. What the page shows beside the kept
    sections (what people say, drift and statuses per cohort) needs no more of the period's
    figures than that. The key holds the cohorts, so each kept id is one of `cohorts`."""
    kept = cache.get(_shape_key(sections_key))
    if kept is None:
        return None
    has_data, ids = kept
    by_id = {c.pk: c for c in cohorts}
    return has_data, [UsageGroup(None if i is None else by_id[i]) for i in ids]


def usage_shape_keep(sections_key: str, series: list[DailySeries]) -> Shape:
    """The shape of the period's `series` (usage_shape_kept), kept under the sections' key."""
    has_data = any(
        c.invocations or c.outcomes or c.shadow_compared for s in series for c in s.counts
    )
    groups = [UsageGroup(s.cohort) for s in series]
    ids = [g.cohort.pk if g.cohort else None for g in groups]
    cache.set(_shape_key(sections_key), (has_data, ids), settings.ROLLOUT_USAGE_SECTIONS_SECONDS)
    return has_data, groups

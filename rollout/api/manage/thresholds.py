"""/api/v1/workflows/{slug}/thresholds: a workflow's quality thresholds, as on its thresholds
page, through the same services (rollout.services.thresholds).

Values are in stored units, not the page's: a rate is a fraction from 0 to 1 (0.02 is 2%),
latency in milliseconds, a cost in the organisation's currency, an impact in its outcome metric's
unit. Each threshold is also given as the sentence the page shows.
"""

from typing import Any, Literal

from django.http import HttpResponse
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from core.errors import ApplicationError
from rollout.api.errors import ErrorOut, ValidationErrorOut
from rollout.api.manage.answers import (
    MAX_ID,
    ManageIn,
    ManagePatch,
    object_id,
    read_body,
    request_body,
)
from rollout.api.manage.auth import PersonalTokenAuth
from rollout.api.manage.common import (
    ManageHttpRequest,
    Slug,
    idempotent,
    workflow_changeable,
    workflow_visible,
)
from rollout.models import (
    BreachAction,
    Comparator,
    Metric,
    OutcomeMetric,
    Threshold,
    ThresholdScope,
    Workflow,
)
from rollout.selectors.costs import currency_code
from rollout.selectors.outcome_metrics import outcome_metric_list
from rollout.selectors.plan import data_source_get
from rollout.selectors.thresholds import (
    threshold_get_for_workflow,
    threshold_list_for_workflow,
    threshold_sentence,
)
from rollout.services.thresholds import (
    FIELDS,
    MAX_WINDOW_DAYS,
    threshold_create,
    threshold_delete,
    threshold_update,
)

router = Router(auth=PersonalTokenAuth(), tags=["Management"])

MSG_UNKNOWN_THRESHOLD = "This workflow has no threshold with this id."
MSG_UNKNOWN_SOURCE = "This workflow has no data source with this id."
MSG_UNKNOWN_OUTCOME = "This workflow has no outcome metric with this id."
MAX_SAMPLE = 2**31 - 1
MAX_VALUE = 1e15

MetricValue = Literal[tuple(Metric.values)]
ComparatorValue = Literal[tuple(Comparator.values)]
ScopeValue = Literal[tuple(ThresholdScope.values)]
ActionValue = Literal[tuple(BreachAction.values)]

_LIMIT = (
    "Where passing ends. A rate is a fraction from 0 to 1 (0.02 is 2%); p95 latency in "
    "milliseconds; a cost in the organisation's currency; an impact in its outcome metric's unit."
)
_MARGINAL = (
    "Optional edge of the marginal band beyond the limit, on the failing side, in the limit's "
    "unit (none for impact)."
)
_COMPARATOR = "lte: passes when at most the limit; gte: at least. Costs are lte; impact gte."
_SOURCE = "Only for input_rejection_rate and stale_input_rate: one data source's id (null: all)."
_OUTCOME = "Only, and required, for impact: the outcome metric's id."


class ThresholdOut(Schema):
    id: int
    metric: str
    comparator: str
    limit: float
    marginal_limit: float | None
    window_days: int
    min_sample: int
    scope: str
    source: int | None = Field(description="The data source judged, or null.")
    outcome_metric: int | None = Field(description="The outcome metric of an impact threshold.")
    bad_output: str
    action: str
    added_after_launch: bool = Field(description="Added or loosened after the limited started.")
    sentence: str = Field(description="The threshold in words, as the page shows it.")


class ThresholdIn(ManageIn):
    """A new threshold."""

    metric: MetricValue
    comparator: ComparatorValue = Field(default=Comparator.AT_MOST.value, description=_COMPARATOR)
    limit: float = Field(ge=-MAX_VALUE, le=MAX_VALUE, description=_LIMIT)
    marginal_limit: float | None = Field(
        default=None, ge=-MAX_VALUE, le=MAX_VALUE, description=_MARGINAL
    )
    window_days: int = Field(default=7, ge=1, le=MAX_WINDOW_DAYS)
    min_sample: int = Field(default=100, ge=1, le=MAX_SAMPLE)
    scope: ScopeValue = ThresholdScope.WORKFLOW.value
    source: int | None = Field(default=None, ge=1, le=MAX_ID, description=_SOURCE)
    outcome_metric: int | None = Field(default=None, ge=1, le=MAX_ID, description=_OUTCOME)
    bad_output: str = Field(
        min_length=1, max_length=2000, description="What a bad output looks like, in plain words."
    )
    action: ActionValue


class ThresholdPatch(ManagePatch):
    """The fields to change; the others keep their value. Null clears marginal_limit, source and
    outcome_metric."""

    metric: MetricValue = None
    comparator: ComparatorValue = Field(default=None, description=_COMPARATOR)
    limit: float = Field(default=None, ge=-MAX_VALUE, le=MAX_VALUE, description=_LIMIT)
    marginal_limit: float | None = Field(
        default=None, ge=-MAX_VALUE, le=MAX_VALUE, description=_MARGINAL
    )
    window_days: int = Field(default=None, ge=1, le=MAX_WINDOW_DAYS)
    min_sample: int = Field(default=None, ge=1, le=MAX_SAMPLE)
    scope: ScopeValue = None
    source: int | None = Field(default=None, ge=1, le=MAX_ID, description=_SOURCE)
    outcome_metric: int | None = Field(default=None, ge=1, le=MAX_ID, description=_OUTCOME)
    bad_output: str = Field(default=None, min_length=1, max_length=2000)
    action: ActionValue = None


def _out(threshold: Threshold, currency: str) -> dict[str, Any]:
    return {
        "id": threshold.pk,
        **{name: getattr(threshold, name) for name in FIELDS},
        "source": threshold.source_id,
        "outcome_metric": threshold.outcome_metric_id,
        "added_after_launch": threshold.added_after_launch,
        "sentence": threshold_sentence(threshold, currency),
    }


def _threshold(workflow: Workflow, threshold_id: int) -> Threshold:
    try:
        return threshold_get_for_workflow(workflow, threshold_id)
    except Threshold.DoesNotExist:
        raise HttpError(404, MSG_UNKNOWN_THRESHOLD) from None


def _related(workflow: Workflow, fields: dict[str, Any]) -> dict[str, Any]:
    """The ids of `source` and `outcome_metric` as this workflow's objects (400 for another's or
    an unknown one: whether another workflow has it is not told)."""
    fields = dict(fields)
    if fields.get("source") is not None:
        source = data_source_get(workflow, fields["source"])
        if source is None:
            raise ApplicationError(MSG_UNKNOWN_SOURCE, field="source")
        fields["source"] = source
    if fields.get("outcome_metric") is not None:
        try:
            fields["outcome_metric"] = outcome_metric_list(workflow).get(
                pk=fields["outcome_metric"]
            )
        except OutcomeMetric.DoesNotExist:
            raise ApplicationError(MSG_UNKNOWN_OUTCOME, field="outcome_metric") from None
    return fields


@router.get(
    "/workflows/{slug}/thresholds",
    response={200: list[ThresholdOut], 404: ErrorOut},
    summary="List a workflow's thresholds",
    operation_id="manage_thresholds_list",
    url_name="manage_thresholds_list",
)
def list_thresholds(request: ManageHttpRequest, slug: Slug) -> list[dict[str, Any]]:
    """Every threshold of the workflow, by metric."""
    workflow = workflow_visible(request, slug)
    currency = currency_code()
    return [_out(t, currency) for t in threshold_list_for_workflow(workflow)]


@router.post(
    "/workflows/{slug}/thresholds",
    response={
        201: ThresholdOut,
        400: ValidationErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Add a threshold",
    operation_id="manage_thresholds_create",
    url_name="manage_thresholds_create",
    openapi_extra=request_body(ThresholdIn, idempotent=True),
)
def create_threshold(request: ManageHttpRequest, slug: Slug) -> HttpResponse:
    """Adds a threshold; after the limited roll-out started it is marked as added after launch
    (rule 2). Takes an Idempotency-Key.

    Rules beyond the schema, answered with 400: a rate's limit and band edge from 0 to 1; latency
    and costs not negative; a cost threshold is lte; the band edge beyond the limit on the
    failing side; `source` only for the input rates, of this workflow, and never per cohort;
    `outcome_metric` for impact only, of this workflow and not archived; `bad_output` not blank."""
    workflow = workflow_changeable(request, slug)
    fields = _related(workflow, read_body(request, ThresholdIn).model_dump())

    def create() -> tuple[int, dict[str, Any]]:
        threshold = threshold_create(workflow=workflow, actor=request.user, **fields)
        return 201, _out(threshold, currency_code())

    return idempotent(request, create)


@router.patch(
    "/workflows/{slug}/thresholds/{threshold_id}",
    response={200: ThresholdOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change a threshold",
    operation_id="manage_thresholds_update",
    url_name="manage_thresholds_update",
    openapi_extra=request_body(ThresholdPatch),
)
def update_threshold(
    request: ManageHttpRequest, slug: Slug, threshold_id: int = object_id("The threshold's id.")
) -> dict[str, Any]:
    """Changes the fields sent. Loosening it after the limited roll-out started marks it (rule 2).

    Rules beyond the schema, answered with 400: as for a new threshold, on the whole threshold
    after the change."""
    workflow = workflow_changeable(request, slug)
    threshold = _threshold(workflow, threshold_id)
    sent = _related(workflow, read_body(request, ThresholdPatch).sent())
    fields = {name: sent.get(name, getattr(threshold, name)) for name in FIELDS}
    for name in ("source", "outcome_metric"):
        if name in sent:
            fields[name] = sent[name]
    threshold = threshold_update(threshold=threshold, actor=request.user, **fields)
    return _out(threshold, currency_code())


@router.delete(
    "/workflows/{slug}/thresholds/{threshold_id}",
    response={204: None, 403: ErrorOut, 404: ErrorOut},
    summary="Delete a threshold",
    operation_id="manage_thresholds_delete",
    url_name="manage_thresholds_delete",
)
def delete_threshold(
    request: ManageHttpRequest, slug: Slug, threshold_id: int = object_id("The threshold's id.")
) -> Status[None]:
    """Deletes the threshold (logged as after launch once the limited roll-out started)."""
    workflow = workflow_changeable(request, slug)
    threshold_delete(threshold=_threshold(workflow, threshold_id), actor=request.user)
    return Status(204, None)

"""GET /api/v1/workflows/{slug}/metrics: daily metrics per cohort, read from the rollups.

For the workflow's own API token, or for a signed-in person who may see the workflow (the browser
session). A token of another workflow gets 403; a person who may not see the workflow gets 404,
as on the pages (its existence is not leaked).
"""

import re
from datetime import date, timedelta
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from accounts.models import User
from rollout.api.auth import ApiTokenAuth
from rollout.api.errors import ErrorOut, ValidationErrorOut
from rollout.models import ApiToken, Cohort, Workflow
from rollout.models.workflow import SLUG_VALIDATOR
from rollout.permissions import can_view_workflow
from rollout.selectors.usage import usage_daily

router = Router()

MAX_DAYS = 366
DEFAULT_DAYS = 30
MSG_RANGE_ORDER = "from must be on or before to."
MSG_RANGE_LONG = f"Ask for at most {MAX_DAYS} days at a time."
MSG_OTHER_WORKFLOW = "This API token belongs to another workflow."
MSG_UNKNOWN_WORKFLOW = "No workflow has this slug."
MSG_UNKNOWN_COHORT = "This workflow has no cohort with this id."
MSG_DATE = "Give a date as YYYY-MM-DD, on or after 2000-01-01."
# ISO 8601 only, and no date before 2000: pydantic would read `to=0` as a Unix time (1970-01-01).
# The year 2000 is the minimum JSON Schema can say for a date (it has no minimum for strings).
DATE_PATTERN = r"^2\d{3}-\d{2}-\d{2}$"


def _iso_date(value: Any) -> Any:
    if value is not None and not (isinstance(value, str) and re.fullmatch(DATE_PATTERN, value)):
        raise PydanticCustomError("date_format", MSG_DATE)
    return value


def _date_schema(description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "format": "date", "pattern": DATE_PATTERN, "description": description}
    )


# Declared, not validated by ninja: a slug that cannot be one is answered as an unknown one (404).
Slug = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 60,
            "pattern": SLUG_VALIDATOR.regex.pattern,
            "description": "The workflow's slug.",
        }
    ),
]

FROM_DESCRIPTION = "First day, YYYY-MM-DD from 2000-01-01 (default: 29 days before `to`)."
TO_DESCRIPTION = "Last day, inclusive, YYYY-MM-DD from 2000-01-01 (default: today)."


class TokenOrSession(ApiTokenAuth):
    """A bearer token if one is sent; otherwise the signed-in person of the browser session.

    So `request.auth` may be a User here, unlike under ApiTokenAuth: see TokenOrSessionHttpRequest.
    """

    def __call__(self, request: HttpRequest) -> ApiToken | User | None:
        if "Authorization" in request.headers:
            return super().__call__(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return super().__call__(request)  # raises the "send a token" 401


class TokenOrSessionHttpRequest(HttpRequest):
    """A request that passed TokenOrSession: `auth` is the token or the signed-in person."""

    auth: ApiToken | User


class MetricsQuery(Schema):
    from_: Annotated[date | None, BeforeValidator(_iso_date), _date_schema(FROM_DESCRIPTION)] = (
        Field(default=None, alias="from", description=FROM_DESCRIPTION)
    )
    to: Annotated[date | None, BeforeValidator(_iso_date), _date_schema(TO_DESCRIPTION)] = Field(
        default=None, description=TO_DESCRIPTION
    )
    cohort: int | None = Field(default=None, ge=1, le=2**62, description="One cohort's id.")


class CohortOut(Schema):
    id: int | None
    name: str
    members: int


# A plain pydantic model, not a ninja Schema: ninja wraps every object a Schema validates in a
# getter that resolves each field through Python (for ORM objects); the rows are dicts, and a
# 366-day answer has hundreds of them. Same fields, same JSON and OpenAPI schema.
class DayOut(BaseModel):
    date: date
    cohort_id: int | None = Field(description="null: people in no cohort of the workflow.")
    invocations: int
    accepted: int
    edited: int
    overridden: int
    errors: int
    fallbacks: int
    agreed: int
    disagreed: int
    active_users: int
    adoption_rate: float | None
    acceptance_rate: float | None
    edit_rate: float | None
    override_rate: float | None
    error_rate: float | None
    fallback_rate: float | None
    shadow_agreement_rate: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None


class MetricsOut(Schema):
    workflow: str
    from_: date = Field(alias="from")
    to: date
    cohorts: list[CohortOut]
    days: list[DayOut]


def _workflow_for(request: TokenOrSessionHttpRequest, slug: str) -> Workflow:
    who = request.auth
    if isinstance(who, ApiToken):
        if who.workflow.slug != slug:
            if Workflow.objects.filter(slug=slug).exists():
                raise HttpError(403, MSG_OTHER_WORKFLOW)
            raise HttpError(404, MSG_UNKNOWN_WORKFLOW)
        return Workflow.objects.get(pk=who.workflow_id)
    workflow = Workflow.objects.filter(slug=slug).first()
    if workflow is None or not can_view_workflow(who, workflow):
        raise HttpError(404, MSG_UNKNOWN_WORKFLOW)
    return workflow


@router.get(
    "/workflows/{slug}/metrics",
    auth=TokenOrSession(),
    response={
        200: MetricsOut,
        400: ValidationErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="Daily metrics per cohort",
    operation_id="metrics",
    url_name="metrics",
    by_alias=True,
)
def metrics(request: TokenOrSessionHttpRequest, slug: Slug, params: Query[MetricsQuery]) -> dict:
    """One row per day and cohort (and people in no cohort) for the range, from the rollups.
    Rates are fractions 0–1, null when nothing was measured that day.

    Rules beyond the schema, answered with 400: `from` on or before `to`, and at most 366 days
    per request (ask for a longer period in several requests)."""
    if len(slug) > 60:
        raise HttpError(404, MSG_UNKNOWN_WORKFLOW)
    workflow = _workflow_for(request, slug)
    to = params.to or timezone.localdate()
    start = params.from_ or to - timedelta(days=DEFAULT_DAYS - 1)  # `to` is 2000 or later
    if start > to:
        raise HttpError(400, MSG_RANGE_ORDER)
    if (to - start).days + 1 > MAX_DAYS:
        raise HttpError(400, MSG_RANGE_LONG)
    cohort = None
    if params.cohort is not None:
        cohort = Cohort.objects.filter(workflow=workflow, pk=params.cohort).first()
        if cohort is None:
            raise HttpError(404, MSG_UNKNOWN_COHORT)
    series = usage_daily(workflow, start=start, end=to, cohort=cohort)
    days = []
    for group in series:
        for day, c in zip(group.days, group.counts, strict=True):
            days.append(
                {
                    "date": day,
                    "cohort_id": group.cohort.pk if group.cohort else None,
                    "invocations": c.invocations,
                    "accepted": c.accepted,
                    "edited": c.edited,
                    "overridden": c.overridden,
                    "errors": c.errors,
                    "fallbacks": c.fallbacks,
                    "agreed": c.agreed,
                    "disagreed": c.disagreed,
                    "active_users": c.active_users,
                    "adoption_rate": c.adoption_rate,
                    "acceptance_rate": c.acceptance_rate,
                    "edit_rate": c.edit_rate,
                    "override_rate": c.override_rate,
                    "error_rate": c.error_rate,
                    "fallback_rate": c.fallback_rate,
                    "shadow_agreement_rate": c.shadow_agreement_rate,
                    "p50_latency_ms": c.p50_latency_ms,
                    "p95_latency_ms": c.p95_latency_ms,
                }
            )
    cohorts = [
        {
            "id": g.cohort.pk if g.cohort else None,
            "name": g.label,
            "members": g.counts[0].members if g.counts else 0,
        }
        for g in series
    ]
    return {"workflow": workflow.slug, "from": start, "to": to, "cohorts": cohorts, "days": days}

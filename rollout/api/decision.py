"""GET /api/v1/decision: who gets the AI's output live, in shadow, or not at all.

Served from `decide_cached`: on a warm cache the only query is the token lookup.

A token of workflow A asking about workflow B: 403 if B exists, 404 if it does not. Telling the
two apart costs a query, but only on this error path, and it gives the integrator the error that
names their mistake (wrong token vs. misspelt slug). Existence of a slug is not a secret from a
token holder: tokens are issued to the organisation's own integrations.
"""

import json
from typing import Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from rollout.api.checks import ApiHttpRequest
from rollout.api.errors import ErrorOut, ValidationErrorOut
from rollout.models import Workflow
from rollout.models.workflow import SLUG_VALIDATOR
from rollout.selectors.decision import UnknownWorkflow, decide_cached

router = Router()

MSG_OTHER_WORKFLOW = "This API token belongs to another workflow."
MSG_UNKNOWN_WORKFLOW = "No workflow has this slug."
# Control characters are nobody's email or id, and PostgreSQL rejects NUL in a query parameter.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]+$"


class DecisionQuery(Schema):
    workflow: str = Field(
        min_length=1,
        max_length=60,
        pattern=SLUG_VALIDATOR.regex.pattern,
        description="The workflow's slug.",
        examples=["support-reply-drafting"],
    )
    user: str = Field(
        min_length=1,
        max_length=254,
        pattern=NO_CONTROL_CHARACTERS,
        description="The person, as the AI tool knows them: email (any case) or external id.",
        examples=["mia.member@example.com", "EMP-7"],
    )


class DecisionOut(Schema):
    mode: Literal["live", "shadow", "off"]
    phase: str | None = Field(description="The phase in progress, or null before the plan starts.")
    cohort: str | None = Field(description="The cohort that puts the person live, if any.")
    config_version: int | None = Field(
        description="The number of the AI configuration the owner declared (model, prompt and "
        "data-source versions): the AI tool can check it runs what was announced. Null before "
        "any is recorded."
    )
    reason: Literal["not_briefed", "holdout"] | None = Field(
        default=None,
        description="Present when the person is held back: `not_briefed` — they have not "
        "acknowledged the workflow's failure-mode briefing, so they get the fallback (off or "
        "shadow) instead of live output; `holdout` — they are in their cohort's holdout, kept "
        "on the old process so outcomes can be compared (mode `off`, `cohort` names the cohort). "
        "Report their outcome events all the same.",
    )
    briefing_url: str | None = Field(
        default=None,
        description="With `reason` `not_briefed`: the briefing's address, for the AI tool to "
        "show the person.",
        examples=["https://rollout.example.com/workflows/support-reply-drafting/briefing/"],
    )
    review_level: Literal["every", "sample", "none"] | None = Field(
        default=None,
        description="With a live answer: the enrolment's review level (the autonomy ladder). "
        "`every` — a person reviews each output before it takes effect; `sample` — a sample is "
        "reviewed after the fact: send `attrs.output` on the picked `invocation` events (see "
        "`review_sample_rate`); `none` — no review.",
    )
    review_sample_rate: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description="With `review_level` `sample`: the percentage of invocations picked for "
        "review. An event is picked when int(sha256(str(event_id)).hexdigest()[:8], 16) % 10000 "
        "< review_sample_rate × 100 (str(event_id): the UUID's lowercase text with hyphens).",
    )


@router.get(
    "/decision",
    response={
        200: DecisionOut,
        400: ValidationErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="The rollout decision for one person",
    operation_id="decision",
    url_name="decision",
)
def decision(request: ApiHttpRequest, params: Query[DecisionQuery]) -> HttpResponse:
    if params.workflow != request.auth.workflow.slug:
        if Workflow.objects.filter(slug=params.workflow).exists():
            raise HttpError(403, MSG_OTHER_WORKFLOW)
        raise HttpError(404, MSG_UNKNOWN_WORKFLOW)
    try:
        answer = decide_cached(params.workflow, params.user)
    except UnknownWorkflow:
        # The workflow was renamed or deleted since the token was looked up.
        raise HttpError(404, MSG_UNKNOWN_WORKFLOW) from None
    # Serialised here rather than validated against DecisionOut by ninja: the hottest endpoint,
    # and Decision.body() is already exactly that shape (the contract tests assert the body).
    return HttpResponse(json.dumps(answer.body()), content_type="application/json")

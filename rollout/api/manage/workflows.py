"""Management API: workflows, their plan settings and their phases (issue 20 §4).

/api/v1/workflows[/{slug}[/plan|/phases/{kind}]] with a personal access token. Each operation goes
through the service its page uses — same rules, same activity log (noted "via token <name>") —
and answers who may do what as the pages do: a workflow the token's person cannot see is 404; one
they see but may not change is 403; a read token never writes (403).
"""

from datetime import date, datetime
from typing import Any, Literal, get_args

from django.http import HttpResponse
from ninja import Header, Router
from ninja.errors import HttpError
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from accounts.selectors import user_find_by_email
from core.errors import ApplicationError
from rollout.api.errors import MSG_NOT_NULL, ErrorOut
from rollout.api.manage.auth import PersonalTokenAuth
from rollout.api.manage.common import (
    MAX_KEY_LENGTH,
    Body,
    IsoDate,
    ManageHttpRequest,
    OneLine,
    PersonOut,
    Slug,
    Text,
    idempotent,
    person_out,
    require_write,
    workflow_changeable,
    workflow_visible,
)
from rollout.models import (
    BriefingRequirement,
    FallbackMode,
    Phase,
    PhaseKind,
    PhaseStatus,
    Workflow,
)
from rollout.models.workflow import SLUG_VALIDATOR
from rollout.permissions import can_create_workflow
from rollout.selectors.plan import phase_get, phase_list
from rollout.selectors.workflows import workflow_list_visible
from rollout.services.phases import phase_update, plan_create_default
from rollout.services.plan_settings import plan_settings_update
from rollout.services.workflows import MSG_NOT_OPS_LEADER, workflow_create, workflow_update

router = Router(auth=PersonalTokenAuth(), tags=["Management"])

MSG_OWNER_UNKNOWN = "Nobody in Rollout has the email {email}. Invite them on the people page first."
MSG_NO_PLAN = "This workflow has no roll-out plan yet: create it with POST …/plan first."

SLUG_PATTERN = SLUG_VALIDATOR.regex.pattern
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    max_length=MAX_KEY_LENGTH,
    description=(
        "Any unique string (e.g. a UUID). A retry with the same key and body answers what the "
        "first request answered, without creating twice (kept 24 hours); the same key with "
        "another body answers 422, and while the first is still running, 409."
    ),
)
FallbackValue = Literal[tuple(FallbackMode.values)]
BriefingValue = Literal[tuple(BriefingRequirement.values)]
KindValue = Literal[tuple(PhaseKind.values)]
StatusValue = Literal[tuple(PhaseStatus.values)]


# --- Bodies ---


class WorkflowIn(Body):
    """A new workflow. Ops leaders only; `owner` is the email of the person who will own it."""

    name: OneLine = Field(min_length=1, max_length=120)
    slug: str = Field(min_length=1, max_length=60, pattern=SLUG_PATTERN)
    owner: OneLine = Field(min_length=1, max_length=254, description="The owner's email.")
    business_action: OneLine = Field(
        min_length=1, max_length=200, description="What the AI output drives."
    )
    summary: Text = Field(default="", max_length=2000)
    model_provider: OneLine = Field(default="", max_length=80)
    model_name: OneLine = Field(default="", max_length=120)
    model_version: OneLine = Field(default="", max_length=80)
    prompt_version: OneLine = Field(default="", max_length=80)
    plan_start_date: IsoDate | None = Field(
        default=None, description="With a date, the default five-phase plan starts that day."
    )


class Patch(Body):
    """A partial change: the fields sent are changed, the others kept. Its fields default to None
    without allowing it: null is refused, except where the type says `| None` (it clears)."""

    @field_validator("*", mode="before")
    @classmethod
    def _null(cls, value: Any, info: ValidationInfo) -> Any:
        annotation = cls.model_fields[info.field_name or ""].annotation
        if value is None and type(None) not in get_args(annotation):
            raise ValueError(MSG_NOT_NULL)
        return value


class WorkflowPatch(Patch):
    """The fields to change; the others keep their values. Slug and owner are not changed here."""

    name: OneLine = Field(default=None, min_length=1, max_length=120)
    business_action: OneLine = Field(default=None, min_length=1, max_length=200)
    summary: Text = Field(default=None, max_length=2000)
    model_provider: OneLine = Field(default=None, max_length=80)
    model_name: OneLine = Field(default=None, max_length=120)
    model_version: OneLine = Field(default=None, max_length=80)
    prompt_version: OneLine = Field(default=None, max_length=80)


class PlanSettingsPatch(Patch):
    """The plan settings to change (as on the plan page); the others keep their values.
    `review_cadence_days` and `next_review_due` are cleared with null; other fields refuse it."""

    lead_time_days: int = Field(default=None, ge=0, le=90)
    required_approvals: int = Field(default=None, ge=1, le=5, description="Ops leaders only.")
    review_cadence_days: int | None = Field(default=None, ge=7, le=366)
    next_review_due: IsoDate | None = None
    fallback_mode: FallbackValue = None
    briefing_required_from: BriefingValue = None
    briefing_grace_days: int = Field(default=None, ge=0, le=60)
    briefing_coverage_target: int = Field(default=None, ge=1, le=100)
    pause_on_unannounced_change: bool = None
    drift_opens_escalation: bool = None


class PlanIn(Body):
    """The day the default plan (data audit, shadow, limited, broad, steady) starts."""

    start_date: IsoDate


class PhasePatch(Patch):
    """The phase's fields to change (as on the plan page); the others keep their values.
    `planned_end` is cleared with null (steady state only); other fields refuse it."""

    planned_start: IsoDate = None
    planned_end: IsoDate | None = None
    min_duration_days: int = Field(default=None, ge=0, le=365)
    exit_criteria: Text = Field(default=None, max_length=4000)


# --- Answers ---


class WorkflowOut(BaseModel):
    slug: str
    name: str
    summary: str
    business_action: str
    model_provider: str
    model_name: str
    model_version: str
    prompt_version: str
    owner: PersonOut
    ownerless: bool = Field(description="Its owner was deactivated: an ops leader must name one.")
    retired: bool
    created_at: datetime
    updated_at: datetime
    url: str = Field(description="Its page in Rollout.")


class PhaseOut(BaseModel):
    kind: KindValue
    name: str
    status: StatusValue
    planned_start: date
    planned_end: date | None
    actual_start: datetime | None
    actual_end: datetime | None
    min_duration_days: int
    exit_criteria: str


class PlanOut(BaseModel):
    plan_start_date: date | None
    lead_time_days: int
    required_approvals: int
    review_cadence_days: int | None
    next_review_due: date | None
    fallback_mode: FallbackValue
    briefing_required_from: BriefingValue
    briefing_grace_days: int
    briefing_coverage_target: int
    pause_on_unannounced_change: bool
    drift_opens_escalation: bool
    phases: list[PhaseOut]
    thresholds_url: str = Field(description="Its quality thresholds, in this API.")


def _workflow_out(request: ManageHttpRequest, workflow: Workflow) -> WorkflowOut:
    return WorkflowOut(
        slug=workflow.slug,
        name=workflow.name,
        summary=workflow.summary,
        business_action=workflow.business_action,
        model_provider=workflow.model_provider,
        model_name=workflow.model_name,
        model_version=workflow.model_version,
        prompt_version=workflow.prompt_version,
        owner=person_out(workflow.owner),
        ownerless=workflow.is_ownerless,
        retired=workflow.is_retired,
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
        url=request.build_absolute_uri(workflow.get_absolute_url()),
    )


def _phase_out(phase: Phase) -> PhaseOut:
    return PhaseOut(
        kind=phase.kind,
        name=phase.get_kind_display(),
        status=phase.status,
        planned_start=phase.planned_start,
        planned_end=phase.planned_end,
        actual_start=phase.actual_start,
        actual_end=phase.actual_end,
        min_duration_days=phase.min_duration_days,
        exit_criteria=phase.exit_criteria,
    )


def _plan_out(request: ManageHttpRequest, workflow: Workflow) -> PlanOut:
    return PlanOut(
        plan_start_date=workflow.plan_start_date,
        lead_time_days=workflow.lead_time_days,
        required_approvals=workflow.required_approvals,
        review_cadence_days=workflow.review_cadence_days,
        next_review_due=workflow.next_review_due,
        fallback_mode=workflow.fallback_mode,
        briefing_required_from=workflow.briefing_required_from,
        briefing_grace_days=workflow.briefing_grace_days,
        briefing_coverage_target=workflow.briefing_coverage_target,
        pause_on_unannounced_change=workflow.pause_on_unannounced_change,
        drift_opens_escalation=workflow.drift_opens_escalation,
        phases=[_phase_out(phase) for phase in phase_list(workflow)],
        thresholds_url=request.build_absolute_uri(f"/api/v1/workflows/{workflow.slug}/thresholds"),
    )


# --- Workflows ---

_READ = {200: WorkflowOut, 404: ErrorOut}
_WRITE = {200: WorkflowOut, 403: ErrorOut, 404: ErrorOut}


@router.get(
    "/workflows",
    response={200: list[WorkflowOut]},
    summary="List the workflows you can see",
    operation_id="manage_workflows_list",
)
def workflows_list(request: ManageHttpRequest) -> list[WorkflowOut]:
    """Every workflow the token's person may see, by name: all for ops leaders and executives;
    for others those they own, are a contact of, or are a cohort member of."""
    workflows = workflow_list_visible(request.user).order_by("name", "pk")
    return [_workflow_out(request, workflow) for workflow in workflows]


@router.post(
    "/workflows",
    response={201: WorkflowOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Create a workflow (ops leaders)",
    operation_id="manage_workflows_create",
)
def workflows_create(
    request: ManageHttpRequest,
    payload: WorkflowIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """Creates a workflow with its owner, as the "New workflow" page does (and, given
    `plan_start_date`, its default plan). Ops leaders only, with a write token. Send an
    `Idempotency-Key` so a retry never creates it twice.

    Rules beyond the schema, answered with 400: the slug is not taken or reserved; the owner's
    email belongs to an active person."""
    require_write(request)
    if not can_create_workflow(request.user):
        raise HttpError(403, MSG_NOT_OPS_LEADER)

    def create() -> tuple[int, WorkflowOut]:
        owner = user_find_by_email(payload.owner)
        if owner is None:
            raise ApplicationError(MSG_OWNER_UNKNOWN.format(email=payload.owner), field="owner")
        fields = payload.model_dump(exclude={"owner"})
        workflow = workflow_create(actor=request.user, owner=owner, **fields)
        return 201, _workflow_out(request, workflow)

    return idempotent(request, create)


@router.get(
    "/workflows/{slug}",
    response=_READ,
    summary="Get a workflow",
    operation_id="manage_workflows_get",
)
def workflows_get(request: ManageHttpRequest, slug: Slug) -> WorkflowOut:
    return _workflow_out(request, workflow_visible(request, slug, members=True))


@router.patch(
    "/workflows/{slug}",
    response=_WRITE,
    summary="Change a workflow's description and AI",
    operation_id="manage_workflows_update",
)
def workflows_update(request: ManageHttpRequest, slug: Slug, payload: WorkflowPatch) -> WorkflowOut:
    """Changes the fields given, as the workflow's edit page does: its owner or an ops leader,
    with a write token. A change of model or prompt starts a new AI configuration version.

    Rules beyond the schema, answered with 400: the result is a valid workflow."""
    workflow = workflow_changeable(request, slug, members=True)
    fields = payload.sent()
    if fields:
        workflow = workflow_update(workflow=workflow, actor=request.user, **fields)
    return _workflow_out(request, workflow)


# --- Plan settings and phases ---


@router.get(
    "/workflows/{slug}/plan",
    response={200: PlanOut, 404: ErrorOut},
    summary="Get a workflow's plan: settings and phases",
    operation_id="manage_plan_get",
)
def plan_get(request: ManageHttpRequest, slug: Slug) -> PlanOut:
    return _plan_out(request, workflow_visible(request, slug))


@router.post(
    "/workflows/{slug}/plan",
    response={201: PlanOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Create a workflow's default plan",
    operation_id="manage_plan_create",
)
def plan_create(
    request: ManageHttpRequest,
    slug: Slug,
    payload: PlanIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """The default five phases from `start_date`, as the plan page's "Create the plan" does.

    Rules beyond the schema, answered with 400: the workflow has no plan yet."""
    workflow = workflow_changeable(request, slug)

    def create() -> tuple[int, PlanOut]:
        plan_create_default(workflow=workflow, start_date=payload.start_date, actor=request.user)
        workflow.refresh_from_db()
        return 201, _plan_out(request, workflow)

    return idempotent(request, create)


@router.patch(
    "/workflows/{slug}/plan",
    response={200: PlanOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change a workflow's plan settings",
    operation_id="manage_plan_update",
)
def plan_update(request: ManageHttpRequest, slug: Slug, payload: PlanSettingsPatch) -> PlanOut:
    """Changes the settings given, as the plan page's settings form does: the owner or an ops
    leader; only ops leaders change `required_approvals`.

    Rules beyond the schema, answered with 400: an owner leaves `required_approvals` as it is."""
    workflow = workflow_changeable(request, slug)
    changes = payload.sent()
    current = {
        name: getattr(workflow, name)
        for name in (
            "lead_time_days",
            "required_approvals",
            "review_cadence_days",
            "next_review_due",
            "fallback_mode",
        )
    }
    if changes:
        workflow = plan_settings_update(
            workflow=workflow, actor=request.user, **{**current, **changes}
        )
    return _plan_out(request, workflow)


@router.get(
    "/workflows/{slug}/phases",
    response={200: list[PhaseOut], 404: ErrorOut},
    summary="List a workflow's phases",
    operation_id="manage_phases_list",
)
def phases_list(request: ManageHttpRequest, slug: Slug) -> list[PhaseOut]:
    """In plan order; empty while the workflow has no plan."""
    return [_phase_out(phase) for phase in phase_list(workflow_visible(request, slug))]


@router.patch(
    "/workflows/{slug}/phases/{kind}",
    response={200: PhaseOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change a phase's dates, minimum duration or exit criteria",
    operation_id="manage_phases_update",
)
def phases_update(
    request: ManageHttpRequest, slug: Slug, kind: KindValue, payload: PhasePatch
) -> PhaseOut:
    """As the plan page's phase form does: the owner or an ops leader.

    Rules beyond the schema, answered with 400: a completed phase is not edited; a phase ends
    on or after it starts (only steady state may be open-ended) and never overlaps its
    neighbours."""
    workflow = workflow_changeable(request, slug)
    phase = phase_get(workflow, kind)
    if phase is None:
        raise HttpError(404, MSG_NO_PLAN)
    given = payload.sent()
    values = {
        "planned_start": phase.planned_start,
        "planned_end": phase.planned_end,
        "min_duration_days": phase.min_duration_days,
        "exit_criteria": phase.exit_criteria,
    }
    values.update(given)
    if given:
        phase = phase_update(phase=phase, actor=request.user, **values)
    return _phase_out(phase)

"""/api/v1/workflows/{slug}/cohorts: a workflow's cohorts and their members, as on its cohorts
page, through the same services (rollout.services.cohorts, rollout.services.cohort_csv).

Members are added and removed by email, many at once; each address gets the fate the CSV import
gives it (added, already a member, unknown email, deactivated account, malformed, duplicate), and
a removal its own (removed, not a member, …). Unknown addresses are not invited: inviting makes
an account, which a token never does.
"""

from datetime import datetime
from typing import Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rollout.api.errors import ErrorOut, ValidationErrorOut
from rollout.api.manage.answers import (
    ManageIn,
    ManagePatch,
    object_id,
    one_line,
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
from rollout.models import Cohort, EnrolmentPhase, Workflow
from rollout.selectors.cohorts import (
    cohort_get_for_workflow,
    cohort_list_for_workflow,
    cohort_member_list,
)
from rollout.services.cohort_csv import (
    MAX_ROWS,
    Fate,
    Row,
    cohort_emails_add,
    cohort_emails_remove,
)
from rollout.services.cohorts import (
    cohort_create,
    cohort_delete,
    cohort_enrol,
    cohort_unenrol,
    cohort_update,
)

router = Router(auth=PersonalTokenAuth(), tags=["Management"])

EnrolmentValue = Literal[tuple(EnrolmentPhase.values)]

MSG_UNKNOWN_COHORT = "This workflow has no cohort with this id."
MAX_PAGE = 500

# What each fate means, as the person reading the answer needs it.
FATE_MESSAGES: dict[str, str] = {
    "added": "Added.",
    "member": "Already a member: nothing to do.",
    "unknown": "Nobody has this email address. Invite them from the cohorts page first.",
    "deactivated": "This account is deactivated and cannot join a cohort.",
    "malformed": "This is not an email address.",
    "duplicate": "This address is listed earlier in the request.",
    "removed": "Removed.",
    "not_member": "Not a member of this cohort: nothing to do.",
}


class CohortOut(Schema):
    id: int
    name: str
    description: str
    enrolled_phase: str = Field(description="limited, broad, or empty when not enrolled.")
    percentage: int = Field(description="Share of the members who get live output (1–100).")
    holdout_percentage: int
    member_count: int


class CohortIn(ManageIn):
    """A new cohort."""

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)

    _name = field_validator("name")(one_line)


class CohortPatch(ManagePatch):
    """The fields to change; the others keep their value."""

    name: str = Field(default=None, min_length=1, max_length=120)
    description: str = Field(default=None, max_length=2000)

    _name = field_validator("name")(one_line)


class EnrolmentIn(ManageIn):
    """Who of the cohort gets live output, from which phase."""

    phase: EnrolmentValue = Field(description="limited or broad: the phase it joins at.")
    percentage: int = Field(ge=1, le=100, description="Share of its members who get it (1–100).")
    holdout_percentage: int | None = Field(
        default=None,
        ge=0,
        le=50,
        description="Share of those kept on the old process for comparison, 0–50 (default: "
        "unchanged).",
    )


class MemberOut(Schema):
    email: str
    display_name: str
    added_at: datetime


class MemberPageOut(Schema):
    count: int = Field(description="How many members the cohort has.")
    members: list[MemberOut]


class MemberPageQuery(Schema):
    offset: int = Field(default=0, ge=0, le=1_000_000, description="Members to skip.")
    limit: int = Field(default=100, ge=1, le=MAX_PAGE, description="Members to return.")


class EmailsIn(BaseModel):
    """A list of addresses. Not a ManageIn: an entry that cannot be an address (control
    characters and all) is not refused, it is answered with the fate "malformed"."""

    model_config = ConfigDict(extra="forbid", strict=True)

    emails: list[str] = Field(
        min_length=1,
        max_length=MAX_ROWS,
        description=f"Email addresses, any case, at most {MAX_ROWS}.",
    )


class FateOut(Schema):
    index: int = Field(description="The address's position in `emails`, from 0.")
    email: str = Field(description="The address as sent.")
    fate: Fate
    message: str


class MembersAddedOut(Schema):
    added: int
    rows: list[FateOut]


class MembersRemovedOut(Schema):
    removed: int
    rows: list[FateOut]


def _cohort(workflow: Workflow, cohort_id: int) -> Cohort:
    try:
        return cohort_get_for_workflow(workflow, cohort_id)
    except Cohort.DoesNotExist:
        raise HttpError(404, MSG_UNKNOWN_COHORT) from None


def _counted(workflow: Workflow, cohort_id: int) -> Cohort:
    """The cohort as the list shows it, with member_count."""
    return cohort_list_for_workflow(workflow).get(pk=cohort_id)


def _fates(rows: list[Row]) -> list[dict]:
    return [
        {
            "index": row.line - 1,
            "email": row.raw,
            "fate": row.fate,
            "message": FATE_MESSAGES[row.fate],
        }
        for row in rows
    ]


def _out(cohort: Cohort) -> dict:
    return CohortOut.model_validate(cohort, from_attributes=True).model_dump(mode="json")


@router.get(
    "/workflows/{slug}/cohorts",
    response={200: list[CohortOut], 404: ErrorOut},
    summary="List a workflow's cohorts",
    operation_id="manage_cohorts_list",
    url_name="manage_cohorts_list",
)
def list_cohorts(request: ManageHttpRequest, slug: Slug) -> list[Cohort]:
    """Every cohort of the workflow, by name, with its enrolment and number of members."""
    return list(cohort_list_for_workflow(workflow_visible(request, slug)))


@router.post(
    "/workflows/{slug}/cohorts",
    response={
        201: CohortOut,
        400: ValidationErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Create a cohort",
    operation_id="manage_cohorts_create",
    url_name="manage_cohorts_create",
    openapi_extra=request_body(CohortIn, idempotent=True),
)
def create_cohort(request: ManageHttpRequest, slug: Slug) -> HttpResponse:
    """Creates an empty cohort, not enrolled. Takes an Idempotency-Key.

    Rules beyond the schema, answered with 400: a name not blank, unique within the workflow
    (any case), on one line."""
    workflow = workflow_changeable(request, slug)
    data = read_body(request, CohortIn)

    def create() -> tuple[int, dict]:
        cohort = cohort_create(workflow=workflow, actor=request.user, **data.model_dump())
        return 201, _out(_counted(workflow, cohort.pk))

    return idempotent(request, create)


@router.patch(
    "/workflows/{slug}/cohorts/{cohort_id}",
    response={200: CohortOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Rename a cohort or change its description",
    operation_id="manage_cohorts_update",
    url_name="manage_cohorts_update",
    openapi_extra=request_body(CohortPatch),
)
def update_cohort(
    request: ManageHttpRequest, slug: Slug, cohort_id: int = object_id("The cohort's id.")
) -> Cohort:
    """Changes the fields sent.

    Rules beyond the schema, answered with 400: as for a new cohort."""
    workflow = workflow_changeable(request, slug)
    cohort = _cohort(workflow, cohort_id)
    data = read_body(request, CohortPatch).sent()
    cohort_update(
        cohort=cohort,
        actor=request.user,
        name=data.get("name", cohort.name),
        description=data.get("description", cohort.description),
    )
    return _counted(workflow, cohort.pk)


@router.delete(
    "/workflows/{slug}/cohorts/{cohort_id}",
    response={204: None, 403: ErrorOut, 404: ErrorOut},
    summary="Delete a cohort",
    operation_id="manage_cohorts_delete",
    url_name="manage_cohorts_delete",
)
def delete_cohort(
    request: ManageHttpRequest, slug: Slug, cohort_id: int = object_id("The cohort's id.")
) -> Status[None]:
    """Deletes the cohort; its members lose the workflow unless another role keeps it.

    Rules beyond the schema, answered with 400: not while its members are using the workflow
    (its enrolled phase is in progress)."""
    workflow = workflow_changeable(request, slug)
    cohort_delete(cohort=_cohort(workflow, cohort_id), actor=request.user)
    return Status(204, None)


@router.put(
    "/workflows/{slug}/cohorts/{cohort_id}/enrolment",
    response={200: CohortOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Enrol a cohort, or change its enrolment",
    operation_id="manage_cohorts_enrol",
    url_name="manage_cohorts_enrol",
    openapi_extra=request_body(EnrolmentIn),
)
def enrol_cohort(
    request: ManageHttpRequest, slug: Slug, cohort_id: int = object_id("The cohort's id.")
) -> Cohort:
    """Enrols the cohort at the limited or broad phase for a share of its members, or changes
    its enrolment; lowering the share of a live cohort is noted in the log.

    Rules beyond the schema, answered with 400: a change must change something."""
    workflow = workflow_changeable(request, slug)
    cohort = _cohort(workflow, cohort_id)
    data = read_body(request, EnrolmentIn)
    cohort_enrol(cohort=cohort, actor=request.user, **data.model_dump())
    return _counted(workflow, cohort.pk)


@router.delete(
    "/workflows/{slug}/cohorts/{cohort_id}/enrolment",
    response={200: CohortOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Unenrol a cohort",
    operation_id="manage_cohorts_unenrol",
    url_name="manage_cohorts_unenrol",
)
def unenrol_cohort(
    request: ManageHttpRequest, slug: Slug, cohort_id: int = object_id("The cohort's id.")
) -> Cohort:
    """Takes the cohort out of the roll-out; its members stay members.

    Rules beyond the schema, answered with 400: the cohort must be enrolled."""
    workflow = workflow_changeable(request, slug)
    cohort_unenrol(cohort=_cohort(workflow, cohort_id), actor=request.user)
    return _counted(workflow, cohort_id)


@router.get(
    "/workflows/{slug}/cohorts/{cohort_id}/members",
    response={200: MemberPageOut, 404: ErrorOut},
    summary="List a cohort's members",
    operation_id="manage_cohort_members_list",
    url_name="manage_cohort_members_list",
)
def list_members(
    request: ManageHttpRequest,
    slug: Slug,
    params: Query[MemberPageQuery],
    cohort_id: int = object_id("The cohort's id."),
) -> dict:
    """A page of the cohort's members, by name."""
    cohort = _cohort(workflow_visible(request, slug), cohort_id)
    members = cohort_member_list(cohort)
    page = members[params.offset : params.offset + params.limit]
    return {
        "count": members.count(),
        "members": [
            {"email": m.user.email, "display_name": m.user.display_name, "added_at": m.added_at}
            for m in page
        ],
    }


@router.post(
    "/workflows/{slug}/cohorts/{cohort_id}/members",
    response={
        200: MembersAddedOut,
        400: ValidationErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Add members by email",
    operation_id="manage_cohort_members_add",
    url_name="manage_cohort_members_add",
    openapi_extra=request_body(EmailsIn, idempotent=True),
)
def add_members(
    request: ManageHttpRequest, slug: Slug, cohort_id: int = object_id("The cohort's id.")
) -> HttpResponse:
    """Adds the people with these addresses. 200 with each address's fate, in the order sent:
    added, member (already), unknown, deactivated, malformed or duplicate; only the added ones
    change anything. Takes an Idempotency-Key."""
    workflow = workflow_changeable(request, slug)
    cohort = _cohort(workflow, cohort_id)
    data = read_body(request, EmailsIn)

    def add() -> tuple[int, dict]:
        rows = cohort_emails_add(cohort=cohort, emails=data.emails, actor=request.user)
        added = sum(row.fate == "added" for row in rows)
        return 200, {"added": added, "rows": _fates(rows)}

    return idempotent(request, add)


@router.post(
    "/workflows/{slug}/cohorts/{cohort_id}/members/remove",
    response={200: MembersRemovedOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Remove members by email",
    operation_id="manage_cohort_members_remove",
    url_name="manage_cohort_members_remove",
    openapi_extra=request_body(EmailsIn),
)
def remove_members(
    request: ManageHttpRequest, slug: Slug, cohort_id: int = object_id("The cohort's id.")
) -> dict:
    """Removes the people with these addresses. 200 with each address's fate, in the order sent:
    removed, not_member, unknown, malformed or duplicate. Each person removed loses the workflow
    unless another role keeps it."""
    workflow = workflow_changeable(request, slug)
    cohort = _cohort(workflow, cohort_id)
    data = read_body(request, EmailsIn)
    rows = cohort_emails_remove(cohort=cohort, emails=data.emails, actor=request.user)
    return {"removed": sum(row.fate == "removed" for row in rows), "rows": _fates(rows)}

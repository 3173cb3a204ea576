"""Creating, editing and handing over workflows."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import EmailCategory, User
from accounts.roles import is_ops_leader
from accounts.selectors import organisation_get
from core.errors import ApplicationError
from rollout.models import Workflow
from rollout.selectors.ai_config import ai_config_values
from rollout.services.access import workflow_access_sync
from rollout.services.activity import activity_record, field_changes, snapshot
from rollout.services.ai_config import ai_config_initial, ai_config_record
from rollout.services.follows import followers_notify
from rollout.services.notice_drafts import notice_draft_for_handover
from rollout.services.notifications import notification_send
from rollout.services.phases import plan_create_default

EDITABLE_FIELDS = (
    "name",
    "summary",
    "business_action",
    "model_provider",
    "model_name",
    "model_version",
    "prompt_version",
)

MSG_SLUG_TAKEN = "A workflow with the slug “{slug}” already exists. Choose another slug."
MSG_OWNER_INACTIVE = "{owner} is deactivated and cannot own a workflow. Choose an active user."
MSG_OWNER_REQUIRED = "Every workflow needs exactly one owner."
MSG_SAME_OWNER = "{owner} already owns this workflow."
MSG_NOT_OPS_LEADER = "Only ops leaders can create workflows."
MSG_SLUG_RESERVED = "“{slug}” is reserved for a page of Rollout. Choose another slug."

# Path segments under /workflows/ that name pages, so no workflow can take them as its slug.
RESERVED_SLUGS = frozenset({"new"})


def _check_owner(owner: User | None, *, field: str = "owner") -> User:
    if owner is None:
        raise ApplicationError(MSG_OWNER_REQUIRED, field=field)
    if not owner.is_active:
        raise ApplicationError(MSG_OWNER_INACTIVE.format(owner=owner), field=field)
    return owner


def _validate(workflow: Workflow) -> None:
    try:
        workflow.full_clean()
    except ValidationError as exc:
        if (
            "slug" in exc.message_dict
            and Workflow.objects.filter(slug=workflow.slug).exclude(pk=workflow.pk).exists()
        ):
            raise ApplicationError(MSG_SLUG_TAKEN.format(slug=workflow.slug), field="slug") from exc
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc


@transaction.atomic
def workflow_create(
    *,
    actor: User,
    name: str,
    slug: str,
    owner: User | None,
    business_action: str,
    summary: str = "",
    model_provider: str = "",
    model_name: str = "",
    model_version: str = "",
    prompt_version: str = "",
    plan_start_date: date | None = None,
) -> Workflow:
    """Create a workflow with its one owner, grant the owner's object permissions, log it.

    With a `plan_start_date`, the default roll-out plan is created from that day too."""
    if not is_ops_leader(actor):
        raise ApplicationError(MSG_NOT_OPS_LEADER)
    owner = _check_owner(owner)
    workflow = Workflow(
        name=name.strip(),
        slug=slug.strip().lower(),
        summary=summary.strip(),
        business_action=business_action.strip(),
        model_provider=model_provider.strip(),
        model_name=model_name.strip(),
        model_version=model_version.strip(),
        prompt_version=prompt_version.strip(),
        owner=owner,
        # The organisation's default (its settings page); the workflow's plan page changes it.
        lead_time_days=organisation_get().default_lead_time_days,
    )
    if workflow.slug in RESERVED_SLUGS:
        raise ApplicationError(MSG_SLUG_RESERVED.format(slug=workflow.slug), field="slug")
    _validate(workflow)
    try:
        # A savepoint so a lost race on the unique slug leaves the outer transaction usable.
        with transaction.atomic():
            workflow.save()
    except IntegrityError as exc:
        raise ApplicationError(MSG_SLUG_TAKEN.format(slug=workflow.slug), field="slug") from exc
    workflow_access_sync(workflow=workflow, user=owner)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="created",
        target=f"workflow {workflow.name}",
        changes={"owner": ["—", str(owner)]},
    )
    ai_config_initial(workflow=workflow, actor=actor)
    if plan_start_date is not None:
        plan_create_default(workflow=workflow, start_date=plan_start_date, actor=actor)
    return workflow


@transaction.atomic
def workflow_update(*, workflow: Workflow, actor: User, **fields: str) -> Workflow:
    """Edit the descriptive fields. The slug and the owner are not edited here."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    before = snapshot(workflow, EDITABLE_FIELDS)
    config_before = ai_config_values(workflow)
    for name, value in fields.items():
        setattr(workflow, name, (value or "").strip())
    _validate(workflow)
    changes = field_changes(workflow, before, EDITABLE_FIELDS)
    if not changes:
        return workflow
    workflow.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="edited",
        target=f"workflow {workflow.name}",
        changes=changes,
    )
    # Rule 9: a change of the AI itself is a new configuration version, which restarts the
    # measurements and drafts the notice.
    ai_config_record(workflow=workflow, actor=actor, before=config_before)
    return workflow


@transaction.atomic
def workflow_handover(
    *, workflow: Workflow, actor: User, new_owner: User | None, note: str = ""
) -> Workflow:
    """Name a new owner: move the object permissions and record the change, in one transaction."""
    # Every refusal of the new owner names the same field, so a form shows it beside one input.
    new_owner = _check_owner(new_owner, field="new_owner")
    # Lock the row so two concurrent handovers cannot both move permissions from the same owner.
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    old_owner = workflow.owner
    if old_owner.pk == new_owner.pk:
        raise ApplicationError(MSG_SAME_OWNER.format(owner=new_owner), field="new_owner")
    workflow.owner = new_owner
    _validate(workflow)
    workflow.save(update_fields=["owner", "updated_at"])
    workflow_access_sync(workflow=workflow, user=old_owner)
    workflow_access_sync(workflow=workflow, user=new_owner)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="handed over",
        target=f"workflow {workflow.name}",
        changes={"owner": [str(old_owner), str(new_owner)]},
        note=note.strip(),
    )
    _announce_handover(workflow, actor, old_owner, new_owner, note.strip())
    return workflow


def _announce_handover(
    workflow: Workflow, actor: User, old_owner: User, new_owner: User, note: str
) -> None:
    """Rule 1: the handover is announced — both owners told (in the app, and by email as
    workflow updates), the followers told, and a notice to the cohorts drafted for the new owner
    to complete and publish."""
    draft = notice_draft_for_handover(
        workflow=workflow, actor=actor, old_owner=old_owner, new_owner=new_owner
    )
    overview = reverse("workflow_overview", kwargs={"slug": workflow.slug})
    why = f"\n\n{actor}: {note}" if note else ""
    draft_text = ""
    new_owner_url = overview
    if draft is not None:
        draft_text = "\n\nA notice telling its cohorts is drafted for you: complete and publish it."
        new_owner_url = reverse(
            "notice_edit", kwargs={"slug": workflow.slug, "notice_id": draft.pk}
        )
    notification_send(
        recipient=new_owner,
        workflow=workflow,
        title=f"You now own {workflow.name}",
        body=f"{actor} handed it over to you from {old_owner}.{why}{draft_text}",
        url=new_owner_url,
        email=EmailCategory.UPDATES,
    )
    notification_send(
        recipient=old_owner,
        workflow=workflow,
        title=f"You no longer own {workflow.name}",
        body=f"{actor} handed it over to {new_owner}.{why}",
        url=overview,
        email=EmailCategory.UPDATES,
    )
    followers_notify(
        workflow,
        f"handed over from {old_owner} to {new_owner}",
        actor=actor,
        skip=(old_owner.pk, new_owner.pk),
    )

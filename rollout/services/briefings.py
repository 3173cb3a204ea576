"""Publishing a workflow's failure-mode briefing and acknowledging it.

A published version is never edited: a change is the next version, minor (a correction: nobody
is asked again) or material (every cohort member is asked to acknowledge it; the decision API
holds back, after the grace period, those who have not). Both change what `decide` answers, so
both invalidate the workflow's cached decisions (plan_changed).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import EmailCategory, User
from core.errors import ApplicationError
from rollout.models import Briefing, BriefingAcknowledgement, Cohort, Workflow
from rollout.selectors.briefings import (
    briefing_current,
    briefing_is_member,
    briefing_joiners_to_ask,
    briefing_member_ids,
    briefing_url_path,
)
from rollout.services.activity import activity_record
from rollout.services.decision_cache import plan_changed
from rollout.services.notifications import notification_send

MSG_REQUIRED = "Write {what}: members read it before they use the AI."
MSG_CHANGE_NOTE_REQUIRED = "Say what changed since version {number}, so members know what to read."
MSG_NOT_A_MEMBER = "Only members of this workflow's cohorts acknowledge its briefing."
MSG_NOT_CURRENT = "Version {number} is no longer the current briefing: read version {current}."
MSG_ASK_TITLE = "Please read and acknowledge the briefing for {workflow}"
MSG_ASK_BODY = (
    "Version {number} of the failure-mode briefing for {workflow} is out: what the AI does, what "
    "a bad output looks like, and what to do when you see one.{grace} Open it and press "
    "“Acknowledge” once you have read it."
)
MSG_ASK_GRACE = " You keep your access for {days} days while you read it."

_REQUIRED = {
    "what_it_does": "what the AI does",
    "bad_output": "what a bad output looks like",
    "what_to_do": "what to do when someone sees one",
}


@dataclass(frozen=True)
class BriefingText:
    what_it_does: str
    bad_output: str
    wrong_examples: str
    what_to_do: str


@transaction.atomic
def briefing_publish(
    *,
    workflow: Workflow,
    actor: User,
    text: BriefingText,
    material: bool,
    change_note: str = "",
) -> Briefing:
    """Publish the next version. The first is always material. A material version asks every
    active member of every cohort once (in the app and by email), however many of its cohorts
    they are in; a minor one tells nobody."""
    # The row lock numbers versions one after the other under concurrent publishing.
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    fields = {name: getattr(text, name).strip() for name in BriefingText.__dataclass_fields__}
    for name, what in _REQUIRED.items():
        if not fields[name]:
            raise ApplicationError(MSG_REQUIRED.format(what=what), field=name)
    current = briefing_current(workflow)
    change_note = " ".join(change_note.split())
    if current is not None and not change_note:
        raise ApplicationError(
            MSG_CHANGE_NOTE_REQUIRED.format(number=current.number), field="change_note"
        )
    briefing = Briefing(
        workflow=workflow,
        number=current.number + 1 if current else 1,
        material=material or current is None,
        change_note=change_note,
        published_by=actor,
        published_at=timezone.now(),
        **fields,
    )
    try:
        briefing.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc
    briefing.save()
    kind = "material" if briefing.material else "minor"
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="published",
        target=f"briefing version {briefing.number} ({kind})",
        note=change_note,
    )
    if briefing.material:
        _ask_members(workflow, briefing, first=current is None)
    plan_changed(workflow)
    return briefing


def _ask_members(workflow: Workflow, briefing: Briefing, *, first: bool) -> None:
    # The grace period is for those who acknowledged an earlier version: none before the first.
    days = workflow.briefing_grace_days
    grace = MSG_ASK_GRACE.format(days=days) if days and not first else ""
    _ask(workflow, briefing, briefing_member_ids(workflow), grace)


def briefing_ask_joiners(*, cohort: Cohort, users: list[User]) -> None:
    """People just added to a cohort: asked, like the members were when the version that counts
    was published, to read and acknowledge the current version — once: not those already in
    another cohort of the workflow, nor those who acknowledged it. Nothing before a version is
    published. Call it inside the transaction that adds them."""
    ids = briefing_joiners_to_ask(cohort, [u.pk for u in users])
    current = briefing_current(cohort.workflow) if ids else None
    if current is not None:
        _ask(cohort.workflow, current, ids, "")


def _ask(workflow: Workflow, briefing: Briefing, user_ids: list[int], grace: str) -> None:
    url = briefing_url_path(workflow)
    for user in User.objects.filter(pk__in=user_ids, is_active=True):
        notification_send(
            recipient=user,
            workflow=workflow,
            title=MSG_ASK_TITLE.format(workflow=workflow.name),
            body=MSG_ASK_BODY.format(number=briefing.number, workflow=workflow.name, grace=grace),
            url=url,
            email=EmailCategory.NOTICES,
        )


def briefing_acknowledge(*, briefing: Briefing, user: User) -> tuple[BriefingAcknowledgement, bool]:
    """Record that `user` read `briefing` (the current version), once: acknowledging again
    returns the first acknowledgement and changes nothing. Returns (acknowledgement, created)."""
    workflow = briefing.workflow
    if not briefing_is_member(workflow, user):
        raise ApplicationError(MSG_NOT_A_MEMBER)
    current = briefing_current(workflow)
    if current is None or current.pk != briefing.pk:
        raise ApplicationError(
            MSG_NOT_CURRENT.format(number=briefing.number, current=current.number if current else 0)
        )
    existing = BriefingAcknowledgement.objects.filter(briefing=briefing, user=user).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            acknowledgement = BriefingAcknowledgement.objects.create(
                briefing=briefing, user=user, at=timezone.now()
            )
            activity_record(
                workflow=workflow,
                actor=user,
                verb="acknowledged",
                target=f"briefing version {briefing.number}",
            )
            # What `decide` answers for this person changes now, not when a cache expires.
            plan_changed(workflow)
    except IntegrityError:
        # The same person acknowledged in another request a moment ago.
        return BriefingAcknowledgement.objects.get(briefing=briefing, user=user), False
    return acknowledgement, True

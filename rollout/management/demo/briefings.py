"""The failure-mode briefing for `seed_demo`, through the briefing services.

Support reply drafting published its briefing (version 1, material) twelve days ago and a minor
correction (version 2) five days ago. In the EU tier-1 agents, three of the five members have
acknowledged it — 60 % coverage — and the demo member login is one of the two who have not, so
it can acknowledge the briefing in the demo (and the decision API answers `not_briefed` for it
until then). Two of the three US tier-1 agents have acknowledged.

The services stamp rows with the real clock; the story's times are then moved back with
queryset updates, as the other demo builders do.
"""

from datetime import timedelta

from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from rollout.models import ActivityEntry, Briefing, BriefingAcknowledgement, Notification, Workflow
from rollout.services.briefings import BriefingText, briefing_acknowledge, briefing_publish

WORKFLOW = "support-reply-drafting"
FIRST_DAYS_AGO = 12
MINOR_DAYS_AGO = 5
ACKNOWLEDGED = (
    ("lukas.schmidt@example.com", 11),
    ("sofia.rossi@example.com", 11),
    ("camille.dubois@example.com", 9),
    ("marcus.johnson@example.com", 10),
    ("ashley.rivera@example.com", 8),
)

TEXT = BriefingText(
    what_it_does=(
        "For every new **tier-1 ticket** the AI drafts a reply in the customer's language, from "
        "the ticket, the order history in the CRM export and the help-centre articles. You read "
        "the draft, edit it, and send it yourself: **nothing reaches a customer unless you press "
        "Send**."
    ),
    bad_output=(
        "- A draft that states a wrong order status, refund amount or policy.\n"
        "- A promise we do not make: a refund outside the 30-day window, free express shipping.\n"
        "- The wrong language or tone: German for an English ticket, or jokes on a complaint.\n"
        "- A reply that answers a different question than the one the customer asked."
    ),
    wrong_examples=(
        "> *“Your refund of €249.00 has been issued.”* — the order was €24.90, and no refund was "
        "approved.\n\n"
        "> *“As a gesture of goodwill we will ship your replacement by express for free.”* — "
        "not our policy; the draft invented it."
    ),
    what_to_do=(
        "1. Do not send it: fix the draft or write the reply yourself.\n"
        "2. Report it with the [feedback form](/feedback/new/?workflow=support-reply-drafting) "
        "(category “Wrong output”) so it counts toward the error-rate threshold.\n"
        "3. If a wrong reply already reached a customer, escalate: Owen Clarke first, then the "
        "ops leaders (the escalation path on the workflow's page)."
    ),
)
MINOR_WHAT_TO_DO = TEXT.what_to_do.replace("Do not send it", "Do not send it as it is")


def demo_briefings_seed(*, workflow: Workflow, users: dict[str, User]) -> bool:
    """The workflow's briefing story, if it has one and no briefing yet."""
    if workflow.slug != WORKFLOW or Briefing.objects.filter(workflow=workflow).exists():
        return False
    now = timezone.now()
    started = now
    first = briefing_publish(workflow=workflow, actor=workflow.owner, text=TEXT, material=True)
    _back_date(workflow, first, started, now - timedelta(days=FIRST_DAYS_AGO))
    for email, days_ago in ACKNOWLEDGED:
        started = timezone.now()
        acknowledgement, _ = briefing_acknowledge(briefing=first, user=users[email])
        BriefingAcknowledgement.objects.filter(pk=acknowledgement.pk).update(
            at=now - timedelta(days=days_ago)
        )
        _back_date_activity(workflow, started, now - timedelta(days=days_ago))
    started = timezone.now()
    second = briefing_publish(
        workflow=workflow,
        actor=workflow.owner,
        text=BriefingText(
            what_it_does=TEXT.what_it_does,
            bad_output=TEXT.bad_output,
            wrong_examples=TEXT.wrong_examples,
            what_to_do=MINOR_WHAT_TO_DO,
        ),
        material=False,
        change_note="Wording of step 1: fixing the draft is fine too.",
    )
    _back_date(workflow, second, started, now - timedelta(days=MINOR_DAYS_AGO))
    # The entries just written were moved back: the workflow's last activity is the latest left.
    latest = ActivityEntry.objects.filter(workflow=workflow).aggregate(at=Max("created_at"))
    Workflow.objects.filter(pk=workflow.pk).update(last_activity_at=latest["at"])
    return True


def _back_date(workflow: Workflow, briefing: Briefing, started: object, when: object) -> None:
    Briefing.objects.filter(pk=briefing.pk).update(published_at=when)
    Notification.objects.filter(workflow=workflow, created_at__gte=started).update(created_at=when)
    _back_date_activity(workflow, started, when)


def _back_date_activity(workflow: Workflow, started: object, when: object) -> None:
    ActivityEntry.objects.filter(workflow=workflow, created_at__gte=started).update(created_at=when)


def demo_briefing_report(workflow: Workflow) -> str:
    """One line for the command's output."""
    versions = Briefing.objects.filter(workflow=workflow).count()
    acknowledged = BriefingAcknowledgement.objects.filter(briefing__workflow=workflow).count()
    return (
        f"Briefing on {workflow.name}: {versions} versions, {acknowledged} acknowledgements "
        "(EU tier-1 agents at 60%; member@example.com has not acknowledged yet)."
    )

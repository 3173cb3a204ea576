"""Output reviews and the autonomy ladder for `seed_demo` (issue 18 §2).

Support reply drafting's EU tier-1 agents moved from every draft reviewed to a 10% sample a month
ago: the owner asked, an ops leader approved it despite a gate that had no shadow verdict to show
(with the reason written down). Sofia Rossi, one of the agents, is named a reviewer. The queue
holds a fortnight of sampled drafts: most graded (mostly correct, a few minor issues, two wrong),
the latest ones waiting. The US tier-1 agents still have every draft reviewed, and the owner's
request to sample theirs waits for an ops leader.

The level changes, the reviewer and the grades go through the services; the sampled outputs are
made as ingestion leaves them (rollout.services.output_review_intake, tested on its own), and
times are moved back, as the other demo builders do with their stories' times.
"""

import uuid
from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from rollout.models import AutonomyRequest, Cohort, OutputReview, ReviewLevel, Workflow
from rollout.services.autonomy import autonomy_change, autonomy_override
from rollout.services.output_reviews import output_review_grade, output_reviewer_add

SLUG = "support-reply-drafting"
REVIEWER = "sofia.rossi@example.com"
OVERRIDE_REASON = (
    "Override and edit rates have stayed under 4% for six weeks in the EU queue. The shadow run "
    "had no agreement threshold, so it left no final verdict; a 10% sample is our check instead."
)
PENDING_NOTE = "The Austin queue's edit rate has matched Dublin's for a month."

# (draft, grade, note): the reply the AI drafted, and how the reviewer graded it ("" = waiting).
DRAFTS = (
    (
        "Hi Emma, thanks for getting in touch. I can see order #48213 left our Leipzig warehouse "
        "yesterday and DHL expects to deliver it on Thursday. You can follow it here: "
        "https://track.example.com/48213. Best regards, the Support team",
        "correct",
        "",
    ),
    (
        "Hello Mr Novak, I'm sorry the kettle arrived with a cracked lid. I have arranged a "
        "replacement lid to be sent free of charge; it should reach you within 3–5 working days. "
        "There is no need to return the broken one.",
        "correct",
        "",
    ),
    (
        "Hi Jonas, your password reset link expires after 30 minutes. I've sent a fresh one to the "
        "address on your account; please check your spam folder if it doesn't arrive.",
        "correct",
        "",
    ),
    (
        "Dear Ms Byrne, thank you for your patience. Your refund of €64.90 for order #47731 was "
        "issued on Monday and usually appears on your card within 5 working days.",
        "minor",
        "Right amount, but it should say 'up to 10 working days' for credit cards (macro R-12).",
    ),
    (
        "Hallo Frau Keller, vielen Dank für Ihre Nachricht. Die Rechnung zu Bestellung "
        "#48002 finden "
        "Sie in Ihrem Kundenkonto unter 'Bestellungen'. Ich habe sie Ihnen zusätzlich per E-Mail "
        "geschickt.",
        "correct",
        "",
    ),
    (
        "Hi Sam, I've upgraded your delivery to express at no cost because of the delay. Your new "
        "delivery date is tomorrow before 12:00.",
        "wrong",
        "We don't upgrade shipping for free on delays under 5 days; the agent had to rewrite it.",
    ),
    (
        "Hello Aisha, the blender you ordered is covered by a 2-year warranty. To start a claim, "
        "reply with a photo of the serial number and I'll take it from there.",
        "correct",
        "",
    ),
    (
        "Hi Tom, I'm sorry to hear the size didn't fit. You can return it within 30 days using the "
        "prepaid label in your account; once it reaches us we'll refund you within 3 days.",
        "minor",
        "Tone a bit stiff for a first-time customer; facts fine.",
    ),
    (
        "Dear Mr Lefèvre, I have cancelled order #48391 as you asked. As it had not been "
        "dispatched, no charge was taken from your card.",
        "correct",
        "",
    ),
    (
        "Hi Priyanka, your discount code SPRING15 expired on 31 March, so I can't apply "
        "it now, but "
        "I've added a 10% code to your account that is valid until the end of the month.",
        "wrong",
        "Drafts may not create discount codes; agents offer goodwill only above €50 orders.",
    ),
    (
        "Hello Mia, the item is back in stock in our Dublin warehouse from next Tuesday. "
        "I've added "
        "you to the notification list so you hear the moment it is available.",
        "correct",
        "",
    ),
    (
        "Hi Lars, I can confirm we've updated the delivery address on order #48450 to "
        "Storgatan 12, "
        "Malmö. The parcel has not left the warehouse yet, so it will go to the new address.",
        "correct",
        "",
    ),
    (
        "Hi Chloé, thanks for flagging this. I've passed your suggestion about gift "
        "wrapping to our "
        "product team; I can't promise when, but they read every one.",
        "correct",
        "",
    ),
    (
        "Hello Ben, I'm sorry your parcel is marked delivered but hasn't arrived. I've opened an "
        "investigation with the courier (case 77120); we'll update you within 48 hours.",
        "correct",
        "",
    ),
    (
        "Hi Ewa, the charger in your order is compatible with the X200 and X300 models but not the "
        "X100; I'd recommend the X100 adapter listed here: https://shop.example.com/x100-adapter",
        "",
        "",
    ),
    (
        "Hello Daniel, I can see two payments for order #48512. The second one is an authorisation "
        "that your bank will release within 7 days; you have only been charged once.",
        "",
        "",
    ),
    (
        "Hi Grace, I've resent your e-ticket to grace.h@example.com. If it still doesn't arrive in "
        "the next hour, reply here and I'll send it as a PDF.",
        "",
        "",
    ),
    (
        "Guten Tag Herr Braun, Ihre Reklamation zu Bestellung #48477 ist eingegangen. "
        "Wir holen das "
        "Gerät kostenlos bei Ihnen ab; den Termin schlagen wir Ihnen morgen per E-Mail vor.",
        "",
        "",
    ),
)


def _people(users: dict[str, User], emails: list[str]) -> list[User]:
    return [users[e] for e in emails if e in users]


def demo_output_reviews_seed(*, workflow: Workflow, users: dict[str, User]) -> bool:
    """The story, if this is the workflow and it is not told yet. False otherwise."""
    if workflow.slug != SLUG or OutputReview.objects.filter(workflow=workflow).exists():
        return False
    eu = Cohort.objects.filter(workflow=workflow, name="EU tier-1 agents").first()
    us = Cohort.objects.filter(workflow=workflow, name="US tier-1 agents").first()
    ops, owner = users.get("ops@example.com"), workflow.owner
    if eu is None or us is None or ops is None or REVIEWER not in users:
        return False
    now = timezone.now()
    if eu.review_level == ReviewLevel.EVERY:
        request = autonomy_change(
            cohort=eu, actor=owner, to_level=ReviewLevel.SAMPLE, sample_rate=10,
            note="Agents now send most drafts unchanged; review a sample after the fact.",
        )  # fmt: skip
        autonomy_override(request=request, actor=ops, reason=OVERRIDE_REASON)
        AutonomyRequest.objects.filter(pk=request.pk).update(
            requested_at=now - timedelta(days=32), decided_at=now - timedelta(days=30)
        )
    reviewer = users[REVIEWER]
    output_reviewer_add(workflow=workflow, user=reviewer, actor=owner)
    members = list(eu.members.exclude(email=REVIEWER).order_by("email"))
    for n, (draft, grade, note) in enumerate(DRAFTS):
        age = timedelta(days=14) * (len(DRAFTS) - n) / len(DRAFTS)
        person = members[n % len(members)]
        item = OutputReview.objects.create(
            workflow=workflow,
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"rollout-demo/{SLUG}/output/{n}"),
            cohort=eu,
            user=person,
            user_ref=person.email,
            occurred_at=now - age,
            excerpt=draft,
            created_at=now - age,
        )
        if grade:
            grader = reviewer if n % 3 else owner
            output_review_grade(review=item, actor=grader, grade=grade, note=note)
            OutputReview.objects.filter(pk=item.pk).update(
                graded_at=now - age + timedelta(hours=20)
            )
    if us.review_level == ReviewLevel.EVERY and us.enrolled_phase:
        autonomy_change(
            cohort=us, actor=owner, to_level=ReviewLevel.SAMPLE, sample_rate=20, note=PENDING_NOTE
        )
    return True


def demo_output_reviews_report(workflow: Workflow) -> str:
    """One line for the command's output."""
    items = OutputReview.objects.filter(workflow=workflow)
    graded = items.exclude(grade="").count()
    waiting = items.filter(grade="").count()
    pending = AutonomyRequest.objects.filter(workflow=workflow, status="pending").count()
    return (
        f"Review queue of {workflow.name}: {graded} sampled outputs graded, {waiting} waiting; "
        f"{pending} request{'s' if pending != 1 else ''} for less review waiting for approval."
    )

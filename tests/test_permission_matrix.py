"""Every URL pattern, for every kind of user: who may use it and what the others get.

A new URL pattern without an entry here fails `test_every_url_pattern_has_an_entry`, so no page
ships without its access rules being written down and checked.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import User
from rollout.models import ApiToken, AutonomyRequest, Notification, Workflow
from rollout.selectors.approval_links import approval_link_path, promotion_subject
from rollout.services.personal_tokens import personal_token_create
from rollout.services.promotions import promotion_request
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready

ROLES = ("anonymous", "ops_leader", "executive", "owner", "unrelated")
LOGIN = "login"  # expectation: redirected to the sign-in page


@dataclass(frozen=True)
class Entry:
    """How one URL behaves per role. `expect` maps role → status code or LOGIN."""

    expect: dict[str, int | str]
    method: str = "get"
    kwargs: Callable[["World"], dict] = lambda w: {}
    data: Callable[["World"], dict] = lambda w: {}
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    ops_leader: User
    executive: User
    owner: User
    unrelated: User
    workflow: Workflow
    target_user: User  # someone for the people pages to act on


def everyone(status: int | str, **overrides: int | str) -> dict[str, int | str]:
    return {role: overrides.get(role, status) for role in ROLES}


def signed_in(status: int, **overrides: int | str) -> dict[str, int | str]:
    return everyone(status, anonymous=LOGIN, **overrides)


WF = lambda w: {"slug": w.workflow.slug}  # noqa: E731
TARGET = lambda w: {"user_id": w.target_user.pk}  # noqa: E731


def _A_COHORT(w: "World") -> dict:  # noqa: N802 — a kwargs builder like WF
    cohort = w.workflow.cohorts.get_or_create(name="Matrix")[0]
    return {"slug": w.workflow.slug, "cohort_id": cohort.pk}


def _an_autonomy_request(w: "World") -> int:
    cohort = w.workflow.cohorts.get_or_create(name="Matrix")[0]
    return AutonomyRequest.objects.get_or_create(
        cohort=cohort,
        workflow=w.workflow,
        status="pending",
        defaults={
            "from_level": "every",
            "to_level": "sample",
            "sample_rate": 10,
            "requested_by": w.owner,
            "gate_fingerprint": "made-up",
        },
    )[0].pk


def _an_approval_link(w: "World") -> dict:
    """A promotion the owner requested, its gate passing, and the ops leader's link to it."""
    make_plan(w.workflow, current="audit")
    make_shadow_ready(w.workflow, w.ops_leader)
    request = promotion_request(workflow=w.workflow, actor=w.owner)
    return {"token": approval_link_path(promotion_subject(request), w.ops_leader).split("/")[2]}


def _a_personal_token(w: "World") -> int:
    return personal_token_create(
        user=w.owner,
        actor=w.owner,
        name="Matrix",
        scope="read",
        expires_on=timezone.localdate() + timedelta(days=30),
    )[0].pk


def _token_fields(w: "World") -> dict:
    return {
        "action": "token_create",
        "token-name": "Matrix",
        "token-scope": "read",
        "token-expires_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }


def _a_threshold(w: "World") -> int:
    return w.workflow.thresholds.create(
        metric="error_rate", comparator="lte", limit=0.02, bad_output="Wrong", action="alert"
    ).pk


def _holdout_kwargs(w: "World") -> dict:
    cohort, _ = w.workflow.cohorts.get_or_create(
        name="Matrix", defaults={"enrolled_phase": "limited", "holdout_percentage": 10}
    )
    return {"slug": w.workflow.slug, "cohort_id": cohort.pk}


def _an_outcome_metric(w: "World") -> int:
    return w.workflow.outcome_metrics.get_or_create(
        name="handle_time_s", defaults={"label": "Handle time", "unit": "s"}
    )[0].pk


def _a_level(w: "World") -> int:
    return w.workflow.escalation_levels.create(
        position=1, contact=w.ops_leader, channel="email", response_target_minutes=30
    ).pk


def _a_token(w: "World") -> int:
    return ApiToken.objects.create(
        workflow=w.workflow,
        name="Matrix",
        prefix="matrixab",
        token_hash="0" * 64,
        created_by=w.owner,
    ).pk


def _an_incident(w: "World") -> int:
    from django.utils import timezone

    from rollout.models import Incident

    return Incident.objects.create(
        workflow=w.workflow, title="Matrix", started_at=timezone.now()
    ).pk


def _a_receipt_for_the_owner(w: "World") -> int:
    from rollout.models import NoticeDelivery, NoticeReceipt

    notice_id = _a_notice(w)
    NoticeDelivery.objects.create(
        notice_id=notice_id, recipient=w.owner, channel="in_app", status="sent"
    )
    return NoticeReceipt.objects.create(notice_id=notice_id, recipient=w.owner).pk


def _a_notice(w: "World") -> int:
    from datetime import timedelta

    from django.utils import timezone

    from rollout.models import ChangeNotice

    now = timezone.now()
    return ChangeNotice.objects.create(
        workflow=w.workflow,
        kind="other",
        title="Matrix",
        body="Matrix",
        publish_at=now + timedelta(days=1),
        effective_at=now + timedelta(days=9),
        created_by=w.owner,
    ).pk


def _a_feedback(w: "World") -> int:
    return w.workflow.feedback.create(rating="not_helpful", category="wrong_output", text="Off").pk


def _a_notification_for_the_owner(w: "World") -> int:
    return Notification.objects.create(recipient=w.owner, workflow=w.workflow, title="Breach").pk


def _an_escalation_page_for_the_owner(w: "World") -> int:
    """A notification paging the owner about an open escalation of their workflow."""
    from django.urls import reverse

    from rollout.services.escalations import escalation_open

    escalation = escalation_open(
        workflow=w.workflow, title="Refund promises", source="manual", actor=w.ops_leader
    )
    url = reverse("escalation_detail", args=[w.workflow.slug, escalation.pk])
    return Notification.objects.create(
        recipient=w.owner, workflow=w.workflow, title="Escalation for you", url=url
    ).pk


def _a_review(w: "World") -> int:
    """A review in progress with one item to answer, made directly (the matrix checks access)."""
    from django.utils import timezone

    from rollout.models import Review, ReviewAttestation

    review = Review.objects.create(
        workflow=w.workflow,
        period_start=w.workflow.created_at,
        started_by=w.owner,
        started_at=timezone.now(),
    )
    ReviewAttestation.objects.create(review=review, item="owner", label="Owner still right")
    return review.pk


def _review_kwargs(w: "World") -> dict:
    return {**WF(w), "review_id": _a_review(w)}


def _an_item(w: "World") -> dict:
    from rollout.models import ReviewAttestation

    item = ReviewAttestation.objects.filter(review__workflow=w.workflow).latest("pk")
    return {"item": item.pk, f"item-{item.pk}-answer": "holds"}


def _unsubscribe(w: "World") -> dict:
    from accounts.unsubscribe import unsubscribe_token

    return {"token": unsubscribe_token(w.target_user, "notices")}


# A page with named POST actions has one entry per action, `url_name[action]`: the action is
# posted with the entry's data. `url_name[?state]` names a page state of a GET (its data).
MATRIX: dict[str, Entry] = {
    "healthz": Entry(everyone(200)),
    # The scraper's bearer token, never a session, opens it.
    "metrics": Entry(everyone(401)),
    # OTLP trace exports: the workflow's API token, never a session (tests/rollout/api/test_otlp*).
    "otlp_traces": Entry(everyone(401), method="post"),
    "admin:*": Entry(everyone(302)),  # the admin sends non-staff to its own sign-in page
    # The JSON API authenticates by bearer token, not session; its operations have their own
    # contract tests (tests/rollout/api). Here: the schema is public, whoever asks.
    "api:*": Entry(everyone(200)),
    # OFREP authenticates by the workflow's API token only: a session, whoever's, is no token
    # (tests/rollout/api/test_ofrep*.py have the token holders).
    "ofrep_evaluate_flag": Entry(
        everyone(401), method="post", kwargs=lambda w: {"key": w.workflow.slug}
    ),
    "ofrep_evaluate_flags": Entry(everyone(401), method="post"),
    # Any other path under either standard's prefix: its own 404, the same for everyone
    # (tests/rollout/api/test_standards_unknown_paths.py).
    "ofrep_unknown_path": Entry(
        everyone(404), method="post", kwargs=lambda w: {"rest": "v1/configuration"}
    ),
    "otlp_unknown_path": Entry(everyone(404), method="post", kwargs=lambda w: {"rest": "v1/logs"}),
    # Accounts
    "login": Entry(everyone(302, anonymous=200)),  # signed-in users are sent home
    "logout": Entry(everyone(LOGIN), method="post"),
    "password_change": Entry(signed_in(200)),
    "password_change_done": Entry(signed_in(200)),
    "password_reset": Entry(everyone(200)),
    "password_reset_done": Entry(everyone(200)),
    "password_reset_confirm": Entry(
        everyone(200), kwargs=lambda w: {"uidb64": "MQ", "token": "x-y"}
    ),
    "password_reset_complete": Entry(everyone(200)),
    "profile": Entry(signed_in(200)),
    "organisation_settings": Entry(signed_in(403, ops_leader=200)),
    "profile[email]": Entry(signed_in(302), method="post", data=lambda w: {"notices": "on"}),
    # Anyone signed in creates their own personal tokens (shown on the response: 200).
    "profile[token_create]": Entry(signed_in(200), method="post", data=_token_fields),
    # One-click unsubscribe: the signed link is the authority, whoever (if anyone) is signed in.
    "email_unsubscribe": Entry(everyone(200), kwargs=lambda w: _unsubscribe(w)),
    "email_unsubscribe[?one-click]": Entry(
        everyone(200),
        method="post",
        kwargs=lambda w: _unsubscribe(w),
        data=lambda w: {"List-Unsubscribe": "One-Click"},
    ),
    "email_unsubscribe[?tampered]": Entry(
        everyone(400), method="post", kwargs=lambda w: {"token": _unsubscribe(w)["token"] + "x"}
    ),
    "people_list": Entry(signed_in(403, ops_leader=200)),
    "people_invite": Entry(signed_in(403, ops_leader=200)),
    "people_tokens": Entry(signed_in(403, ops_leader=200)),
    "people_tokens[revoke]": Entry(
        signed_in(403, ops_leader=302),
        method="post",
        data=lambda w: {"action": "revoke", "token": _a_personal_token(w)},
    ),
    "people_roles": Entry(signed_in(403, ops_leader=302), method="post", kwargs=TARGET),
    "people_deactivate": Entry(signed_in(403, ops_leader=200), kwargs=TARGET),
    "people_erase": Entry(signed_in(403, ops_leader=200), kwargs=TARGET),
    "people_reactivate": Entry(signed_in(403, ops_leader=302), method="post", kwargs=TARGET),
    # Workflows
    "home": Entry(signed_in(200)),
    "workflow_portfolio": Entry(signed_in(200)),
    "workflow_new": Entry(signed_in(403, ops_leader=200)),
    "workflow_overview": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "workflow_edit": Entry(signed_in(404, ops_leader=200, owner=200), kwargs=WF),
    "workflow_handover": Entry(signed_in(404, ops_leader=200, owner=200), kwargs=WF),
    "workflow_activity": Entry(signed_in(200, unrelated=404), kwargs=WF),
    # The AI configuration's history (rule 9): read by whoever reads the whole workflow.
    "workflow_configuration": Entry(signed_in(200, unrelated=404), kwargs=WF),
    # Model prices (issue 18 §3): declared and deleted by the owner and ops leaders, from the
    # configuration page. An empty declaration re-renders the page with its errors; deleting
    # without a price, or an unknown action, goes back with a message.
    "workflow_model_prices[declare]": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=WF
    ),
    "workflow_model_prices[delete]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=WF,
        data=lambda w: {
            "price": w.workflow.model_prices.create(
                model_version="v1", valid_from="2026-01-01", input_per_1k=1, output_per_1k=2
            ).pk
        },
    ),
    "workflow_model_prices[unknown]": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    # API tokens: only those who may change the workflow see or manage them.
    "workflow_tokens": Entry(signed_in(404, ops_leader=200, owner=200), kwargs=WF),
    "workflow_token_revoke": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=lambda w: {**WF(w), "token_id": _a_token(w)},
    ),
    # Rotation (issue 19) is a named action of the tokens page: it shows the new token (200).
    "workflow_tokens[rotate]": Entry(
        signed_in(404, ops_leader=200, owner=200),
        method="post",
        kwargs=WF,
        data=lambda w: {"token": _a_token(w), "grace": "3600"},
    ),
    # The people picker's search: only for someone who may use the form it serves (the purpose),
    # with that page's answer for the others. Anonymous: the sign-in page, as everywhere.
    "people_search[?owner]": Entry(
        signed_in(403, ops_leader=200), data=lambda w: {"purpose": "owner", "q": "ta"}
    ),
    **{
        f"people_search[?{purpose}]": Entry(
            signed_in(404, ops_leader=200, owner=200),
            data=lambda w, purpose=purpose: {
                "purpose": purpose,
                "workflow": w.workflow.slug,
                "cohort": w.workflow.cohorts.get_or_create(name="Matrix")[0].pk,
                "escalation": w.workflow.escalations.create(title="Matrix", source="manual").pk,
                "q": "ta",
            },
        )
        for purpose in ("handover", "contact", "cohort", "reassign", "reviewer")
    },
    "people_search[?unknown]": Entry(signed_in(400), data=lambda w: {"purpose": "everyone"}),
    # Cohorts: everyone who sees the workflow reads them; the CSV upload is for owner and ops.
    "workflow_cohorts": Entry(signed_in(200, unrelated=404), kwargs=WF),
    # The failure-mode briefing: everyone who may open the workflow reads it (cohort members
    # too: tests/rollout/views/test_briefings.py); the owner and ops leaders publish (an empty
    # form re-renders with its errors); acknowledging is a cohort member's — anyone else who
    # may open the page is redirected with a message, a stranger gets a 404.
    "workflow_briefing": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "workflow_briefing[publish]": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=WF
    ),
    "workflow_briefing[acknowledge]": Entry(
        signed_in(302, unrelated=404), method="post", kwargs=WF
    ),
    "workflow_briefing[unknown]": Entry(signed_in(302, unrelated=404), method="post", kwargs=WF),
    # A cohort's review level (the autonomy ladder): everyone who sees the workflow reads it;
    # the owner and ops leaders change it (an empty form re-renders with its errors). Deciding a
    # request is the ops leaders' (the service refuses the others with a flashed message; this
    # request, its gate fingerprint made up, lapses when an ops leader approves it).
    "cohort_review_level": Entry(signed_in(200, unrelated=404), kwargs=_A_COHORT),
    "cohort_review_level[change]": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=_A_COHORT
    ),
    **{
        f"cohort_review_level[{action}]": Entry(
            signed_in(302, unrelated=404),
            method="post",
            kwargs=_A_COHORT,
            data=lambda w: {"request": _an_autonomy_request(w), "note": "Matrix"},
        )
        for action in ("approve", "override", "reject", "cancel")
    },
    "cohort_review_level[unknown]": Entry(
        signed_in(302, unrelated=404), method="post", kwargs=_A_COHORT
    ),
    # The review queue shows excerpts of AI outputs: the owner, ops leaders and named reviewers
    # only (tests/rollout/views/test_review_queue.py: reviewers, and cohort members who are not);
    # executives and everyone else get the 404 of a hidden page. Invalid posts re-render.
    "workflow_review_queue": Entry(signed_in(404, ops_leader=200, owner=200), kwargs=WF),
    "workflow_review_queue[grade]": Entry(
        signed_in(404, ops_leader=200, owner=200),
        method="post",
        kwargs=WF,
        data=lambda w: {"review": "1", "grade": "excellent"},
    ),
    "workflow_review_queue[add_reviewer]": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=WF
    ),
    "workflow_review_queue[remove_reviewer]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=WF,
        data=lambda w: {"user": w.target_user.pk},
    ),
    "workflow_review_queue[unknown]": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    "workflow_cohort_csv": Entry(
        signed_in(404, ops_leader=200, owner=200),
        kwargs=lambda w: {
            "slug": w.workflow.slug,
            "cohort_id": w.workflow.cohorts.get_or_create(name="Matrix")[0].pk,
        },
    ),
    # Outcome holdouts: who is held out is for the owner and ops leaders only.
    "workflow_cohort_holdout": Entry(
        signed_in(404, ops_leader=200, owner=200), kwargs=lambda w: _holdout_kwargs(w)
    ),
    "workflow_cohort_holdout[release]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=lambda w: _holdout_kwargs(w),
        data=lambda w: {"user": w.target_user.pk, "reason": "Matrix"},
    ),
    "workflow_cohort_holdout[unknown]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=lambda w: _holdout_kwargs(w),
    ),
    # Outcome metrics: read by everyone who may view the workflow; declared by owner and ops.
    "workflow_outcomes": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "workflow_outcomes[create]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=WF,
        data=lambda w: {"name": "handle_time_s", "label": "Handle time", "unit": "s"},
    ),
    "workflow_outcomes[edit]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=WF,
        data=lambda w: {"metric": _an_outcome_metric(w), "label": "Handle time (s)"},
    ),
    "workflow_outcomes[archive]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=WF,
        data=lambda w: {"metric": _an_outcome_metric(w)},
    ),
    "workflow_outcomes[restore]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=WF,
        data=lambda w: {"metric": _an_outcome_metric(w)},
    ),
    "workflow_outcomes[unknown]": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    # Thresholds and escalation path: everyone who may view the workflow reads them; owner and
    # ops leaders change them. Rows made directly: the matrix checks access, not the services.
    "workflow_thresholds": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "threshold_edit": Entry(
        signed_in(404, ops_leader=200, owner=200),
        kwargs=lambda w: {**WF(w), "threshold_id": _a_threshold(w)},
    ),
    "threshold_delete": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=lambda w: {**WF(w), "threshold_id": _a_threshold(w)},
    ),
    # The escalation path page: editing a level (`?edit=<id>`) and every action change the path.
    "escalation_path": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "escalation_path[?edit]": Entry(
        signed_in(404, ops_leader=200, owner=200),
        kwargs=WF,
        data=lambda w: {"edit": _a_level(w)},
    ),
    **{
        f"escalation_path[{action}]": Entry(
            signed_in(404, ops_leader=302, owner=302),
            method="post",
            kwargs=WF,
            data=lambda w: {"level": _a_level(w), "direction": "down"},
        )
        for action in ("move", "remove")
    },
    **{
        f"escalation_path[{action}]": Entry(
            signed_in(404, ops_leader=200, owner=200),
            method="post",
            kwargs=WF,
            data=lambda w: {"level": _a_level(w)},
        )
        for action in ("add", "edit", "repeat", "open")
    },
    "escalation_path[unknown]": Entry(
        signed_in(404, ops_leader=400, owner=400), method="post", kwargs=WF
    ),
    # One escalation: everyone who may view the workflow reads it (contacts too: see
    # tests/rollout/views/test_escalations.py for acting on it, role by role).
    "escalation_detail": Entry(
        signed_in(200, unrelated=404),
        kwargs=lambda w: {
            **WF(w),
            "escalation_id": w.workflow.escalations.create(title="Matrix", source="manual").pk,
        },
    ),
    # Incidents: everyone who may view the workflow reads them (cohort members only closed ones
    # that affected their cohorts: tests/rollout/views/test_incidents.py); owner and ops act.
    "workflow_incidents": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "incident_detail": Entry(
        signed_in(200, unrelated=404),
        kwargs=lambda w: {**WF(w), "incident_id": _an_incident(w)},
    ),
    # Reviews: everyone who may view the workflow reads them (cohort members: 404, see
    # tests/rollout/views/test_reviews.py); owner and ops leaders act, executives only read (a
    # POST is the 404 of a page they may not change). Reinstating a workflow that is not retired
    # answers the page with the refusal (200); for the owner too, who may not reinstate.
    "workflow_reviews": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "workflow_reviews[start]": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    "workflow_reviews[reinstate]": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=WF
    ),
    "workflow_reviews[unknown]": Entry(
        signed_in(404, ops_leader=400, owner=400), method="post", kwargs=WF
    ),
    "review_detail": Entry(signed_in(200, unrelated=404), kwargs=_review_kwargs),
    "review_detail[attest]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=_review_kwargs,
        data=_an_item,
    ),
    "review_detail[decide]": Entry(
        signed_in(404, ops_leader=302, owner=302),
        method="post",
        kwargs=_review_kwargs,
        data=lambda w: {"kind": "hold", "rationale": "Matrix"},
    ),
    # Not every item is answered yet: the page says so (200).
    "review_detail[complete]": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=_review_kwargs
    ),
    "review_detail[unknown]": Entry(
        signed_in(404, ops_leader=400, owner=400), method="post", kwargs=_review_kwargs
    ),
    # Change notices (authoring): owner, ops leaders and executives read the list; owner and ops
    # leaders write (cohort members: 404, they read notices in their inbox). An empty POST to the
    # preview is a preview of nothing (200). See tests/rollout/views/test_notices.py.
    "workflow_notices": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "notice_preview": Entry(signed_in(404, ops_leader=200, owner=200), method="post", kwargs=WF),
    "notice_edit": Entry(
        signed_in(404, ops_leader=200, owner=200),
        kwargs=lambda w: {**WF(w), "notice_id": _a_notice(w)},
    ),
    # Change notices (delivery): the notice page with its read/acknowledged counts is for the
    # owner, ops leaders and executives; the inbox is everyone's own, and a receipt opens only for
    # its recipient (tests/rollout/views/test_inbox.py, test_notice_detail.py).
    "notice_detail": Entry(
        signed_in(200, unrelated=404), kwargs=lambda w: {**WF(w), "notice_id": _a_notice(w)}
    ),
    "inbox": Entry(signed_in(200)),
    "inbox_count": Entry(signed_in(200)),
    "inbox_notice": Entry(
        signed_in(404, owner=200), kwargs=lambda w: {"receipt_id": _a_receipt_for_the_owner(w)}
    ),
    # Usage: everyone who may view the workflow (cohort members only use it: 404, see
    # tests/rollout/views/test_workflow_usage.py).
    "workflow_usage": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "workflow_usage_csv": Entry(signed_in(200, unrelated=404), kwargs=WF),
    # Feedback: everyone who sees the workflow reads it (cohort members too: see
    # tests/rollout/views/test_feedback_pages.py). Filing it needs a role on the workflow, so an
    # executive with none gets the same 404 as a stranger.
    "workflow_feedback": Entry(signed_in(200, unrelated=404), kwargs=WF),
    # The inbox's bulk bar: owner and ops leaders only (an empty one is a flash message and a
    # redirect); anyone else gets the 404 of a triage they may not do.
    "workflow_feedback[bulk]": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    "feedback_detail": Entry(
        signed_in(200, unrelated=404),
        kwargs=lambda w: {**WF(w), "feedback_id": _a_feedback(w)},
    ),
    # The inbox's side panel: the item for whoever may read it (triage controls for triagers).
    "feedback_detail[?panel]": Entry(
        signed_in(200, unrelated=404),
        kwargs=lambda w: {**WF(w), "feedback_id": _a_feedback(w)},
        headers={"HX-Request": "true", "HX-Target": "triage-panel"},
    ),
    "feedback_new": Entry(
        signed_in(404, ops_leader=200, owner=200), data=lambda w: {"workflow": w.workflow.slug}
    ),
    # Only the recipient marks a notification read; anyone else's is a 404.
    "notification_read": Entry(
        signed_in(404, owner=302),
        method="post",
        kwargs=lambda w: {"notification_id": _a_notification_for_the_owner(w)},
    ),
    # Only the recipient acknowledges the escalation a notification pages them about.
    "notification_acknowledge": Entry(
        signed_in(404, owner=302),
        method="post",
        kwargs=lambda w: {"notification_id": _an_escalation_page_for_the_owner(w)},
    ),
    # Roll-out plan: everyone who sees the workflow reads it; owner and ops leaders change it. An
    # empty POST is a form re-rendered with errors (200) or, naming no phase/source/question, a
    # redirect with a flash message (302).
    "workflow_plan": Entry(signed_in(200, unrelated=404), kwargs=WF),
    "workflow_plan_create": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=WF
    ),
    "workflow_phase_edit": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    "workflow_plan_settings": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=WF
    ),
    "workflow_readiness_answer": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    "workflow_source_new": Entry(
        signed_in(404, ops_leader=200, owner=200), method="post", kwargs=WF
    ),
    "workflow_source_edit": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    "workflow_source_delete": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    # Promotions, phase control, blackout windows (missing ids: 404 once access is granted)
    "workflow_gate": Entry(signed_in(200, unrelated=404), kwargs=WF),
    # One page, named actions: the phase actions are the owner's and ops leaders'; deciding on a
    # request is for ops leaders, cancelling it for its requester too (a missing request: 404
    # once the action is allowed). Roles that may not act get a 404, as for a missing workflow.
    **{
        f"workflow_promotions[{action}]": Entry(
            signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
        )
        for action in ("request", "pause", "resume", "rollback")
    },
    **{
        f"workflow_promotions[{action}]": Entry(
            signed_in(404), method="post", kwargs=WF, data=lambda w: {"promotion": 999999}
        )
        for action in ("approve", "override", "reject", "cancel")
    },
    "workflow_promotions[unknown]": Entry(signed_in(400, unrelated=404), method="post", kwargs=WF),
    "workflow_blackout_add": Entry(
        signed_in(404, ops_leader=302, owner=302), method="post", kwargs=WF
    ),
    "workflow_blackout_delete": Entry(
        signed_in(404),
        method="post",
        kwargs=lambda w: {"slug": w.workflow.slug, "blackout_id": 999999},
    ),
    "approval_list": Entry(signed_in(403, ops_leader=200)),
    # An approval email's signed link, made here for the ops leader: only they may use it; anyone
    # else signed in is told it is someone else's (tests/rollout/views/test_approval_links.py).
    "approval_link": Entry(signed_in(403, ops_leader=200), kwargs=_an_approval_link),
    "approval_link[approve]": Entry(
        signed_in(403, ops_leader=302), method="post", kwargs=_an_approval_link
    ),
    "blackout_list": Entry(signed_in(200)),
    "blackout_delete": Entry(
        signed_in(403, ops_leader=404), method="post", kwargs=lambda w: {"blackout_id": 999999}
    ),
    # Calendar, following, webhooks. The feed takes no session: its token is the credential, so
    # an unknown one is a 404 for everyone (valid tokens: tests/rollout/views/test_calendar.py).
    "calendar": Entry(signed_in(200)),
    "calendar_feed_token": Entry(
        signed_in(200), method="post", data=lambda w: {"action": "create"}
    ),
    "calendar_feed": Entry(everyone(404), kwargs=lambda w: {"token": "not-a-feed-token"}),
    "workflow_follow": Entry(
        signed_in(302, unrelated=404), method="post", kwargs=WF, data=lambda w: {"action": "follow"}
    ),
    "workflow_webhooks": Entry(signed_in(404, ops_leader=200, owner=200), kwargs=WF),
    # Every action: the owner and ops leaders (creating re-renders the page with the secret;
    # another workflow's or a missing endpoint is a 404), everyone else a 404.
    "workflow_webhooks[create]": Entry(
        signed_in(404, ops_leader=200, owner=200),
        method="post",
        kwargs=WF,
        data=lambda w: {"action": "create", "kind": "webhook", "url": "https://example.com/h"},
    ),
    **{
        f"workflow_webhooks[{action}]": Entry(
            signed_in(404),
            method="post",
            kwargs=WF,
            data=lambda w, action=action: {"action": action, "webhook": 999999},
        )
        for action in ("turn_off", "turn_on", "delete", "event_types", "switch", "rotate")
    },
    # The organisation's webhooks and chat channels: ops leaders only, a 404 for anyone else.
    "org_webhooks": Entry(signed_in(404, ops_leader=200)),
    "org_webhooks[create]": Entry(
        signed_in(404, ops_leader=200),
        method="post",
        data=lambda w: {
            "action": "create",
            "kind": "slack",
            "url": "https://hooks.slack.com/services/T0/B0/matrix",
        },
    ),
    # Executive evidence (read only, no POST anywhere): executives and ops leaders read every
    # workflow's, an owner theirs; someone who may view no workflow (a cohort member, a
    # stranger) gets a 403 on the org-level pages and a 404 on a workflow's
    # (tests/rollout/views/test_evidence.py has the cohort member).
    "evidence_timeline": Entry(signed_in(200, unrelated=403)),
    "evidence_csv": Entry(signed_in(200, unrelated=403)),
    "evidence_json": Entry(signed_in(200, unrelated=403)),
    "evidence_board_pack": Entry(signed_in(200, unrelated=403)),
    "workflow_evidence": Entry(signed_in(200, unrelated=404), kwargs=WF),
    # The org-wide activity log and its exports: ops leaders only.
    "org_activity": Entry(signed_in(403, ops_leader=200)),
    "org_activity_csv": Entry(signed_in(403, ops_leader=200)),
    "org_activity_json": Entry(signed_in(403, ops_leader=200)),
}


# Namespaces with one entry for all their URLs: `name:*`, checked at the URL named here.
WHOLE_NAMESPACES = {"admin": "admin:index", "api": "api:openapi-json"}


def _walk(patterns: list, prefix: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace in WHOLE_NAMESPACES:
                yield f"{p.namespace}:*"
                continue
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from _walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            yield f"{prefix}{p.name}" if p.name else f"{prefix}<unnamed {p.pattern}>"


def url_names() -> set[str]:
    return set(_walk(get_resolver().url_patterns))


def split_key(key: str) -> tuple[str, str]:
    """`url_name[action]` → (url_name, action); a plain `url_name` has no action."""
    name, _, action = key.partition("[")
    return name, action.removesuffix("]")


def test_every_url_pattern_has_an_entry():
    names = url_names()
    entries = {split_key(key)[0] for key in MATRIX}
    assert sorted(names - entries) == [], "URL patterns without a permission-matrix entry"
    assert sorted(entries - names) == [], "matrix entries for URL patterns that don't exist"


@pytest.fixture
def world(db) -> World:
    owner = UserFactory(display_name="Owner")
    ops = ops_leader_user()
    return World(
        ops_leader=ops,
        executive=executive_user(),
        owner=owner,
        unrelated=UserFactory(display_name="Unrelated"),
        workflow=make_workflow(owner=owner, actor=ops),
        target_user=UserFactory(display_name="Target"),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_access(world: World, client: Client, name: str, role: str):
    entry = MATRIX[name]
    user = None if role == "anonymous" else getattr(world, role)
    if user is not None:
        client.force_login(user)
    base, action = split_key(name)
    namespace = base.removesuffix(":*")
    url_name = WHOLE_NAMESPACES.get(namespace, base)
    url = reverse(url_name, kwargs=entry.kwargs(world))
    posted_action = {"action": action} if action and not action.startswith("?") else {}
    data = {**entry.data(world), **posted_action}
    response = getattr(client, entry.method)(url, data=data, headers=entry.headers)

    expected = entry.expect[role]
    if expected == LOGIN:
        assert response.status_code == 302, response
        assert response["Location"].startswith(reverse("login")), response["Location"]
    else:
        assert response.status_code == expected, (name, role, response.status_code)

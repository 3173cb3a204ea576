"""Approvals from an email link (issue 20 §3): the signed link in an approver's email opens a page
that needs sign-in, shows the request and its gate, and decides only on a POST from that page,
through the same services as the workflow's pages."""

import re
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from accounts.unsubscribe import unsubscribe_token
from rollout.lib.approval_links import (
    MAX_AGE,
    ApprovalKind,
    ApprovalLinkPayload,
    approval_link_read,
)
from rollout.models import (
    ActivityEntry,
    BlackoutWindow,
    ChangeNotice,
    DataSource,
    NoticeStatus,
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
    Webhook,
    WebhookDelivery,
    Workflow,
)
from rollout.selectors.approval_links import (
    approval_link_path,
    notice_subject,
    notice_version,
    promotion_subject,
    promotion_version,
)
from rollout.services import notices
from rollout.services import promotions as svc
from rollout.services.blackouts import blackout_message
from rollout.services.notifications import MSG_EMAIL_DECIDE
from rollout.views import approval_links as views
from rollout.views.notices import MSG_APPROVED
from rollout.views.promotions import MSG_EXECUTED, MSG_REJECTED, MSG_WAITING
from tests.factories import ops_leader_user
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready
from tests.rollout.views.conftest import as_user, login_redirect

LINK = re.compile(r"https?://\S+(/approve/[^/\s]+/)")


@pytest.fixture
def second_ops(db) -> User:
    return ops_leader_user(email="ops2@example.com", display_name="Pat Ops")


@pytest.fixture
def ready(workflow, ops_leader):
    phases = make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    return phases


@pytest.fixture
def requested(workflow, workflow_owner, ready) -> PromotionRequest:
    return svc.promotion_request(workflow=workflow, actor=workflow_owner, note="Shadow is ready")


def link(request: PromotionRequest, approver: User) -> str:
    return approval_link_path(promotion_subject(request), approver)


def status_of(request: PromotionRequest) -> str:
    return PromotionRequest.objects.get(pk=request.pk).status


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def assert_no_referrer(response) -> None:
    assert response["Referrer-Policy"] == "no-referrer"


def body(response) -> str:
    return response.content.decode()


# --- the email ------------------------------------------------------------------------------


def test_each_approver_is_emailed_a_link_of_their_own(
    workflow, workflow_owner, ops_leader, second_ops, ready, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    paths = {}
    for leader in (ops_leader, second_ops):
        (email,) = [m for m in mail.outbox if m.to == [leader.email]]
        assert MSG_EMAIL_DECIDE in email.body
        (paths[leader.pk],) = LINK.findall(email.body)
        token = paths[leader.pk].split("/")[2]
        assert approval_link_read(token) == ApprovalLinkPayload(
            leader.pk, ApprovalKind.PROMOTION, request.pk, promotion_version(request)
        )
        # The plain page is there too, and the app's notification has only the plain page.
        assert f"/workflows/{workflow.slug}/#promotion-card" in email.body
    assert paths[ops_leader.pk] != paths[second_ops.pk]
    assert [m.to for m in mail.outbox if m.to == [workflow_owner.email]] == []
    # The in-app notification never shows the signed link.
    response = as_user(ops_leader).get(reverse("home"))
    assert "Promotion to approve" in body(response)
    assert "/approve/" not in body(response)


def test_an_urgent_notice_email_carries_a_link(
    workflow, workflow_owner, ops_leader, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        notice = notices.notice_create_scheduled(
            workflow=workflow,
            actor=workflow_owner,
            kind="other",
            title="Hotfix",
            body="Now.",
            audience="everyone",
            publish_at=now + timedelta(minutes=10),
            effective_at=now + timedelta(hours=1),
            urgent_reason="A wrong price is live.",
        )
    (email,) = [m for m in mail.outbox if m.to == [ops_leader.email]]
    (path,) = LINK.findall(email.body)
    notice.refresh_from_db()
    assert approval_link_read(path.split("/")[2]) == ApprovalLinkPayload(
        ops_leader.pk, ApprovalKind.NOTICE, notice.pk, notice_version(notice)
    )
    assert as_user(ops_leader).get(path).status_code == 200


def test_a_link_never_goes_to_a_webhook(
    workflow, workflow_owner, ops_leader, ready, django_capture_on_commit_callbacks
):
    Webhook.objects.create(workflow=workflow, url="https://hooks.example.com/x", secret="s")
    with django_capture_on_commit_callbacks(execute=True):
        svc.promotion_request(workflow=workflow, actor=workflow_owner)
    payloads = list(WebhookDelivery.objects.values_list("payload", flat=True))
    assert payloads, "the request was announced to the webhook"
    assert "/approve/" not in str(payloads)


# --- opening the link -----------------------------------------------------------------------


def test_sign_in_first_then_back_to_the_link(requested, ops_leader):
    path = link(requested, ops_leader)
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(quote(path, safe="/"))


def test_the_page_shows_the_request_and_its_gate_and_never_approves_on_get(
    requested, ops_leader, workflow, django_assert_max_num_queries
):
    client = as_user(ops_leader)
    path = link(requested, ops_leader)
    with django_assert_max_num_queries(60):
        response = client.get(path)
    assert response.status_code == 200
    assert_no_referrer(response)
    page = body(response)
    assert "Promotion to approve: Data audit → Shadow mode" in page
    assert "Shadow is ready" in page and "Owen Owner" in page
    assert "✓ Gate passes" in page and "Data sources documented" in page
    assert f'<form method="post" action="{path}">' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert '<input type="hidden" name="action" value="approve">' in page
    assert '<input type="hidden" name="action" value="reject">' in page
    assert "Sign out" not in page  # its form could not be posted from this page
    # Opening it again and again (a mail scanner, a link preview) decides nothing.
    for _ in range(3):
        assert client.get(path).status_code == 200
        assert client.head(path).status_code == 200
    assert status_of(requested) == PromotionStatus.PENDING
    assert PromotionApproval.objects.count() == 0


def test_approving_from_the_link(requested, ops_leader, workflow, ready):
    client = as_user(ops_leader)
    response = client.post(link(requested, ops_leader), {"action": "approve", "approve-note": "Go"})
    assert response.status_code == 302
    assert response["Location"] == f"/workflows/{workflow.slug}/#promotion-card"
    assert_no_referrer(response)
    assert flashes(response) == [MSG_EXECUTED.format(phase="Shadow mode")]
    assert status_of(requested) == PromotionStatus.EXECUTED
    # Logged as usual, by the approver.
    entries = ActivityEntry.objects.filter(workflow=workflow, actor=ops_leader)
    assert {"approved a promotion", "promoted"} <= set(entries.values_list("verb", flat=True))
    assert entries.get(verb="approved a promotion").note == "Go"
    # The link has done its work: it now says the request changed.
    again = client.get(link(requested, ops_leader))
    assert again.status_code == 409


def test_one_of_two_approvals_leaves_the_other_link_working(
    workflow, requested, ops_leader, second_ops
):
    Workflow.objects.filter(pk=workflow.pk).update(required_approvals=2)
    first = as_user(ops_leader).post(link(requested, ops_leader), {"action": "approve"})
    assert flashes(first) == [MSG_WAITING]
    assert as_user(second_ops).get(link(requested, second_ops)).status_code == 200
    as_user(second_ops).post(link(requested, second_ops), {"action": "approve"})
    assert status_of(requested) == PromotionStatus.EXECUTED


def test_rejecting_from_the_link(requested, ops_leader, workflow_owner):
    response = as_user(ops_leader).post(
        link(requested, ops_leader), {"action": "reject", "reject-note": "After quarter close"}
    )
    assert response.status_code == 302
    assert flashes(response) == [MSG_REJECTED]
    request = PromotionRequest.objects.get(pk=requested.pk)
    assert (request.status, request.outcome) == (PromotionStatus.REJECTED, "After quarter close")


def test_a_failing_gate_is_approved_only_with_a_reason(workflow, workflow_owner, ops_leader):
    make_plan(workflow, current="audit")  # nothing documented: the gate fails
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    client = as_user(ops_leader)
    path = link(request, ops_leader)
    page = body(client.get(path))
    assert 'value="override"' in page and 'value="approve"' not in page
    refused = client.post(path, {"action": "approve"})
    assert refused.status_code == 200
    assert "The gate is not passing" in body(refused)
    empty = client.post(path, {"action": "override", "override-reason": ""})
    assert "Check the form: This field is required." in body(empty)
    assert status_of(request) == PromotionStatus.PENDING
    client.post(path, {"action": "override", "override-reason": "Audit signed off on paper"})
    request.refresh_from_db()
    assert (request.status, request.override_reason) == (
        PromotionStatus.EXECUTED,
        "Audit signed off on paper",
    )


def test_an_unknown_action_is_refused(requested, ops_leader):
    response = as_user(ops_leader).post(link(requested, ops_leader), {"action": "cancel"})
    assert response.status_code == 400
    assert_no_referrer(response)
    assert status_of(requested) == PromotionStatus.PENDING


# --- what the services still refuse ----------------------------------------------------------


def test_the_requester_cannot_approve_from_a_link(workflow, ops_leader, second_ops, ready):
    """An ops leader who requested is never sent a link; one made for them anyway is refused by
    the service, in its words."""
    request = svc.promotion_request(workflow=workflow, actor=ops_leader)
    response = as_user(ops_leader).post(link(request, ops_leader), {"action": "approve"})
    assert response.status_code == 200
    assert_no_referrer(response)
    assert svc.MSG_OWN_REQUEST in body(response)
    assert PromotionApproval.objects.count() == 0
    assert status_of(request) == PromotionStatus.PENDING


def test_a_changed_gate_lapses_the_request(requested, ops_leader, workflow):
    path = link(requested, ops_leader)
    DataSource.objects.filter(workflow=workflow).update(freshness="daily")
    client = as_user(ops_leader)
    page = body(client.get(path))
    assert "The gate changed since this promotion was requested (Data sources documented)" in page
    response = client.post(path, {"action": "approve"})
    assert response.status_code == 409
    assert_no_referrer(response)
    assert svc.MSG_LAPSED.format(changed="Data sources documented") in body(response)
    assert status_of(requested) == PromotionStatus.LAPSED
    assert PromotionApproval.objects.count() == 0
    assert ActivityEntry.objects.filter(verb="promotion request lapsed").count() == 1
    again = client.get(path)
    assert again.status_code == 409
    lapsed = views.MSG_CHANGED_STATUS.format(status="Lapsed (its gate changed)")
    assert escape(lapsed) in body(again)


def test_refused_inside_a_blackout(requested, ops_leader, workflow):
    now = timezone.now()
    window = BlackoutWindow.objects.create(
        workflow=workflow,
        name="Launch week",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        created_by=ops_leader,
    )
    client = as_user(ops_leader)
    path = link(requested, ops_leader)
    assert blackout_message(window) in body(client.get(path))
    response = client.post(path, {"action": "approve"})
    assert response.status_code == 200
    assert blackout_message(window) in body(response)
    assert 'role="alert"' in body(response)
    assert status_of(requested) == PromotionStatus.PENDING
    assert PromotionApproval.objects.count() == 0


# --- links that cannot be used ----------------------------------------------------------------


def test_an_expired_link_says_so_and_offers_the_page(requested, ops_leader, workflow, monkeypatch):
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - MAX_AGE.total_seconds() - 60)
    path = link(requested, ops_leader)
    monkeypatch.setattr(signing.time, "time", lambda: now)
    client = as_user(ops_leader)
    response = client.get(path)
    assert response.status_code == 410
    assert_no_referrer(response)
    page = body(response)
    assert escape(views.MSG_EXPIRED.format(hours=72)) in page
    assert f'href="/workflows/{workflow.slug}/#promotion-card"' in page
    posted = client.post(path, {"action": "approve"})
    assert posted.status_code == 410
    assert status_of(requested) == PromotionStatus.PENDING


def test_a_link_just_inside_its_72_hours_works(requested, ops_leader, monkeypatch):
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - MAX_AGE.total_seconds() + 60)
    path = link(requested, ops_leader)
    monkeypatch.setattr(signing.time, "time", lambda: now)
    assert as_user(ops_leader).get(path).status_code == 200


def test_someone_elses_link(requested, ops_leader, second_ops, workflow):
    path = link(requested, ops_leader)
    client = as_user(second_ops)
    response = client.get(path)
    assert response.status_code == 403
    assert_no_referrer(response)
    page = body(response)
    assert escape(views.MSG_OTHER_PERSON) in page
    assert "Shadow is ready" not in page  # nothing of the request itself
    assert f'href="/workflows/{workflow.slug}/#promotion-card"' in page
    assert client.post(path, {"action": "approve"}).status_code == 403
    assert PromotionApproval.objects.count() == 0


def test_the_requester_opening_an_approvers_link(requested, ops_leader, workflow_owner):
    response = as_user(workflow_owner).post(link(requested, ops_leader), {"action": "approve"})
    assert response.status_code == 403
    assert PromotionApproval.objects.count() == 0


def test_a_request_decided_since_says_how(requested, ops_leader, second_ops):
    path = link(requested, ops_leader)
    svc.promotion_reject(request=requested, actor=second_ops, note="No")
    response = as_user(ops_leader).get(path)
    assert response.status_code == 409
    assert_no_referrer(response)
    assert escape(views.MSG_CHANGED_STATUS.format(status="Rejected")) in body(response)
    as_user(ops_leader).post(path, {"action": "approve"})
    assert status_of(requested) == PromotionStatus.REJECTED


def _tampered(path: str) -> str:
    token = path.split("/")[2]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    return reverse("approval_link", kwargs={"token": flipped})


@pytest.mark.parametrize(
    "make_path",
    [
        pytest.param(lambda r, u: _tampered(link(r, u)), id="signature"),
        pytest.param(
            lambda r, u: reverse(
                "approval_link",
                kwargs={"token": link(r, u).split("/")[2].replace(":", "x:", 1)},
            ),
            id="payload",
        ),
        pytest.param(lambda r, u: "/approve/not-a-token/", id="garbage"),
        pytest.param(lambda r, u: "/approve/%E2%9C%93:%00:x/", id="odd characters"),
        pytest.param(
            lambda r, u: reverse(
                "approval_link", kwargs={"token": unsubscribe_token(u, "updates")}
            ),
            id="another salt",
        ),
    ],
)
def test_a_tampered_link_is_not_valid(requested, ops_leader, make_path):
    path = make_path(requested, ops_leader)
    client = as_user(ops_leader)
    response = client.get(path)
    assert response.status_code == 404
    assert_no_referrer(response)
    assert escape(views.MSG_INVALID) in body(response)
    assert 'href="/approvals/"' in body(response)
    assert client.post(path, {"action": "approve"}).status_code == 404
    assert status_of(requested) == PromotionStatus.PENDING


def test_a_link_to_a_request_that_is_gone(requested, ops_leader):
    path = link(requested, ops_leader)
    PromotionRequest.objects.filter(pk=requested.pk).delete()
    response = as_user(ops_leader).get(path)
    assert response.status_code == 404
    assert escape(views.MSG_INVALID) in body(response)


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["workflow_owner", "executive"])
def test_only_ops_leaders_decide(request, requested, role):
    """A link bound to someone who is not (or no longer) an ops leader shows the request but
    offers no decision, and the service refuses one posted anyway."""
    person = request.getfixturevalue(role)
    client = as_user(person)
    path = link(requested, person)
    page = client.get(path)
    assert page.status_code == 200
    assert escape(views.MSG_OPS_ONLY) in body(page)
    assert 'value="approve"' not in body(page)
    response = client.post(path, {"action": "approve"})
    assert svc.MSG_OPS_ONLY in body(response)
    assert status_of(requested) == PromotionStatus.PENDING


def test_someone_who_may_not_see_the_workflow(requested, other_user):
    response = as_user(other_user).get(link(requested, other_user))
    assert response.status_code == 404
    assert "Shadow is ready" not in body(response)
    assert 'href="/"' in body(response)


def test_an_inactive_approver_is_signed_out(requested, ops_leader):
    path = link(requested, ops_leader)
    client = as_user(ops_leader)
    User.objects.filter(pk=ops_leader.pk).update(is_active=False)
    response = client.get(path)
    assert response.status_code == 302
    assert PromotionApproval.objects.count() == 0


# --- urgent notices ---------------------------------------------------------------------------


@pytest.fixture
def urgent(workflow, workflow_owner) -> ChangeNotice:
    now = timezone.now()
    return notices.notice_create_scheduled(
        workflow=workflow,
        actor=workflow_owner,
        kind="other",
        title="Hotfix",
        body="The **price** is fixed.",
        audience="everyone",
        publish_at=now + timedelta(minutes=10),
        effective_at=now + timedelta(hours=1),
        urgent_reason="A wrong price is live.",
    )


def test_approving_an_urgent_notice_from_the_link(urgent, ops_leader, workflow):
    client = as_user(ops_leader)
    path = approval_link_path(notice_subject(urgent), ops_leader)
    page = client.get(path)
    assert page.status_code == 200
    assert_no_referrer(page)
    assert "Urgent notice to approve: Hotfix" in body(page)
    assert "A wrong price is live." in body(page) and "<strong>price</strong>" in body(page)
    assert 'value="reject"' not in body(page)
    response = client.post(path, {"action": "approve"})
    assert response.status_code == 302
    assert response["Location"] == reverse("notice_edit", args=[workflow.slug, urgent.pk])
    assert flashes(response) == [MSG_APPROVED.format(title="Hotfix")]
    urgent.refresh_from_db()
    assert (urgent.status, urgent.approved_by) == (NoticeStatus.SCHEDULED, ops_leader)
    assert ActivityEntry.objects.filter(verb="approved urgent", actor=ops_leader).count() == 1


def test_an_edited_notice_needs_a_new_link(urgent, ops_leader, workflow_owner):
    path = approval_link_path(notice_subject(urgent), ops_leader)
    notices.notice_update(notice=urgent, actor=workflow_owner, body="The price is fixed now.")
    response = as_user(ops_leader).get(path)
    assert response.status_code == 409
    assert escape(views.MSG_CHANGED_EDITED) in body(response)
    as_user(ops_leader).post(path, {"action": "approve"})
    urgent.refresh_from_db()
    assert urgent.status == NoticeStatus.AWAITING_APPROVAL


def test_a_notice_link_rejects_a_promotion_action(urgent, ops_leader):
    path = approval_link_path(notice_subject(urgent), ops_leader)
    assert as_user(ops_leader).post(path, {"action": "reject"}).status_code == 400


# --- CSRF under no-referrer -------------------------------------------------------------------


def _csrf_client(user: User, path: str) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = body(client.get(path))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    return client, token


def test_a_post_from_the_page_passes_csrf_with_a_null_origin(requested, ops_leader):
    """Under Referrer-Policy: no-referrer a browser posts the page's form with Origin: null; the
    browser's own Sec-Fetch-Site says it came from this site."""
    path = link(requested, ops_leader)
    client, token = _csrf_client(ops_leader, path)
    response = client.post(
        path,
        {"action": "approve", "csrfmiddlewaretoken": token},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 302
    assert status_of(requested) == PromotionStatus.EXECUTED


@pytest.mark.parametrize(
    ("headers", "with_token"),
    [
        pytest.param({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, False, id="no token"),
        pytest.param({"Origin": "null"}, True, id="null origin, no fetch metadata"),
        pytest.param({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, True, id="cross-site"),
        pytest.param({"Origin": "null", "Sec-Fetch-Site": "same-site"}, True, id="same-site"),
        pytest.param(
            {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
            True,
            id="another origin",
        ),
    ],
)
def test_csrf_still_refuses(requested, ops_leader, headers, with_token):
    path = link(requested, ops_leader)
    client, token = _csrf_client(ops_leader, path)
    data = {"action": "approve", **({"csrfmiddlewaretoken": token} if with_token else {})}
    response = client.post(path, data, headers=headers)
    assert response.status_code == 403
    assert_no_referrer(response)
    assert status_of(requested) == PromotionStatus.PENDING

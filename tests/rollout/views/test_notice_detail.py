"""The owner's page of one notice: as recipients see it, and who it reached, read and
acknowledged, per cohort; failed deliveries with a Retry."""

import pytest
from django.urls import reverse
from django.utils import timezone

from rollout.models import DeliveryStatus, NoticeDelivery, NoticeReceipt
from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
from rollout.views.notice_detail import MSG_NOT_RETRYABLE
from tests.factories import UserFactory, executive_user
from tests.rollout.notice_fixtures import make_notice, make_scene

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene():
    return make_scene()


@pytest.fixture
def published(scene):
    """Published and delivered; Amy read and acknowledged, Ben read; Cat's email failed."""
    notice = make_notice(scene, requires_ack=True)
    notices_publish_due()
    notice_deliveries_send()
    now = timezone.now()
    NoticeReceipt.objects.filter(recipient=scene.amy).update(read_at=now, acknowledged_at=now)
    NoticeReceipt.objects.filter(recipient=scene.ben).update(read_at=now)
    NoticeDelivery.objects.filter(recipient=scene.cat, channel="email").update(
        status=DeliveryStatus.FAILED,
        attempts=5,
        last_error="SMTPRecipientsRefused: 550 No such user",
    )
    return notice


def _url(notice):
    return reverse("notice_detail", args=[notice.workflow.slug, notice.pk])


def test_owner_sees_counts_per_cohort_and_in_total(
    client, scene, published, django_assert_max_num_queries
):
    client.force_login(scene.owner)

    with django_assert_max_num_queries(14):
        response = client.get(_url(published))

    assert response.status_code == 200
    stats = response.context["stats"]
    rows = {
        r.label: (r.recipients, r.delivered, r.emailed, r.failed, r.read, r.acknowledged)
        for r in stats.rows
    }
    assert rows == {"EU tier-1 agents": (2, 2, 1, 0, 2, 1), "UK tier-1 agents": (1, 1, 0, 1, 0, 0)}
    total = stats.total
    assert (total.recipients, total.read, total.acknowledged) == (3, 2, 1)
    assert total.acknowledged_share == 1 / 3
    html = response.content.decode()
    assert '1 <span class="sub">33.3%</span>' in html
    assert "SMTPRecipientsRefused: 550 No such user" in html
    assert "Retry" in html
    assert [r.recipient for r in response.context["not_acknowledged"]] == [scene.ben, scene.cat]
    assert response.context["not_acknowledged_count"] == 2
    assert "<p>We <strong>shorten</strong> the drafts.</p>" in html


def test_the_number_of_queries_does_not_grow_with_the_audience(
    client, scene, django_assert_max_num_queries
):
    from rollout.services.cohorts import cohort_members_add

    cohort_members_add(
        cohort=scene.uk,
        users=[UserFactory(email=f"a{i}@example.com") for i in range(30)],
        actor=scene.owner,
    )
    notice = make_notice(scene)
    notices_publish_due()
    notice_deliveries_send()
    client.force_login(scene.owner)
    with django_assert_max_num_queries(14):
        assert client.get(_url(notice)).status_code == 200


def test_retry_requeues_a_failed_delivery(
    client, scene, published, django_capture_on_commit_callbacks
):
    client.force_login(scene.owner)
    failed = NoticeDelivery.objects.get(status=DeliveryStatus.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(published),
            {"action": "retry", "delivery": failed.pk},
            headers={"HX-Request": "true"},
        )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="notice-stats">')
    assert "Queued Cat Agent&#x27;s email again." in html
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.SENT  # woken after commit, sent at once


def test_retry_without_htmx_redirects_and_refuses_a_delivery_that_did_not_fail(
    client, scene, published
):
    client.force_login(scene.owner)
    sent = NoticeDelivery.objects.filter(status=DeliveryStatus.SENT).first()
    response = client.post(_url(published), {"action": "retry", "delivery": sent.pk}, follow=True)
    assert response.redirect_chain == [(_url(published), 302)]
    assert MSG_NOT_RETRYABLE in response.content.decode()


def test_executive_reads_but_may_not_retry(client, scene, published):
    client.force_login(executive_user())
    response = client.get(_url(published))
    assert response.status_code == 200
    assert "Retry" not in response.content.decode()
    failed = NoticeDelivery.objects.get(status=DeliveryStatus.FAILED)
    assert (
        client.post(_url(published), {"action": "retry", "delivery": failed.pk}).status_code == 404
    )


def test_a_scheduled_notice_shows_status_and_preview_but_no_counts(client, scene):
    notice = make_notice(scene)
    client.force_login(scene.owner)
    response = client.get(_url(notice))
    assert response.status_code == 200
    assert "stats" not in response.context
    assert '<span class="badge">Scheduled</span>' in response.content.decode()


@pytest.mark.parametrize("who", ["amy", "stranger"])
def test_recipients_and_strangers_get_a_404(client, scene, published, who):
    user = scene.amy if who == "amy" else UserFactory()
    client.force_login(user)
    assert client.get(_url(published)).status_code == 404


def test_a_notice_of_another_workflow_is_a_404(client, scene, published):
    from tests.factories import make_workflow

    other = make_workflow(owner=scene.owner, actor=scene.ops)
    client.force_login(scene.owner)
    url = reverse("notice_detail", args=[other.slug, published.pk])
    assert client.get(url).status_code == 404


def test_no_role_is_sent_to_sign_in(client, published):
    response = client.get(_url(published))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

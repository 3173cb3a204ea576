"""The inbox: my notices (unread first), opening one marks it read, the acknowledge button,
the unread count the navigation polls."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rollout.models import NoticeReceipt
from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
from rollout.views.inbox import MSG_ACKNOWLEDGED
from tests.rollout.notice_fixtures import make_notice, make_scene

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene():
    return make_scene()


def _publish(scene, **fields):
    notice = make_notice(scene, **fields)
    notices_publish_due()
    notice_deliveries_send()
    return notice


def _receipt(notice, user):
    return NoticeReceipt.objects.get(notice=notice, recipient=user)


def test_inbox_lists_unread_first_then_newest(client, scene, django_assert_max_num_queries):
    _publish(scene, title="Old news")
    newer = _publish(scene, title="Newer", urgent=True, requires_ack=True)
    newest = _publish(scene, title="Newest")
    NoticeReceipt.objects.filter(notice=newest, recipient=scene.amy).update(read_at=timezone.now())
    client.force_login(scene.amy)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("inbox"))

    assert response.status_code == 200
    assert [r.notice.title for r in response.context["receipts"]] == ["Newer", "Old news", "Newest"]
    assert response.context["unread"] == 2
    html = response.content.decode()
    assert "Urgent" in html and "Please acknowledge" in html
    assert reverse("inbox_notice", args=[_receipt(newer, scene.amy).pk]) in html


def test_inbox_is_empty_for_someone_without_notices(client, scene):
    _publish(scene, cohorts=[scene.uk])
    client.force_login(scene.amy)
    response = client.get(reverse("inbox"))
    assert response.context["receipts"] == []
    assert "No notices yet." in response.content.decode()


def test_opening_a_notice_marks_it_read_and_shows_the_sanitised_body(client, scene):
    notice = _publish(scene)
    receipt = _receipt(notice, scene.amy)
    client.force_login(scene.amy)

    response = client.get(reverse("inbox_notice", args=[receipt.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<p>We <strong>shorten</strong> the drafts.</p>" in html
    assert (
        "I&#x27;ve read this and I&#x27;m ready" in html or "I've read this and I'm ready" in html
    )
    receipt.refresh_from_db()
    first_read = receipt.read_at
    assert first_read is not None
    client.get(reverse("inbox_notice", args=[receipt.pk]))
    receipt.refresh_from_db()
    assert receipt.read_at == first_read


def test_acknowledging_without_htmx_redirects_back_with_a_message(client, scene):
    notice = _publish(scene, requires_ack=True)
    receipt = _receipt(notice, scene.amy)
    client.force_login(scene.amy)
    url = reverse("inbox_notice", args=[receipt.pk])

    response = client.post(url, follow=True)

    assert response.redirect_chain == [(url, 302)]
    assert MSG_ACKNOWLEDGED in response.content.decode()
    receipt.refresh_from_db()
    assert receipt.acknowledged_at is not None and receipt.read_at is not None
    assert "You confirmed" in response.content.decode()


def test_acknowledging_with_htmx_returns_the_panel(client, scene):
    notice = _publish(scene)
    receipt = _receipt(notice, scene.amy)
    client.force_login(scene.amy)

    response = client.post(
        reverse("inbox_notice", args=[receipt.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="ack-panel"')
    assert MSG_ACKNOWLEDGED in html
    assert "<html" not in html


def test_someone_elses_receipt_is_a_404(client, scene):
    notice = _publish(scene)
    client.force_login(scene.cat)
    url = reverse("inbox_notice", args=[_receipt(notice, scene.amy).pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert _receipt(notice, scene.amy).acknowledged_at is None


def test_a_receipt_whose_delivery_was_skipped_is_not_in_the_inbox(client, scene):
    make_notice(scene)
    notices_publish_due()  # not sent yet: nothing in the inbox
    client.force_login(scene.amy)
    assert client.get(reverse("inbox")).context["receipts"] == []
    receipt = NoticeReceipt.objects.get(recipient=scene.amy)
    assert client.get(reverse("inbox_notice", args=[receipt.pk])).status_code == 404


def test_count_endpoint_returns_the_badge(client, scene):
    _publish(scene)
    _publish(scene, title="Second", publish_in=timedelta(minutes=-2))
    client.force_login(scene.amy)

    response = client.get(reverse("inbox_count"), headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="inbox-count"' in html and 'hx-trigger="every 60s"' in html
    assert '<span class="badge badge-count">2<span class="visually-hidden"> unread</span>' in html


def test_count_endpoint_with_nothing_unread_is_an_empty_badge(client, scene):
    client.force_login(scene.amy)
    html = client.get(reverse("inbox_count")).content.decode()
    assert "badge-count" not in html and 'id="inbox-count"' in html


def test_navigation_links_to_the_inbox_and_polls_the_count(client, scene):
    client.force_login(scene.amy)
    html = client.get(reverse("inbox")).content.decode()
    assert f'href="{reverse("inbox")}"' in html
    assert f'hx-get="{reverse("inbox_count")}" hx-trigger="load, every 60s"' in html


def test_no_role_is_sent_to_sign_in(client):
    response = client.get(reverse("inbox"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

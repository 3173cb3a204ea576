from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rollout.models import Notification
from rollout.services.notifications import notification_send
from rollout.views.home import NOTIFICATIONS_SHOWN
from tests.factories import UserFactory
from tests.rollout.views.conftest import as_user, login_redirect, template_names

HOME = reverse("home")
HTMX = {"HX-Request": "true"}


def read_url(notification: Notification) -> str:
    return reverse("notification_read", kwargs={"notification_id": notification.pk})


@pytest.fixture
def alert(workflow, workflow_owner) -> Notification:
    return notification_send(
        recipient=workflow_owner,
        workflow=workflow,
        title="Support reply drafting paused: override rate breached",
        body="14.2% over 530 cases: should be at most 10%.\nThe limited roll-out is paused.",
        url="/workflows/support-reply-drafting/thresholds/",
    )


def test_home_lists_my_unread_notifications_first(client, workflow_owner, workflow, alert):
    client.force_login(workflow_owner)

    response = client.get(HOME)

    assert response.context["notifications"] == [alert]
    html = response.content.decode()
    assert "1 unread notification</h2>" in html
    assert (
        '<h3><a href="/workflows/support-reply-drafting/thresholds/">Support reply drafting '
        "paused: override rate breached</a></h3>"
    ) in html
    assert "14.2% over 530 cases: should be at most 10%.<br>The limited roll-out is paused." in html
    assert f'<time datetime="{alert.created_at.isoformat()}">' in html
    assert f'action="/notifications/{alert.pk}/read/"' in html
    assert f'hx-post="/notifications/{alert.pk}/read/"' in html
    # Above everything else on the page.
    assert html.index("unread notification") < html.index("Workflows I own")


def test_read_and_other_peoples_notifications_are_not_listed(
    client, workflow_owner, other_user, workflow, alert
):
    Notification.objects.create(recipient=workflow_owner, title="Old", read_at=timezone.now())
    client.force_login(other_user)

    assert client.get(HOME).context["notifications"] == []
    assert "unread notification" not in client.get(HOME).content.decode()

    client.force_login(workflow_owner)
    assert client.get(HOME).context["notifications"] == [alert]


def test_the_newest_are_shown_with_the_total(client, other_user):
    now = timezone.now()
    for n in range(NOTIFICATIONS_SHOWN + 3):
        note = Notification.objects.create(recipient=other_user, title=f"Alert {n}")
        Notification.objects.filter(pk=note.pk).update(created_at=now - timedelta(minutes=n))
    client.force_login(other_user)

    response = client.get(HOME)

    titles = [n.title for n in response.context["notifications"]]
    assert titles == [f"Alert {n}" for n in range(NOTIFICATIONS_SHOWN)]
    html = response.content.decode()
    assert f"{NOTIFICATIONS_SHOWN + 3} unread notifications</h2>" in html
    assert f"Showing the newest {NOTIFICATIONS_SHOWN}." in html


def test_a_link_that_is_not_a_path_is_not_linked(client, other_user):
    Notification.objects.create(recipient=other_user, title="Odd", url="javascript:alert(1)")
    client.force_login(other_user)

    html = client.get(HOME).content.decode()

    assert "<h3>Odd</h3>" in html
    assert "javascript:" not in html


def test_mark_as_read_without_javascript_goes_home(client, workflow_owner, alert):
    client.force_login(workflow_owner)

    response = client.post(read_url(alert))

    assert response.status_code == 302
    assert response["Location"] == HOME
    alert.refresh_from_db()
    assert alert.read_at is not None
    assert client.get(HOME).context["notifications"] == []


def test_mark_as_read_with_htmx_returns_the_fresh_list(client, workflow_owner, workflow, alert):
    other = notification_send(recipient=workflow_owner, workflow=workflow, title="Second alert")
    client.force_login(workflow_owner)

    response = client.post(read_url(alert), headers=HTMX)

    assert response.status_code == 200
    assert template_names(response)[0] == "notifications"
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="notifications">')
    assert "Second alert" in html
    assert "override rate breached" not in html
    assert response.context["notifications"] == [other]

    response = client.post(read_url(other), headers=HTMX)

    assert response.content.decode().strip() == '<div id="notifications">\n  \n</div>'


def test_marking_twice_is_harmless(client, workflow_owner, alert):
    client.force_login(workflow_owner)
    client.post(read_url(alert))
    first = Notification.objects.get(pk=alert.pk).read_at

    response = client.post(read_url(alert))

    assert response.status_code == 302
    assert Notification.objects.get(pk=alert.pk).read_at == first


def test_only_the_recipient_may_mark_it_read(client, other_user, ops_leader, alert):
    for user in (other_user, ops_leader):
        client.force_login(user)
        assert client.post(read_url(alert)).status_code == 404
        assert client.post(read_url(alert), headers=HTMX).status_code == 404
    alert.refresh_from_db()
    assert alert.read_at is None


def test_unknown_notification_is_404(client, other_user):
    client.force_login(other_user)

    assert client.post("/notifications/999999/read/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, alert):
    response = client.post(read_url(alert))

    assert response.status_code == 302
    assert response["Location"] == login_redirect(read_url(alert))
    alert.refresh_from_db()
    assert alert.read_at is None


def test_get_is_not_allowed(client, workflow_owner, alert):
    client.force_login(workflow_owner)

    assert client.get(read_url(alert)).status_code == 405


def test_home_queries_stay_bounded_with_many_notifications(django_assert_max_num_queries, db):
    person = UserFactory()
    Notification.objects.bulk_create(
        Notification(recipient=person, title=f"Alert {n}") for n in range(60)
    )

    person_client = as_user(person)

    # 7, plus one each for escalations waiting on me, my open feedback, my notices and the
    # review queues waiting for me.
    with django_assert_max_num_queries(11):
        response = person_client.get(HOME)
    assert len(response.context["notifications"]) == NOTIFICATIONS_SHOWN

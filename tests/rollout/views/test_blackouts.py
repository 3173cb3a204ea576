from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from rollout.models import BlackoutWindow
from rollout.views import blackouts as views
from tests.rollout.views.conftest import as_user, login_redirect, template_names


def _form(name: str = "Year-end freeze") -> dict[str, str]:
    start = timezone.localtime() + timedelta(days=1)
    return {
        "blackout-name": name,
        "blackout-starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "blackout-ends_at": (start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
    }


def test_anonymous_is_sent_to_login(client):
    url = reverse("blackout_list")
    assert client.get(url)["Location"] == login_redirect(url)


def test_no_role_sees_list_but_cannot_add(other_user):
    client = as_user(other_user)
    response = client.get(reverse("blackout_list"))
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/blackout_list.html"
    assert "Add a window" not in response.content.decode()
    assert client.post(reverse("blackout_list"), _form()).status_code == 403
    assert BlackoutWindow.objects.count() == 0


def test_ops_leader_adds_and_removes(ops_leader):
    client = as_user(ops_leader)
    response = client.post(reverse("blackout_list"), _form(), follow=True)
    assert views.MSG_ADDED.format(name="Year-end freeze") in response.content.decode()
    window = BlackoutWindow.objects.get()
    assert window.workflow is None
    response = client.post(reverse("blackout_delete", args=[window.pk]))
    assert response.status_code == 302
    assert BlackoutWindow.objects.count() == 0


def test_invalid_window_shows_error_beside_field(ops_leader):
    data = _form()
    data["blackout-ends_at"] = data["blackout-starts_at"]
    response = as_user(ops_leader).post(reverse("blackout_list"), data)
    assert response.status_code == 200
    assert "The window must end after it starts." in response.content.decode()
    assert BlackoutWindow.objects.count() == 0


def test_owner_adds_workflow_window(workflow):
    client = as_user(workflow.owner)
    response = client.post(reverse("workflow_blackout_add", args=[workflow.slug]), _form("Launch"))
    assert response.status_code == 302
    window = BlackoutWindow.objects.get()
    assert window.workflow == workflow
    client.post(reverse("workflow_blackout_delete", args=[workflow.slug, window.pk]))
    assert BlackoutWindow.objects.count() == 0


def test_executive_cannot_add_workflow_window(workflow, executive):
    response = as_user(executive).post(
        reverse("workflow_blackout_add", args=[workflow.slug]), _form()
    )
    assert response.status_code == 404
    assert BlackoutWindow.objects.count() == 0

import csv
import io
import json

import pytest

from accounts.services import user_deactivate, user_invite, user_roles_set
from rollout.forms.evidence import MSG_BAD_KIND
from rollout.models import ActivityEntry
from rollout.views.org_activity import MSG_OPS_ONLY
from tests.factories import UserFactory
from tests.rollout.views.conftest import as_user, login_redirect

pytestmark = pytest.mark.django_db


@pytest.fixture
def org_entries(ops_leader, workflow):
    """An invitation, a role change and a deactivation (no workflow), beside workflow entries."""
    invited = user_invite(
        actor=ops_leader,
        email="new@example.com",
        display_name="=cmd|calc",
        base_url="http://testserver",
    )
    user_roles_set(actor=ops_leader, user=invited, roles=["Executives"])
    user_deactivate(actor=ops_leader, user=UserFactory(display_name="Leaving Lee"))
    return ActivityEntry.objects.filter(workflow__isnull=True)


def test_ops_leader_sees_org_wide_entries_only(ops_leader, org_entries):
    response = as_user(ops_leader).get("/activity/")
    assert response.status_code == 200
    verbs = [e.verb for e in response.context["entries"]]
    assert verbs == ["deactivated", "changed roles of", "invited"]
    assert all(e.workflow_id is None for e in response.context["entries"])


@pytest.mark.parametrize("role", ["executive", "workflow_owner", "other_user"])
def test_only_ops_leaders(role, request, org_entries):
    person = request.getfixturevalue(role)
    for path in ("/activity/", "/activity/export.csv", "/activity/export.json"):
        response = as_user(person).get(path)
        assert response.status_code == 403
    assert MSG_OPS_ONLY


def test_anonymous_signs_in(client):
    assert client.get("/activity/")["Location"] == login_redirect("/activity/")


def test_filter_by_kind_and_bad_values(ops_leader, org_entries):
    client = as_user(ops_leader)
    response = client.get("/activity/?kind=invites")
    assert [e.verb for e in response.context["entries"]] == ["invited"]
    response = client.get("/activity/?kind=bogus&start=nope")
    assert response.status_code == 200
    assert MSG_BAD_KIND in response.context["notes"]
    assert len(response.context["entries"]) == 3
    response = client.get("/activity/?start=2000-01-01&end=2000-01-02")
    assert list(response.context["entries"]) == []
    assert "Nothing matches these filters." in response.content.decode()


def test_exports_parse_back_and_are_guarded(ops_leader, org_entries):
    client = as_user(ops_leader)
    response = client.get("/activity/export.csv?kind=invites")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["verb"] == "invited"
    assert rows[0]["actor"] == "Olivia Ops"
    assert not any(value.startswith("=") for value in rows[0].values())
    response = client.get("/activity/export.json")
    entries = json.loads(b"".join(response.streaming_content))["entries"]
    assert [e["verb"] for e in entries] == ["deactivated", "changed roles of", "invited"]
    assert client.get("/activity/export.csv?kind=bogus").status_code == 400


def test_fixed_queries(ops_leader, org_entries, django_assert_max_num_queries):
    for n in range(30):
        UserFactory(email=f"p{n}@example.com")
        user_invite(
            actor=ops_leader, email=f"q{n}@example.com", display_name=f"Q {n}", base_url="http://t"
        )
    client = as_user(ops_leader)
    with django_assert_max_num_queries(6):
        assert client.get("/activity/").status_code == 200


def test_each_kind_finds_the_entries_the_services_write(ops_leader, workflow_owner):
    """The kinds filter on verbs: the ones the services really write (a verb renamed in a service
    would otherwise drop its entries from the filter silently)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.services import user_erase
    from rollout.selectors.org_activity import org_activity_list
    from rollout.services.blackouts import blackout_create, blackout_delete

    start = timezone.now() + timedelta(days=3)
    window = blackout_create(
        actor=ops_leader, name="Year-end freeze", starts_at=start, ends_at=start + timedelta(days=2)
    )
    blackout_delete(window=window, actor=ops_leader)
    user_erase(actor=ops_leader, user=workflow_owner)

    assert [e.verb for e in org_activity_list(kind="blackouts")] == [
        "removed an org-wide blackout window",
        "added an org-wide blackout window",
    ]
    assert [e.verb for e in org_activity_list(kind="deactivations")] == ["erased"]

"""A cohort's holdout page: who is held out (owner and ops leaders only), the recorded move out
of it, and bad input answered without writing anything."""

import pytest
from django.urls import reverse

from rollout.models import ActivityEntry, HoldoutRelease
from rollout.services.holdouts import MSG_NOT_HELD_OUT
from tests.rollout.holdout_fixtures import holdout_cohort
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.views.conftest import as_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(workflow, ops_leader):
    make_plan(workflow, current="limited")
    return holdout_cohort(workflow, ops_leader)


def url(workflow, cohort) -> str:
    return reverse("workflow_cohort_holdout", args=[workflow.slug, cohort.pk])


def test_the_owner_sees_who_is_held_out(workflow, workflow_owner, setup):
    response = as_user(workflow_owner).get(url(workflow, setup.cohort))
    assert response.status_code == 200
    listed = [row["user"] for row in response.context["rows"]]
    assert sorted(u.pk for u in listed) == sorted(u.pk for u in setup.held_out)
    for user in setup.ai:
        assert user.email.encode() not in response.content


def test_the_cohorts_page_counts_the_holdout(workflow, workflow_owner, setup):
    page = as_user(workflow_owner).get(reverse("workflow_cohorts", args=[workflow.slug]))
    cohort = page.context["cohorts"][0]
    assert cohort.held_out == len(setup.held_out)
    assert f"Holdout: {len(setup.held_out)} members".encode() in page.content


def test_moving_someone_out_is_recorded(workflow, workflow_owner, setup):
    person = setup.held_out[0]
    client = as_user(workflow_owner)
    response = client.post(
        url(workflow, setup.cohort),
        {"action": "release", "user": person.pk, "reason": "Leads the pilot team."},
    )
    assert response.status_code == 302
    release = HoldoutRelease.objects.get()
    assert (release.user, release.released_by, release.reason) == (
        person,
        workflow_owner,
        "Leads the pilot team.",
    )
    entry = ActivityEntry.objects.get(verb="moved someone out of the holdout")
    assert entry.changes == {"holdout member": [person.email, "—"]}
    page = client.get(url(workflow, setup.cohort))
    assert person.pk not in [row["user"].pk for row in page.context["rows"]]
    assert page.context["released"] == [release]


def test_a_reason_is_required(workflow, workflow_owner, setup):
    person = setup.held_out[0]
    response = as_user(workflow_owner).post(
        url(workflow, setup.cohort), {"action": "release", "user": person.pk, "reason": "  "}
    )
    assert response.status_code == 200
    row = next(r for r in response.context["rows"] if r["user"] == person)
    assert row["form"].errors["reason"]
    assert not HoldoutRelease.objects.exists()


def test_someone_not_held_out_cannot_be_moved_out(workflow, workflow_owner, setup):
    person = setup.ai[0]
    client = as_user(workflow_owner)
    response = client.post(
        url(workflow, setup.cohort), {"action": "release", "user": person.pk, "reason": "x"}
    )
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [MSG_NOT_HELD_OUT.format(user=person.email, cohort="Tier 1")]
    assert not HoldoutRelease.objects.exists()
    for bad in ("", "abc", "999999"):
        response = client.post(
            url(workflow, setup.cohort), {"action": "release", "user": bad, "reason": "x"}
        )
        assert response.status_code == 404


def test_cohort_members_and_executives_do_not_see_it(workflow, executive, setup):
    assert as_user(executive).get(url(workflow, setup.cohort)).status_code == 404
    assert as_user(setup.held_out[0]).get(url(workflow, setup.cohort)).status_code == 404

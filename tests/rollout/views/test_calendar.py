from datetime import UTC, date, datetime

import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from rollout.models import BlackoutWindow, CalendarFeed, Workflow
from rollout.services.calendar_feed import calendar_feed_create, feed_token_hash
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.views import calendar as views
from tests.factories import UserFactory, make_workflow
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.views.conftest import as_user, login_redirect, template_names

URL = "/calendar/"


@pytest.fixture
def march(workflow: Workflow, ops_leader: User) -> Workflow:
    phases = make_plan(workflow, current="shadow")
    phases["limited"].planned_start = date(2027, 3, 15)
    phases["limited"].save()
    Workflow.objects.filter(pk=workflow.pk).update(next_review_due=date(2027, 3, 20))
    BlackoutWindow.objects.create(
        name="Quarter close",
        starts_at=datetime(2027, 3, 29, tzinfo=UTC),
        ends_at=datetime(2027, 3, 31, tzinfo=UTC),
        created_by=ops_leader,
    )
    return workflow


def test_anonymous_is_sent_to_sign_in(client: Client):
    assert client.get(URL)["Location"] == login_redirect(URL)


@pytest.mark.parametrize("role", ["ops_leader", "executive", "workflow_owner"])
def test_those_who_see_the_workflow_see_its_month(march, role, request):
    response = as_user(request.getfixturevalue(role)).get(URL, {"month": "2027-03"})

    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/calendar.html"
    body = response.content.decode()
    assert '<h2 class="calendar-month" id="month-heading">March 2027</h2>' in body
    assert "Support reply drafting: Limited roll-out starts (planned)" in body
    assert "Support reply drafting: review due" in body
    assert "blackout “Quarter close”" in body
    assert 'href="?month=2027-02"' in body and 'href="?month=2027-04"' in body
    assert "Agenda for March 2027" in body


def test_a_cohort_member_sees_phases_but_not_reviews(march, workflow_owner):
    member = UserFactory()
    cohort = cohort_create(workflow=march, actor=workflow_owner, name="EU", description="")
    cohort_members_add(cohort=cohort, users=[member], actor=workflow_owner)

    body = as_user(member).get(URL, {"month": "2027-03"}).content.decode()

    assert "Limited roll-out starts (planned)" in body
    assert "review due" not in body


def test_an_unrelated_user_sees_no_workflow_of_others(march, other_user):
    body = as_user(other_user).get(URL, {"month": "2027-03"}).content.decode()
    assert "Support reply drafting" not in body
    assert "blackout “Quarter close”" in body  # org-wide: it applies to everyone


def test_an_empty_month_says_so(other_user):
    body = as_user(other_user).get(URL, {"month": "2030-01"}).content.decode()
    assert "Nothing planned in January 2030 for the workflows you can see." in body


@pytest.mark.parametrize("value", ["2027-13", "March", "27-03", "2027-3", "0001-01"])
def test_an_invalid_month_shows_this_month_with_a_clear_message(value, other_user):
    response = as_user(other_user).get(URL, {"month": value})

    assert response.status_code == 200
    this_month = timezone.localdate().replace(day=1)
    message = views.MSG_BAD_MONTH.format(
        value=value, example=this_month.strftime("%Y-%m"), shown=this_month.strftime("%B %Y")
    )
    assert response.context["month"] == this_month
    assert response.context["month_error"] == message
    assert "is not a month: use the form YYYY-MM" in response.content.decode()


def test_the_page_uses_a_bounded_number_of_queries(
    march, ops_leader, django_assert_max_num_queries
):
    for _ in range(4):
        make_plan(make_workflow(actor=ops_leader))
    client = as_user(ops_leader)
    # Session, user, roles, workflows, one per kind of event, the feed: not one per workflow.
    with django_assert_max_num_queries(11):
        assert client.get(URL, {"month": "2027-03"}).status_code == 200


def test_creating_a_feed_shows_its_address_once(workflow_owner):
    client = as_user(workflow_owner)

    response = client.post("/calendar/feed/", {"action": "create"})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    feed_url = response.context["feed_url"]
    token = feed_url.removeprefix("http://testserver/calendar/feed/").removesuffix(".ics")
    assert CalendarFeed.objects.get(user=workflow_owner).token_hash == feed_token_hash(token)
    assert f'value="{feed_url}"' in response.content.decode()
    # Shown once: the next visit shows the feed exists, not its address.
    body = client.get(URL).content.decode()
    assert token not in body
    assert "Your feed is active since" in body


def test_htmx_creation_and_revocation_swap_the_feed_panel(workflow_owner):
    client = as_user(workflow_owner)
    response = client.post("/calendar/feed/", {"action": "create"}, headers={"HX-Request": "true"})
    assert template_names(response) == ["feed-panel"]
    assert "Copy this address now" in response.content.decode()

    response = client.post("/calendar/feed/", {"action": "revoke"}, headers={"HX-Request": "true"})
    assert template_names(response) == ["feed-panel"]
    assert "Create a feed address" in response.content.decode()
    assert not CalendarFeed.objects.exists()


def test_revoking_without_htmx_redirects_with_a_message(workflow_owner):
    calendar_feed_create(user=workflow_owner)
    client = as_user(workflow_owner)
    response = client.post("/calendar/feed/", {"action": "revoke"}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert views.MSG_FEED_REVOKED in response.content.decode()
    response = client.post("/calendar/feed/", {"action": "revoke"}, follow=True)
    assert views.MSG_NO_FEED in response.content.decode()


def test_an_unknown_action_is_a_404(workflow_owner):
    assert as_user(workflow_owner).post("/calendar/feed/", {"action": "x"}).status_code == 404


def test_the_feed_needs_no_sign_in_and_parses(march, workflow_owner, client, settings):
    settings.SITE_URL = "https://rollout.example.com"
    _, token = calendar_feed_create(user=workflow_owner)
    feed_url = f"/calendar/feed/{token}.ics"
    make_plan_for_now = march.phases.get(kind="broad")
    make_plan_for_now.planned_start = timezone.localdate()
    make_plan_for_now.save()

    response = client.get(feed_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    parsed = icalendar.Calendar.from_ical(response.content)
    summaries = {str(e["SUMMARY"]) for e in parsed.walk("VEVENT")}
    assert "Support reply drafting: Broad roll-out starts (planned)" in summaries
    assert CalendarFeed.objects.get().last_used_at is not None


def test_a_revoked_or_unknown_feed_is_a_404(workflow_owner, client):
    _, token = calendar_feed_create(user=workflow_owner)
    CalendarFeed.objects.all().delete()
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404
    assert client.get("/calendar/feed/nope.ics").status_code == 404

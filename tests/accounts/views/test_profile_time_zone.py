"""The profile's time-zone section: everyone picks their own zone, or follows the organisation's."""

import pytest
from django.urls import reverse

from accounts.models import Organisation, User
from accounts.views.profile import ACTION_TIME_ZONE, MSG_TIME_ZONE_SAVED
from core.time_zones import MSG_UNKNOWN_ZONE
from tests.accounts.conftest import contains, messages_of

PROFILE = reverse("profile")
ROLES = ["ops_leader", "executive", "workflow_owner", "other_user"]


def _choose(client, zone: str):
    return client.post(PROFILE, {"action": ACTION_TIME_ZONE, "tz-time_zone": zone}, follow=True)


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.post(PROFILE, {"action": ACTION_TIME_ZONE, "tz-time_zone": "Asia/Tokyo"})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={PROFILE}"


@pytest.mark.parametrize("fixture", ROLES)
def test_everyone_picks_their_own_zone(request, as_user, fixture):
    user: User = request.getfixturevalue(fixture)
    Organisation.objects.create(pk=1, default_time_zone="America/New_York")
    client = as_user(user)

    page = client.get(PROFILE)
    assert contains(page, "The organisation's default (America/New York)")
    assert '<option value="Europe/Paris">Europe/Paris</option>' in page.content.decode()

    response = _choose(client, "Europe/Paris")

    user.refresh_from_db()
    assert user.time_zone == "Europe/Paris"
    assert messages_of(response) == [MSG_TIME_ZONE_SAVED.format(zone="Europe/Paris")]
    assert '<option value="Europe/Paris" selected>' in response.content.decode()


def test_the_organisations_default_can_be_chosen_again(as_user, workflow_owner):
    Organisation.objects.create(pk=1, default_time_zone="America/New_York")
    workflow_owner.time_zone = "Asia/Tokyo"
    workflow_owner.save(update_fields=["time_zone"])

    response = _choose(as_user(workflow_owner), "")

    workflow_owner.refresh_from_db()
    assert workflow_owner.time_zone == ""
    assert messages_of(response) == [MSG_TIME_ZONE_SAVED.format(zone="America/New_York")]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "europe/paris", "Factory"])
def test_an_unknown_zone_is_refused_and_changes_nothing(as_user, other_user, zone):
    other_user.time_zone = "Asia/Tokyo"
    other_user.save(update_fields=["time_zone"])

    response = _choose(as_user(other_user), zone)

    assert response.status_code == 200
    assert response.context["zone_form"].errors == {
        "time_zone": [MSG_UNKNOWN_ZONE.format(zone=zone)]
    }
    assert messages_of(response) == []
    other_user.refresh_from_db()
    assert other_user.time_zone == "Asia/Tokyo"


def test_the_zone_section_leaves_the_other_settings_alone(as_user, other_user):
    """Its own form: saving a zone does not touch the name or the email choices, and the other
    forms' saves do not touch the zone."""
    client = as_user(other_user)
    _choose(client, "Asia/Tokyo")
    client.post(PROFILE, {"display_name": "Sam Renamed"})
    client.post(PROFILE, {"action": "email", "feedback": "on"})

    other_user.refresh_from_db()
    assert (other_user.time_zone, other_user.display_name) == ("Asia/Tokyo", "Sam Renamed")
    assert (other_user.email_notices, other_user.email_feedback) == (False, True)

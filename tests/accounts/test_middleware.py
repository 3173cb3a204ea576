"""Every page reads in its reader's zone: theirs, else the organisation's default."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import ReaderTimeZoneMiddleware
from accounts.models import Organisation
from accounts.selectors import user_get_signed_in, user_time_zone
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JOINED = datetime(2026, 12, 13, 14, 17, tzinfo=UTC)


def _zone_seen_by_the_view(user) -> str:
    seen = []

    def view(request):
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    request = RequestFactory().get("/")
    request.user = user
    ReaderTimeZoneMiddleware(view)(request)
    return seen[0]


def test_a_person_who_chose_a_zone_reads_in_it():
    Organisation.objects.create(pk=1, default_time_zone="America/New_York")
    user = UserFactory(time_zone="Asia/Tokyo")
    assert _zone_seen_by_the_view(user) == "Asia/Tokyo"


def test_a_person_who_did_not_reads_in_the_organisations_default():
    Organisation.objects.create(pk=1, default_time_zone="America/New_York")
    user = user_get_signed_in(UserFactory().pk)  # as the backend reads them
    assert _zone_seen_by_the_view(user) == "America/New_York"


def test_without_a_saved_organisation_the_default_is_the_deployments_zone(settings):
    settings.TIME_ZONE = "Europe/Lisbon"
    user = user_get_signed_in(UserFactory().pk)
    assert user.organisation_time_zone is None
    assert user_time_zone(user).key == "Europe/Lisbon"


def test_the_zone_does_not_outlive_the_request():
    before = timezone.get_current_timezone_name()
    _zone_seen_by_the_view(UserFactory(time_zone="Asia/Tokyo"))
    assert timezone.get_current_timezone_name() == before


def test_a_signed_out_request_stays_in_the_deployments_zone(settings, django_assert_num_queries):
    Organisation.objects.create(pk=1, default_time_zone="Asia/Tokyo")
    with django_assert_num_queries(0):
        assert _zone_seen_by_the_view(AnonymousUser()) == settings.TIME_ZONE


def test_the_zone_costs_no_query_of_its_own(client):
    """The backend reads the organisation's default zone with the person, in one query."""
    Organisation.objects.create(pk=1, default_time_zone="Asia/Tokyo")
    client.force_login(UserFactory())
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("home"))
    reads = [q["sql"] for q in captured.captured_queries if "accounts_organisation" in q["sql"]]
    assert len(reads) == 1
    assert 'FROM "accounts_user"' in reads[0]


def test_a_page_shows_times_in_the_readers_zone(client):
    Organisation.objects.create(pk=1, default_time_zone="America/New_York")
    ops = UserFactory(roles=["Ops leaders"], time_zone="Europe/Paris")
    someone = UserFactory(display_name="Nina Newcomer", last_login=JOINED)
    someone.last_login = JOINED
    someone.save(update_fields=["last_login"])
    client.force_login(ops)
    page = client.get(reverse("people_list")).content.decode()
    ops.time_zone = ""
    ops.save(update_fields=["time_zone"])
    assert "13 Dec 2026, 15:17 CET" in page
    page = client.get(reverse("people_list")).content.decode()
    assert "13 Dec 2026, 09:17 EST" in page

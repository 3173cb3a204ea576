"""The organisation's settings page: ops leaders only; bad input changes nothing."""

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.models import Organisation, OrganisationChange
from accounts.views.organisation import MSG_SAVED, MSG_UNCHANGED
from core.currencies import MSG_UNKNOWN_CURRENCY
from core.time_zones import MSG_UNKNOWN_ZONE, format_instant
from tests.accounts.conftest import contains, messages_of, template_names

SETTINGS = reverse("organisation_settings")
VALID = {
    "name": "Acme Support",
    "default_time_zone": "Europe/Paris",
    "currency": "gbp",
    "default_lead_time_days": "7",
    "usage_events_retention_months": "13",
    "feedback_text_retention_months": "",
    "notice_receipts_retention_months": "",
}
NAV_LINK = f'<a href="{SETTINGS}"'


def test_anonymous_is_sent_to_sign_in(client, db):
    for response in (client.get(SETTINGS), client.post(SETTINGS, VALID)):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={SETTINGS}"
    assert not Organisation.objects.exists()


@pytest.mark.parametrize("fixture", ["executive", "workflow_owner", "other_user"])
def test_other_roles_are_refused(request, as_user, fixture, workflow):
    client = as_user(request.getfixturevalue(fixture))

    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, VALID).status_code == 403
    assert not Organisation.objects.exists()
    assert NAV_LINK not in client.get(reverse("home")).content.decode()


def test_an_ops_leader_sees_the_settings_from_the_navigation(
    as_user, ops_leader, django_assert_max_num_queries
):
    client = as_user(ops_leader)
    assert NAV_LINK in client.get(reverse("home")).content.decode()

    with django_assert_max_num_queries(6):
        response = client.get(SETTINGS)

    assert response.status_code == 200
    assert template_names(response)[0] == "accounts/organisation_settings.html"
    form = response.context["form"]
    assert form.initial == {
        "name": "Rollout",
        "default_time_zone": "UTC",
        "currency": "EUR",
        "default_lead_time_days": 5,
        "usage_events_retention_months": 13,
        "feedback_text_retention_months": None,
        "notice_receipts_retention_months": None,
    }
    assert contains(response, "No changes yet")
    assert f'{NAV_LINK} aria-current="page">' in response.content.decode()


def test_saving_changes_the_settings_and_shows_the_log(as_user, ops_leader):
    client = as_user(ops_leader)

    response = client.post(SETTINGS, VALID, follow=True)

    assert response.redirect_chain == [(SETTINGS, 302)]
    assert messages_of(response) == [MSG_SAVED]
    organisation = Organisation.objects.get()
    assert (organisation.currency, organisation.default_lead_time_days) == ("GBP", 7)
    page = response.content.decode()
    assert "Currency: EUR → GBP" in page
    assert "Default time zone: UTC → Europe/Paris" in page
    assert "Default notice lead time (days): 5 → 7" in page
    assert contains(response, ops_leader.display_name)
    # The log's times read in the ops leader's zone, now the organisation's default.
    change = OrganisationChange.objects.get()
    assert format_instant(change.at, ZoneInfo("Europe/Paris")) in page

    response = client.post(SETTINGS, VALID, follow=True)
    assert messages_of(response) == [MSG_UNCHANGED]
    assert OrganisationChange.objects.count() == 1


def test_saving_the_defaults_on_a_new_installation_says_nothing_changed(as_user, ops_leader):
    defaults = {
        "name": "Rollout",
        "default_time_zone": "UTC",
        "currency": "EUR",
        "default_lead_time_days": "5",
        "usage_events_retention_months": "13",
    }

    response = as_user(ops_leader).post(SETTINGS, defaults, follow=True)

    assert messages_of(response) == [MSG_UNCHANGED]
    assert not OrganisationChange.objects.exists()


def test_many_changes_keep_the_page_to_a_fixed_number_of_queries(
    as_user, ops_leader, django_assert_max_num_queries
):
    client = as_user(ops_leader)
    for days in range(1, 30):
        client.post(SETTINGS, {**VALID, "default_lead_time_days": str(days)})
    assert OrganisationChange.objects.count() == 29

    with django_assert_max_num_queries(6):
        client.get(SETTINGS)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "default_time_zone",
            "Mars/Olympus_Mons",
            MSG_UNKNOWN_ZONE.format(zone="Mars/Olympus_Mons"),
        ),
        ("currency", "EURO", MSG_UNKNOWN_CURRENCY.format(code="EURO")),
        ("currency", "xyz", MSG_UNKNOWN_CURRENCY.format(code="XYZ")),
        ("currency", "", "This field is required."),
        ("default_lead_time_days", "-1", "Ensure this value is greater than or equal to 0."),
        ("default_lead_time_days", "91", "Ensure this value is less than or equal to 90."),
        ("default_lead_time_days", "five", "Enter a whole number."),
        ("name", "", "This field is required."),
        ("usage_events_retention_months", "", "This field is required."),
        ("usage_events_retention_months", "0", "Ensure this value is greater than or equal to 1."),
        (
            "feedback_text_retention_months",
            "121",
            "Ensure this value is less than or equal to 120.",
        ),
        ("notice_receipts_retention_months", "a year", "Enter a whole number."),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    as_user, ops_leader, field, value, message
):
    client = as_user(ops_leader)
    client.post(SETTINGS, VALID)

    response = client.post(SETTINGS, {**VALID, "name": "Renamed", field: value})

    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assert contains(response, message)
    assert Organisation.objects.get().name == "Acme Support"
    assert OrganisationChange.objects.count() == 1


def test_retention_is_set_and_logged_and_emptied_back_to_kept(as_user, ops_leader):
    client = as_user(ops_leader)
    changed = {
        **VALID,
        "usage_events_retention_months": "6",
        "feedback_text_retention_months": "24",
    }

    page = client.post(SETTINGS, changed, follow=True).content.decode()

    organisation = Organisation.objects.get()
    assert organisation.usage_events_retention_months == 6
    assert organisation.feedback_text_retention_months == 24
    assert organisation.notice_receipts_retention_months is None
    assert "Keep raw usage events (months): 13 → 6" in page
    assert "Keep feedback text (months): kept for ever → 24" in page

    client.post(SETTINGS, {**changed, "feedback_text_retention_months": ""})
    assert Organisation.objects.get().feedback_text_retention_months is None

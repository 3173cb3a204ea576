import pytest

from accounts.models import Organisation, OrganisationChange
from accounts.selectors import organisation_get
from accounts.services import MSG_ORGANISATION_OPS_ONLY, organisation_update
from core.currencies import MSG_UNKNOWN_CURRENCY
from core.errors import ApplicationError
from core.time_zones import MSG_UNKNOWN_ZONE

VALID = {
    "name": "Acme Support",
    "default_time_zone": "Europe/Paris",
    "currency": "eur",
    "default_lead_time_days": 7,
}


def test_a_new_installation_reads_the_defaults_without_writing(db, settings):
    settings.TIME_ZONE = "Europe/Lisbon"
    organisation = organisation_get()
    assert (organisation.name, organisation.default_time_zone, organisation.currency) == (
        "Rollout",
        "Europe/Lisbon",
        "EUR",
    )
    assert organisation.default_lead_time_days == 5
    assert not Organisation.objects.exists()


def test_an_ops_leader_changes_the_settings_and_each_change_is_logged(ops_leader):
    organisation_update(actor=ops_leader, **VALID)

    organisation = Organisation.objects.get()
    assert (organisation.name, organisation.default_time_zone, organisation.currency) == (
        "Acme Support",
        "Europe/Paris",
        "EUR",
    )
    assert organisation.default_lead_time_days == 7
    [change] = OrganisationChange.objects.all()
    assert change.actor == ops_leader
    assert change.changes == {
        "name": ["Rollout", "Acme Support"],
        "default time zone": ["UTC", "Europe/Paris"],
        "default notice lead time (days)": [5, 7],
    }

    organisation_update(actor=ops_leader, **{**VALID, "currency": "USD"})
    assert OrganisationChange.objects.first().changes == {"currency": ["EUR", "USD"]}


def test_saving_the_same_settings_logs_nothing(ops_leader):
    organisation_update(actor=ops_leader, **VALID)
    organisation_update(actor=ops_leader, **VALID)
    assert OrganisationChange.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "default_time_zone",
            "Mars/Olympus_Mons",
            MSG_UNKNOWN_ZONE.format(zone="Mars/Olympus_Mons"),
        ),
        ("currency", "EURO", MSG_UNKNOWN_CURRENCY.format(code="EURO")),
        ("default_lead_time_days", 91, "Ensure this value is less than or equal to 90."),
        ("default_lead_time_days", -1, "Ensure this value is greater than or equal to 0."),
        ("name", "Two\nlines", "Use one line: line breaks and control characters are not allowed."),
    ],
)
def test_bad_values_change_nothing(ops_leader, field, value, message):
    organisation_update(actor=ops_leader, **VALID)

    with pytest.raises(ApplicationError) as exc:
        organisation_update(actor=ops_leader, **{**VALID, "name": "Renamed", field: value})

    assert (exc.value.field, exc.value.message) == (field, message)
    assert Organisation.objects.get().name == "Acme Support"
    assert OrganisationChange.objects.count() == 1


@pytest.mark.parametrize("fixture", ["executive", "workflow_owner", "other_user"])
def test_only_ops_leaders_change_them(request, fixture):
    with pytest.raises(ApplicationError) as exc:
        organisation_update(actor=request.getfixturevalue(fixture), **VALID)

    assert exc.value.message == MSG_ORGANISATION_OPS_ONLY
    assert not Organisation.objects.exists()
    assert not OrganisationChange.objects.exists()


def test_a_new_workflow_starts_with_the_organisations_lead_time(ops_leader, workflow_owner):
    from tests.factories import make_workflow

    assert make_workflow(owner=workflow_owner, actor=ops_leader).lead_time_days == 5
    organisation_update(actor=ops_leader, **{**VALID, "default_lead_time_days": 12})
    assert make_workflow(owner=workflow_owner, actor=ops_leader).lead_time_days == 12

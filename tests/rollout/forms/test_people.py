"""The people picker's fields and widget (rollout.forms.people): what typed text and chips
resolve to, and the errors for input that names nobody or several people."""

import pytest
from django import forms
from django.http import QueryDict

from rollout.forms import people
from rollout.forms.people import PeopleField, PersonField
from tests.factories import UserFactory


class OneForm(forms.Form):
    person = PersonField(label="Person", search_url="/people/search/?purpose=owner")


class SeveralForm(forms.Form):
    people = PeopleField(label="People", search_url="/people/search/?purpose=owner")


def data(**values: str | list[str]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in values.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return query


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.com", display_name="Alice Archer")


@pytest.fixture
def bob(db):
    return UserFactory(email="bob@example.com", display_name="Bob Baker")


def test_an_email_address_names_its_person(alice):
    form = OneForm(data(person_text="  Alice@Example.com "))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["person"] == alice


def test_a_chip_names_its_person_by_id(alice):
    form = OneForm(data(person=str(alice.pk), person_text=""))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["person"] == alice


def test_typed_text_replaces_the_chip_of_a_single_picker(alice, bob):
    form = OneForm(data(person=str(alice.pk), person_text="bob@example.com"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["person"] == bob


def test_an_exact_name_names_its_person(alice):
    form = OneForm(data(person_text="alice archer"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["person"] == alice


def test_an_unknown_email_is_an_error(alice):
    form = OneForm(data(person_text="nobody@example.com"))
    assert not form.is_valid()
    assert form.errors == {"person": [people.MSG_UNKNOWN_EMAIL.format(email="nobody@example.com")]}


def test_a_partial_name_is_an_error_not_a_guess(alice):
    form = OneForm(data(person_text="Ali"))
    assert not form.is_valid()
    assert form.errors == {"person": [people.MSG_UNKNOWN_NAME.format(name="Ali")]}


def test_a_name_two_people_share_is_ambiguous(db):
    UserFactory(email="sam1@example.com", display_name="Sam Smith")
    UserFactory(email="sam2@example.com", display_name="Sam Smith")
    form = OneForm(data(person_text="Sam Smith"))
    assert not form.is_valid()
    assert form.errors == {"person": [people.MSG_AMBIGUOUS_NAME.format(count=2, name="Sam Smith")]}


def test_a_deactivated_namesake_does_not_make_a_name_ambiguous(alice):
    UserFactory(email="alice2@example.com", display_name="Alice Archer", is_active=False)
    form = OneForm(data(person_text="Alice Archer"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["person"] == alice


def test_an_inactive_person_is_resolved_for_the_service_to_refuse(db):
    gone = UserFactory(email="gone@example.com", display_name="Gina Gone", is_active=False)
    form = OneForm(data(person_text="gone@example.com"))
    # The field names them; the service says "deactivated" in its own words (view tests).
    assert form.is_valid(), form.errors
    assert form.cleaned_data["person"] == gone


def test_empty_input_is_the_required_error(db):
    form = OneForm(data(person_text="  "))
    assert not form.is_valid()
    assert form.errors == {"person": ["This field is required."]}


def test_two_people_for_a_single_picker_is_an_error(alice, bob):
    form = OneForm(data(person_text="alice@example.com, bob@example.com"))
    assert not form.is_valid()
    assert form.errors == {"person": [people.MSG_ONE_ONLY]}


def test_an_id_of_nobody_is_an_error(db):
    form = OneForm(data(person="999999", person_text=""))
    assert not form.is_valid()
    assert form.errors == {"person": [people.MSG_UNKNOWN_ID]}


def test_several_people_from_chips_and_comma_separated_text(alice, bob):
    carol = UserFactory(email="carol@example.com", display_name="Carol Cole")
    form = SeveralForm(
        data(people=[str(alice.pk)], people_text="bob@example.com; carol@example.com, Alice Archer")
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["people"] == [alice, bob, carol]  # Alice once


def test_every_unknown_address_is_listed_and_nothing_is_chosen(alice):
    form = SeveralForm(data(people_text="alice@example.com, x@example.com, Nobody"))
    assert not form.is_valid()
    assert form.errors == {
        "people": [
            people.MSG_UNKNOWN_EMAIL.format(email="x@example.com"),
            people.MSG_UNKNOWN_NAME.format(name="Nobody"),
        ]
    }


def test_too_many_people_at_once(db):
    text = ", ".join(f"p{i}@example.com" for i in range(people.MAX_PEOPLE + 1))
    form = SeveralForm(data(people_text=text))
    assert not form.is_valid()
    assert form.errors == {"people": [people.MSG_TOO_MANY]}


def test_the_widget_renders_a_text_input_for_no_javascript_and_chips_for_the_chosen(alice):
    form = SeveralForm(data(people=[str(alice.pk)], people_text="x@example.com"))
    form.is_valid()
    html = str(form["people"])
    assert '<input type="text" name="people_text" value="x@example.com"' in html
    assert 'id="id_people"' in html
    assert 'hx-get="/people/search/?purpose=owner"' in html
    assert 'hx-trigger="input changed delay:200ms"' in html
    assert 'hx-target="#id_people_listbox"' in html
    assert '<ul class="picker-listbox" id="id_people_listbox" role="listbox"' in html
    assert f'<input type="hidden" name="people" value="{alice.pk}">' in html
    assert '<span class="chip-name">Alice Archer</span>' in html
    assert " required" not in html  # a chosen person leaves the text input empty


def test_an_initial_person_is_shown_chosen(alice):
    form = OneForm(initial={"person": alice.pk})
    html = str(form["person"])
    assert f'<input type="hidden" name="person" value="{alice.pk}">' in html
    assert 'name="person_text" value=""' in html


def test_has_changed_compares_people_not_strings(alice, bob):
    field = OneForm.base_fields["person"]
    same = people.PickerValue(ids=[str(alice.pk)], text="")
    other = people.PickerValue(ids=[], text="bob@example.com")
    assert not field.has_changed(alice.pk, same)
    assert field.has_changed(alice.pk, other)

"""The people picker: a search-as-you-type field for choosing one person or several.

With JavaScript (static/js/people_picker.js) it is an ARIA combobox: typing asks
rollout.views.people.people_search for matches (htmx), a match is chosen with the arrow keys and
Enter or a click, and each chosen person is a chip holding a hidden input `<name>` = their id.
Without JavaScript it is a text input, `<name>_text`, for an email address (several, separated by
commas, where the field takes several) or a person's exact name; the server resolves it, and
anything unknown or ambiguous is a form error, so nothing changes.

The field accepts any account it can name, active or not: the service refuses an unsuitable
person (deactivated, already the owner) with its own message, not "not a valid choice".
"""

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from accounts.models import User
from rollout.selectors.people import people_named

TEXT_SUFFIX = "_text"
MAX_PEOPLE = 100  # at once; a longer list is a CSV upload

MSG_UNKNOWN_EMAIL = "Nobody has the email address {email}."
MSG_UNKNOWN_NAME = "Nobody is called “{name}”: type their full name or their email address."
MSG_AMBIGUOUS_NAME = (
    "{count} people are called “{name}”: type the email address of the one you mean."
)
MSG_UNKNOWN_ID = "Someone you picked no longer has an account. Pick again."
MSG_ONE_ONLY = "Choose one person."
MSG_TOO_MANY = f"At most {MAX_PEOPLE} people at once: add more from a CSV file."

_SEPARATORS = re.compile(r"[,;\n]+")


class PickerValue(NamedTuple):
    """What a picker posted: the chosen people's ids and the typed text."""

    ids: list[str]
    text: str


def search_url(purpose: str, **params: object) -> str:
    """The people_search address for a picker serving `purpose`, with its page's ids."""
    return f"{reverse('people_search')}?{urlencode({'purpose': purpose, **params})}"


class PeoplePickerWidget(forms.Widget):
    template_name = "_shared/people_picker.html"

    def __init__(self, *, multiple: bool = False, search_url: str = "", attrs: Any = None):
        super().__init__(attrs)
        self.multiple = multiple
        self.search_url = search_url

    def value_from_datadict(self, data: Any, files: Any, name: str) -> PickerValue:
        getlist = getattr(data, "getlist", None)
        raw = getlist(name) if getlist else data.get(name)
        ids = [raw] if isinstance(raw, str | int) else list(raw or [])
        return PickerValue(
            ids=[str(i) for i in ids if str(i).strip()], text=data.get(name + TEXT_SUFFIX, "")
        )

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and name + TEXT_SUFFIX not in data

    def use_required_attribute(self, initial: Any) -> bool:
        # The text input is empty once someone is chosen: the browser must not refuse the form.
        return False

    def _parts(self, value: Any) -> tuple[list[User], str]:
        """The chosen people to show as chips, and the text to leave in the input."""
        if isinstance(value, PickerValue):
            ids, text = value.ids, value.text
        elif value is None or value == "":
            ids, text = [], ""
        elif isinstance(value, User | int | str):
            ids, text = [value], ""
        else:
            ids, text = list(value), ""
        pks = [i.pk if isinstance(i, User) else i for i in ids]
        pks = [int(i) for i in pks if str(i).isdigit()]
        if not pks:
            return [], text
        by_pk = {u.pk: u for u in people_named(emails=[], names=[], ids=pks)}
        return [by_pk[pk] for pk in dict.fromkeys(pks) if pk in by_pk], text

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        chosen, text = self._parts(value)
        widget = context["widget"]
        widget.update(
            chosen=chosen,
            text=text,
            text_name=name + TEXT_SUFFIX,
            multiple=self.multiple,
            search_url=self.search_url,
        )
        return context

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        # The project's template engine, not the form renderer's (which sees only app templates).
        return render_to_string(self.template_name, self.get_context(name, value, attrs))


def _tokens(text: str) -> list[str]:
    return [t.strip() for t in _SEPARATORS.split(text or "") if t.strip()]


def resolve_people(value: PickerValue) -> list[User]:
    """The people a picker's input names, in the order given. ValidationError listing every
    token that names nobody, or several people."""
    tokens = _tokens(value.text)
    emails = [t for t in tokens if "@" in t]
    names = [t for t in tokens if "@" not in t]
    ids = [int(i) for i in value.ids if i.isdigit()]
    if len(tokens) + len(value.ids) > MAX_PEOPLE:
        raise ValidationError(MSG_TOO_MANY, code="too_many")
    errors: list[str] = []
    if len(ids) != len(value.ids):
        errors.append(MSG_UNKNOWN_ID)
    found = people_named(emails=emails, names=names, ids=ids) if tokens or ids else []
    by_pk = {u.pk: u for u in found}
    people: list[User] = []
    for pk in ids:
        if pk in by_pk:
            people.append(by_pk[pk])
        elif MSG_UNKNOWN_ID not in errors:
            errors.append(MSG_UNKNOWN_ID)
    for token in tokens:
        if "@" in token:
            match = [u for u in found if u.email == token.lower()]
            if not match:
                errors.append(MSG_UNKNOWN_EMAIL.format(email=token))
        else:
            match = [
                u for u in found if u.is_active and u.display_name.casefold() == token.casefold()
            ]
            if not match:
                errors.append(MSG_UNKNOWN_NAME.format(name=token))
            elif len(match) > 1:
                errors.append(MSG_AMBIGUOUS_NAME.format(count=len(match), name=token))
        if len(match) == 1:
            people.append(match[0])
    if errors:
        raise ValidationError([ValidationError(e, code="unknown") for e in errors])
    return list({u.pk: u for u in people}.values())


def _pks(people: Iterable[User | int | str] | User | int | str | None) -> set[int]:
    if people is None or people == "":
        return set()
    if isinstance(people, User | int | str):
        people = [people]
    return {
        int(p.pk if isinstance(p, User) else p)
        for p in people
        if str(getattr(p, "pk", p)).isdigit()
    }


class _PickerField(forms.Field):
    multiple = False

    def __init__(self, *, search_url: str = "", **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", PeoplePickerWidget(multiple=self.multiple, search_url=search_url)
        )
        super().__init__(**kwargs)

    @property
    def search_url(self) -> str:
        return self.widget.search_url

    @search_url.setter
    def search_url(self, url: str) -> None:
        self.widget.search_url = url

    def people(self, value: Any) -> list[User]:
        if not isinstance(value, PickerValue):
            value = PickerValue(ids=[str(p) for p in _pks(value)], text="")
        return resolve_people(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            chosen = self.people(data)
        except ValidationError:
            return True
        return {u.pk for u in chosen} != _pks(initial)


class PersonField(_PickerField):
    """One person (a User, or None when not required). Typed text wins over a chip: without
    JavaScript, typing an address is how the chosen person is replaced."""

    def clean(self, value: Any) -> User | None:
        if isinstance(value, PickerValue) and _tokens(value.text):
            value = PickerValue(ids=[], text=value.text)
        people = self.people(value)
        if len(people) > 1:
            raise ValidationError(MSG_ONE_ONLY, code="one_only")
        if not people:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        return people[0]


class PeopleField(_PickerField):
    """Several people (a list of Users): the chips and whatever was typed."""

    multiple = True

    def clean(self, value: Any) -> list[User]:
        people = self.people(value)
        if not people and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        return people

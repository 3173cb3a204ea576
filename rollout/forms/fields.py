"""Fields and helpers every form module shares."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator

from accounts.models import User
from core.errors import ApplicationError


class _OfferedChoices(ModelChoiceIterator):
    def __init__(self, field: "OfferedUserChoiceField") -> None:
        super().__init__(field)
        self.queryset = field.offered.all()


class OfferedUserChoiceField(forms.ModelChoiceField):
    """Lists the users in `offered`, but accepts any user id.

    The service, not the form, refuses an unsuitable user (deactivated since the page was shown,
    already the owner), so the person sees its specific message instead of "not a valid choice".
    """

    iterator = _OfferedChoices

    def __init__(self, *, offered: QuerySet[User], **kwargs: Any) -> None:
        self._offered = offered
        super().__init__(queryset=User.objects.all(), **kwargs)

    @property
    def offered(self) -> QuerySet[User]:
        return self._offered

    @offered.setter
    def offered(self, users: QuerySet[User]) -> None:
        self._offered = users
        # The widget holds its own iterator, made when the queryset was set: renew it.
        self.widget.choices = self.choices

    def label_from_instance(self, obj: User) -> str:
        return f"{obj.display_name} ({obj.email})"


def add_application_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal beside the field it names, or above the form if it names none."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)

"""Fields and helpers every form module shares."""

from django import forms

from core.errors import ApplicationError


def add_application_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal beside the field it names, or above the form if it names none."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)

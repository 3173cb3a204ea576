"""Single-line text: titles, names and subjects — anything that may reach an email header or is
shown on one line. A line break there is at best a broken display and at worst a header Django
refuses at send time (it never injects one), so it is refused where people and clients type
(the form, the service through the model's validator, the API) and flattened where stored text
is reused (`one_line`)."""

import re

from django import forms
from django.core.exceptions import ValidationError

MSG_ONE_LINE = "Use one line: line breaks and control characters are not allowed."

# C0 controls (CR, LF and TAB included), DEL, C1 controls (NEL included), and the Unicode line
# and paragraph separators: every character str.splitlines() breaks on, and the rest of the
# controls a one-line field has no use for.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_line_breaks_or_controls(text: str) -> bool:
    return _CONTROL.search(text) is not None


def refuse_control_characters(value: object) -> None:
    """The validator for a single-line field (model or form)."""
    if isinstance(value, str) and has_line_breaks_or_controls(value):
        raise ValidationError(MSG_ONE_LINE, code="one_line")


def one_line(text: str) -> str:
    """`text` as one line: every run of control characters and spaces becomes one space. For
    text built from stored records that may predate validation."""
    return " ".join(_CONTROL.sub(" ", text).split())


class SingleLineCharField(forms.CharField):
    """A form CharField that refuses line breaks and control characters with MSG_ONE_LINE."""

    default_validators = [refuse_control_characters]

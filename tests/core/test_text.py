"""Single-line text: what may reach an email header or a one-line display."""

import pytest
from django.core.exceptions import ValidationError

from core.text import MSG_ONE_LINE, SingleLineCharField, one_line, refuse_control_characters

REFUSED = [
    "a\rb",
    "a\nb",
    "a\r\nBcc: x@example.com",
    "nul\x00",
    "tab\there",
    "\x1b[31m",
    "\x7f",
    "next line\x85",
    "line\u2028separator",
    "paragraph\u2029separator",
]


@pytest.mark.parametrize("value", REFUSED)
def test_line_breaks_and_control_characters_are_refused_with_a_clear_message(value):
    with pytest.raises(ValidationError) as error:
        refuse_control_characters(value)
    assert error.value.messages == [MSG_ONE_LINE]
    assert MSG_ONE_LINE == "Use one line: line breaks and control characters are not allowed."


def test_ordinary_text_in_any_script_passes():
    refuse_control_characters("Nouveau modèle — “GPT-6” dès lundi 🚀 (v2.1)")


def test_the_form_field_refuses_them_too():
    field = SingleLineCharField(max_length=50)
    with pytest.raises(ValidationError) as error:
        field.clean("Bad\r\nBcc: all@example.com")
    assert error.value.messages == [MSG_ONE_LINE]
    assert field.clean("  Fine title ") == "Fine title"


def test_one_line_turns_what_is_stored_into_one_line():
    assert one_line("Bad\r\nBcc:\tall\x00@example.com\u2028") == "Bad Bcc: all @example.com"

"""Mail merge: render a template once for many recipients, then fill in each one's own values.

Rendering a Django template costs more than sending the message it becomes, so a fan-out renders
once with a placeholder wherever a recipient-specific value is printed, and fills the values in
per recipient, escaped where the template escaped the placeholder (each placeholder carries an
`&`, so its output shows whether autoescaping touched it). The result is the same text,
byte for byte, as rendering with the real values (tests/rollout/lib/test_mail_merge.py).

Values may be printed, not examined: `merge_render` returns None — render per recipient then —
when the template changed a placeholder (a filter such as `|upper` or `|urlencode`) or asked a
`MergeRecord` for an attribute it does not offer. What it cannot see is a test on a value
(`{% if recipient.display_name %}`) or a filter that cuts one short (`|truncatechars`): keep those
out of merged templates; the comparison tests of each merged template catch them.
"""

import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from django.utils.html import conditional_escape


class NotMergeable(Exception):
    """The template asked for a value the merge does not hold; it must be rendered per recipient.
    Not an AttributeError: Django's templates would print an empty string for that."""


@dataclass(frozen=True)
class Merge:
    """A template rendered once: the literal text around each field, and for each field its name
    and whether the template escaped it there."""

    literals: tuple[str, ...]
    fields: tuple[tuple[str, bool], ...]

    def fill(self, values: Mapping[str, object]) -> str:
        """The text rendered with `values` (by field name) in place of the placeholders."""
        out = [self.literals[0]]
        for (name, escaped), literal in zip(self.fields, self.literals[1:], strict=True):
            value = values[name]
            out.append(conditional_escape(value) if escaped else str(value))
            out.append(literal)
        return "".join(out)


class MergeFields:
    """The placeholders of one render: `field(name)` stands for a value filled in later."""

    def __init__(self) -> None:
        # Random per render, so no text a person wrote can pass for a placeholder.
        self.nonce = secrets.token_hex(8)
        self._pattern = re.compile(rf"\[{self.nonce}:([\w.]+)(&|&amp;)\]")

    def field(self, name: str) -> str:
        return f"[{self.nonce}:{name}&]"

    def split(self, rendered: str) -> Merge | None:
        """The render cut at its placeholders; None if one was altered on the way."""
        pieces = self._pattern.split(rendered)
        literals = tuple(pieces[0::3])
        if any(self.nonce in literal.lower() for literal in literals):
            return None  # a filter changed a placeholder: it no longer says what to fill in
        fields = tuple(zip(pieces[1::3], (amp != "&" for amp in pieces[2::3]), strict=True))
        return Merge(literals, fields)


class MergeRecord:
    """Stands for an object (a recipient) in a render: `str()` of it becomes the field `name`, each
    of `attributes` the field `name.attribute`; any other attribute raises NotMergeable."""

    def __init__(self, fields: MergeFields, name: str, attributes: Collection[str]) -> None:
        self._fields = fields
        self._name = name
        self._attributes = frozenset(attributes)

    def __str__(self) -> str:
        return self._fields.field(self._name)

    def __getattr__(self, attribute: str):
        if attribute.startswith("_"):  # Python's and Django's own probes (__html__, ...)
            raise AttributeError(attribute)
        if attribute in self._attributes:
            return self._fields.field(f"{self._name}.{attribute}")
        raise NotMergeable(f"{self._name}.{attribute}")

    @staticmethod
    def values(name: str, obj: object, attributes: Collection[str]) -> dict[str, object]:
        """The fill-in values of the real `obj` for a MergeRecord made with the same arguments."""
        return {name: str(obj), **{f"{name}.{a}": getattr(obj, a) for a in attributes}}


def merge_render(template, context: Mapping[str, object], fields: MergeFields) -> Merge | None:
    """Render `template` (a loaded template, as get_template returns) once with `context`, whose
    per-recipient values are placeholders of `fields` (or MergeRecords). None when the template
    cannot be merged: render it per recipient instead."""
    try:
        rendered = template.render(dict(context))
    except NotMergeable:
        return None
    return fields.split(rendered)

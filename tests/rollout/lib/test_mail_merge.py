from dataclasses import dataclass

import pytest
from django.template import engines

from rollout.lib.mail_merge import MergeFields, MergeRecord, merge_render

ATTRIBUTES = ("display_name", "email")


@dataclass
class Person:
    display_name: str
    email: str
    pk: int = 1

    def __str__(self) -> str:
        return self.display_name


PEOPLE = [
    Person("Amy Agent", "amy@example.com"),
    Person('Zoë <b>"Bold"</b> & O\'Brien', "zoe+tag@example.com"),
    Person("<script>alert(1)</script>", "x&y@example.com"),
]

TEMPLATE = """<p>Hello {{ recipient.display_name }} ({{ recipient }}), <{{ recipient.email }}></p>
<a href="{{ link }}">{{ title }}</a> {{ link|safe }}
{% autoescape off %}Plain: {{ recipient.display_name }} {{ link }} {{ title }}{% endautoescape %}
{{ link|escape }} {{ recipient.display_name|force_escape }}"""


def _template(source: str):
    return engines["django"].from_string(source)


def _link(person: Person) -> str:
    return f"https://rollout.example.com/inbox/{person.pk}/?a=1&b=<2>"


def _merge(source: str):
    fields = MergeFields()
    context = {
        "recipient": MergeRecord(fields, "recipient", ATTRIBUTES),
        "link": fields.field("link"),
        "title": "Fish & <chips>",
    }
    return merge_render(_template(source), context, fields)


def test_filling_in_a_merge_gives_the_same_text_as_rendering_per_recipient():
    merge = _merge(TEMPLATE)
    assert merge is not None
    for person in PEOPLE:
        values = {"link": _link(person), **MergeRecord.values("recipient", person, ATTRIBUTES)}
        expected = _template(TEMPLATE).render(
            {"recipient": person, "link": _link(person), "title": "Fish & <chips>"}
        )
        assert merge.fill(values) == expected
    # The escaping really happened where the template escaped, and only there.
    zoe = {"link": _link(PEOPLE[1]), **MergeRecord.values("recipient", PEOPLE[1], ATTRIBUTES)}
    filled = merge.fill(zoe)
    assert "Hello Zoë &lt;b&gt;&quot;Bold&quot;&lt;/b&gt; &amp; O&#x27;Brien" in filled
    assert 'Plain: Zoë <b>"Bold"</b> & O\'Brien' in filled


@pytest.mark.parametrize(
    "source",
    [
        "{{ recipient.display_name|upper }}",  # a filter changed the placeholder
        "{{ link|urlencode }}",
        "{{ recipient.pk }}",  # an attribute the merge does not hold
    ],
)
def test_a_template_that_does_more_than_print_the_values_cannot_be_merged(source):
    assert _merge(source) is None


def test_text_a_person_wrote_never_passes_for_a_placeholder():
    fields = MergeFields()
    other = MergeFields()
    merge = merge_render(
        _template("{{ body|safe }} {{ link }}"),
        {"body": other.field("link"), "link": fields.field("link")},
        fields,
    )
    assert merge is not None
    assert merge.fill({"link": "L"}) == f"{other.field('link')} L"

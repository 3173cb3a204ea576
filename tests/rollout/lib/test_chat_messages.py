"""Chat messages checked by the platforms' own rules: every Slack block is parsed by slack-sdk's
block models and validated (their validators enforce Block Kit's limits), every Teams card is
validated against the Adaptive Card 1.5 JSON schema.

adaptive_card_1_5.schema.json is schemas/1.5.0/adaptive-card.json of
github.com/microsoft/AdaptiveCards at commit 644d933e185a8482c4dcf4c375d177aac37fd095 (the file
last changed in 93695cf2df1117ab08e36ebe707d0ced18e4e9b3), copied unchanged (SHA-256 pinned below).
"""

import copy
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft6Validator
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from rollout.lib.chat_messages import (
    ADAPTIVE_CARD_CONTENT_TYPE,
    CHANGES_SHOWN,
    SLACK_FIELD_MAX,
    SLACK_HEADER_MAX,
    SLACK_SECTION_MAX,
    SLACK_TEXT_MAX,
    chat_message,
    plain_text,
    slack_message,
    teams_message,
    type_label,
)

SCHEMA_PATH = Path(__file__).with_name("adaptive_card_1_5.schema.json")
SCHEMA_SHA256 = "32c91fb285180a266a55b3475dd0396e63fe079311714d3a14963b41f5e17920"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
# Teams' webhook takes at most 28 KB per message.
TEAMS_MAX_BYTES = 28 * 1024

URL = "https://rollout.example.com/workflows/invoice-triage/"
EVENT = {
    "type": "workflow.phase_changed",
    "timestamp": "2026-12-07T10:00:00+00:00",
    "data": {
        "id": 123,
        "workflow": {"slug": "invoice-triage", "name": "Invoice triage"},
        "actor": {"name": "Olivia Owner", "email": "owner@example.com"},
        "verb": "promoted",
        "target": "Invoice triage to Limited",
        "summary": "Olivia Owner promoted Invoice triage to Limited",
        "changes": {"Phase": ["Shadow", "Limited"]},
        "note": "",
        "url": URL,
    },
}


def _event(**data) -> dict:
    event = copy.deepcopy(EVENT)
    event["data"].update(data)
    return event


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _valid_slack(message: dict) -> list[Block]:
    """Each block parsed by slack-sdk and validated; the round trip must lose nothing."""
    assert set(message) == {"text", "blocks"}
    assert 0 < _units(message["text"]) <= SLACK_TEXT_MAX
    assert len(message["blocks"]) <= 50
    parsed = []
    for raw in message["blocks"]:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        assert block.to_dict() == raw
        parsed.append(block)
    for block in parsed:
        # Limits slack-sdk documents but does not check, counted as strictly as JavaScript does.
        if isinstance(block, SectionBlock):
            assert all(_units(field.text) <= SLACK_FIELD_MAX for field in block.fields)
            assert block.text is None or _units(block.text.text) <= SLACK_SECTION_MAX
        if isinstance(block, HeaderBlock):
            assert _units(block.text.text) <= SLACK_HEADER_MAX
    return parsed


def _valid_teams(message: dict) -> dict:
    """The card, after checking the envelope and the card against the Adaptive Card 1.5 schema."""
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD_CONTENT_TYPE
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    errors = [e.message for e in Draft6Validator(SCHEMA).iter_errors(card)]
    assert errors == []
    assert card["version"] == "1.5"
    assert len(json.dumps(message).encode()) <= TEAMS_MAX_BYTES
    return card


def _texts(card: dict) -> list[str]:
    return [item["text"] for item in card["body"] if item["type"] == "TextBlock"]


def _facts(card: dict) -> list[list[tuple[str, str]]]:
    return [
        [(fact["title"], fact["value"]) for fact in item["facts"]]
        for item in card["body"]
        if item["type"] == "FactSet"
    ]


def test_the_vendored_schema_is_the_upstream_file():
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_the_schema_catches_a_broken_card():
    """The validation can fail: a card missing its required parts is refused."""
    card = _valid_teams(teams_message(EVENT))
    broken = copy.deepcopy(card)
    broken["body"][1]["facts"][0].pop("value")
    broken["actions"][0]["target"] = "_blank"
    assert len(list(Draft6Validator(SCHEMA).iter_errors(broken))) >= 1


def test_slack_sdk_enforces_the_limits():
    """The validation can fail: a header one character too long is refused by slack-sdk."""
    raw = slack_message(EVENT)["blocks"][0]
    raw["text"]["text"] = "x" * (SLACK_HEADER_MAX + 1)
    with pytest.raises(SlackObjectFormationError):
        Block.parse(raw).validate_json()


def test_slack_message_for_a_phase_change():
    message = slack_message(EVENT)
    header, fields, changes, context, actions = _valid_slack(message)
    assert isinstance(header, HeaderBlock)
    assert header.text.text == "Olivia Owner promoted Invoice triage to Limited"
    assert [field.text for field in fields.fields] == [
        "*Workflow*\nInvoice triage",
        "*By*\nOlivia Owner",
        "*When*\n<!date^1796637600^{date_short_pretty} at {time}|7 Dec 2026, 10:00 UTC>",
        "*Event*\nWorkflow phase changed",
    ]
    assert changes.text.text == "*What changed*\n• *Phase*: Shadow → Limited"
    assert isinstance(context, ContextBlock)
    assert context.elements[0].text == "Rollout · Workflow phase changed · activity #123"
    assert isinstance(actions, ActionsBlock)
    [button] = actions.elements
    assert (button.text.text, button.url) == ("Open in Rollout", URL)
    assert message["text"] == (
        f"Olivia Owner promoted Invoice triage to Limited\nPhase: Shadow → Limited\n{URL}"
    )


def test_teams_message_for_a_phase_change():
    card = _valid_teams(teams_message(EVENT))
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert _texts(card) == [
        "Olivia Owner promoted Invoice triage to Limited",
        "What changed",
        "Rollout · Workflow phase changed · activity #123",
    ]
    assert card["body"][0]["style"] == "heading"
    assert _facts(card) == [
        [
            ("Workflow", "Invoice triage"),
            ("By", "Olivia Owner"),
            ("When", "7 Dec 2026, 10:00 UTC"),
            ("Event", "Workflow phase changed"),
        ],
        [("Phase", "Shadow → Limited")],
    ]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Rollout", "url": URL}]
    assert card["fallbackText"] == plain_text(EVENT)


def test_no_changes_no_workflow_no_actor():
    """An organisation-wide entry Rollout wrote itself, with nothing to diff."""
    event = _event(workflow=None, actor=None, changes={}, summary="Rollout paused every rollout")
    event["type"] = "rollout.paused"
    blocks = _valid_slack(slack_message(event))
    assert [block.type for block in blocks] == ["header", "section", "context", "actions"]
    titles = [field.text.split("\n")[0] for field in blocks[1].fields]
    assert titles == ["*By*", "*When*", "*Event*"]
    assert blocks[1].fields[0].text == "*By*\nRollout"
    card = _valid_teams(teams_message(event))
    assert "What changed" not in _texts(card)
    assert [title for title, _ in _facts(card)[0]] == ["By", "When", "Event"]
    assert _facts(card)[0][0] == ("By", "Rollout")
    assert plain_text(event) == f"Rollout paused every rollout\n{URL}"


def test_a_note_is_shown():
    event = _event(note="Legal signed off.\nSee the ticket.")
    blocks = _valid_slack(slack_message(event))
    assert blocks[3].text.text == "*Note*\nLegal signed off.\nSee the ticket."
    card = _valid_teams(teams_message(event))
    assert "Legal signed off.\n\nSee the ticket." in _texts(card)
    assert "Note: Legal signed off.\nSee the ticket." in plain_text(event)


def test_without_a_url_there_is_no_button():
    for url in ("", None, "javascript:alert(1)", "/workflows/x/", "https://x/" + "a" * 3000):
        event = _event(url=url)
        blocks = _valid_slack(slack_message(event))
        assert "actions" not in [block.type for block in blocks]
        assert "actions" not in _valid_teams(teams_message(event))
        assert "http" not in plain_text(event).splitlines()[-1]


def test_a_missing_summary_is_said_from_verb_and_target_or_the_type():
    event = _event(summary="")
    assert slack_message(event)["blocks"][0]["text"]["text"] == (
        "Olivia Owner promoted Invoice triage to Limited"
    )
    event = _event(summary="", verb="", target="", actor=None)
    event["type"] = "activity.recorded"
    assert slack_message(event)["blocks"][0]["text"]["text"] == "Activity recorded"
    _valid_teams(teams_message(event))


def test_long_inputs_stay_inside_the_limits():
    many = {f"Setting {i} " + "x" * 300: ["b" * 5000, "a\n" * 3000] for i in range(40)}
    event = _event(
        summary="S" * 5000,
        workflow={"slug": "w", "name": "W" * 5000},
        actor={"name": "N" * 5000, "email": "e@example.com"},
        changes=many,
        note="note " * 5000,
    )
    message = slack_message(event)
    blocks = _valid_slack(message)
    assert blocks[0].text.text.endswith("…")
    changes = blocks[2].text.text
    assert changes.endswith("more changes")
    shown = changes.count("\n• ")
    assert 1 <= shown <= CHANGES_SHOWN
    assert changes.endswith(f"…and {40 - shown} more changes")
    # The link survives the cut of the fallback text.
    assert message["text"].endswith(URL)
    card = _valid_teams(teams_message(event))
    assert len(_facts(card)[1]) == CHANGES_SHOWN
    assert "…and 30 more changes" in _texts(card)
    assert card["fallbackText"].endswith(URL)


def test_escaping_never_cuts_the_link_from_the_fallback():
    """Every "&" of a long note becomes "&amp;" in Slack's text: the cut allows for it."""
    url = URL + "?tab=plan&view=all"
    message = slack_message(_event(note="&" * 5000, changes={}, url=url))
    _valid_slack(message)
    assert message["text"].endswith("\n" + url.replace("&", "&amp;"))
    assert "&amp;&amp;" in message["text"] and "&&" not in message["text"]
    note = message["blocks"][2]["text"]["text"]
    assert note.startswith("*Note*\n&amp;") and note.endswith("&amp;…")


def test_eleven_changes_show_ten_and_count_one():
    event = _event(changes={f"Field {i}": [i, i + 1] for i in range(11)})
    text = _valid_slack(slack_message(event))[2].text.text
    assert text.count("\n• ") == 10
    assert text.endswith("…and 1 more change")
    assert plain_text(event).splitlines()[11] == "…and 1 more change"


def test_odd_change_values_are_readable():
    event = _event(changes={"Owner": [None, "Amy"], "Review": ["", True], "Cap": 5})
    text = _valid_slack(slack_message(event))[2].text.text
    assert text.splitlines()[1:] == [
        "• *Owner*: (empty) → Amy",
        "• *Review*: (empty) → True",
        "• *Cap*: (empty) → 5",
    ]


def test_unicode_is_kept_and_cut_on_whole_characters():
    name = "Zoë Ünal 🚀 日本語ワークフロー"
    event = _event(summary=f"{name} promoted 🧪 to Limited", actor={"name": name, "email": ""})
    blocks = _valid_slack(slack_message(event))
    assert blocks[0].text.text == f"{name} promoted 🧪 to Limited"
    assert blocks[1].fields[1].text == f"*By*\n{name}"
    assert _facts(_valid_teams(teams_message(event)))[0][1] == ("By", name)
    # 150 UTF-16 units hold 74 rockets (two units each) and the ellipsis.
    header = _valid_slack(slack_message(_event(summary="🚀" * 200)))[0].text.text
    assert header == "🚀" * 74 + "…"


def test_people_cannot_inject_markup():
    sneaky = "<!channel> & <https://evil.example|click> [here](https://evil.example) *bold*"
    event = _event(summary=sneaky, actor={"name": sneaky, "email": ""}, note=sneaky)
    message = slack_message(event)
    _valid_slack(message)
    escaped = "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
    assert message["blocks"][1]["fields"][1]["text"].startswith(f"*By*\n{escaped}")
    assert message["text"].startswith(escaped)
    assert (
        "<!channel>" not in json.dumps([b for b in message["blocks"] if b["type"] != "header"])
        and "<!channel>" not in message["text"]
    )
    card = _valid_teams(teams_message(event))
    assert r"\[here\](https://evil.example) \*bold\*" in card["body"][0]["text"]
    assert _facts(card)[0][1][1].endswith(r"\[here\](https://evil.example) \*bold\*")


def test_an_escape_is_never_cut_in_half():
    event = _event(actor={"name": "&" * 500, "email": ""})
    by = _valid_slack(slack_message(event))[1].fields[1].text
    assert by == "*By*\n" + "&amp;" * 39 + "…"


def test_a_timestamp_that_is_not_iso_is_shown_as_it_is():
    event = copy.deepcopy(EVENT)
    event["timestamp"] = "yesterday <noon>"
    fields = _valid_slack(slack_message(event))[1].fields
    assert fields[2].text == "*When*\nyesterday &lt;noon&gt;"
    assert _facts(_valid_teams(teams_message(event)))[0][2] == ("When", "yesterday <noon>")


def test_a_timestamp_in_another_zone_is_shown_in_utc():
    event = copy.deepcopy(EVENT)
    event["timestamp"] = "2026-12-07T11:30:00+01:00"
    assert _facts(teams_message(event)["attachments"][0]["content"])[0][2] == (
        "When",
        "7 Dec 2026, 10:30 UTC",
    )


def test_chat_message_picks_the_renderer():
    assert chat_message("slack", EVENT) == slack_message(EVENT)
    assert chat_message("teams", EVENT) == teams_message(EVENT)
    with pytest.raises(ValueError, match="Unknown chat kind"):
        chat_message("discord", EVENT)


@pytest.mark.parametrize(
    ("event_type", "label"),
    [
        ("workflow.phase_changed", "Workflow phase changed"),
        ("rollout.paused", "Rollout paused"),
        ("change_notice.published", "Change notice published"),
        (None, "Activity recorded"),
        ("._.", "Activity recorded"),
    ],
)
def test_type_label(event_type, label):
    assert type_label(event_type) == label


def test_a_minimal_event_renders():
    """Nothing but a type: every part missing still makes a valid message."""
    event = {"type": "webhook.changed"}
    assert [b.type for b in _valid_slack(slack_message(event))] == [
        "header",
        "section",
        "context",
    ]
    card = _valid_teams(teams_message(event))
    assert card["body"][0]["text"] == "Webhook changed"
    assert plain_text(event) == "Webhook changed"


_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from("&<>*_[]`\\\n |~"), st.characters(codec="utf-8")),
    max_size=4000,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    summary=_TEXT,
    name=_TEXT,
    note=_TEXT,
    changes=st.dictionaries(_TEXT, st.tuples(_TEXT, _TEXT), max_size=14),
    with_workflow=st.booleans(),
)
def test_any_words_make_valid_messages(summary, name, note, changes, with_workflow):
    """Whatever people wrote, in whatever script, with whatever markup characters, both
    platforms' validators accept the message."""
    event = _event(
        summary=summary,
        actor={"name": name, "email": "a@example.com"},
        workflow={"slug": "w", "name": name} if with_workflow else None,
        note=note,
        changes={label: list(pair) for label, pair in changes.items()},
    )
    message = slack_message(event)
    _valid_slack(message)
    assert message["text"].endswith(URL)
    _valid_teams(teams_message(event))

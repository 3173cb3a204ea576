from datetime import UTC, datetime

import pytest

from rollout.lib.webhook_events import (
    CATCH_ALL,
    EVENT_TYPES,
    event_build,
    event_type,
    event_types_label,
)

# (verb, target) as the services write them → the type a receiver gets.
CASES = [
    ("created", "workflow Invoice triage", "workflow.created"),
    ("edited", "workflow Invoice triage", "workflow.updated"),
    ("edited", "plan settings", "workflow.updated"),
    ("created", "roll-out plan", "workflow.updated"),
    ("edited", "phase Limited", "workflow.updated"),
    ("added", "data source Tickets", "workflow.updated"),
    ("changed the AI configuration", "version 3", "workflow.updated"),
    ("reinstated", "Invoice triage", "workflow.updated"),
    ("promoted", "Invoice triage", "workflow.phase_changed"),
    ("rolled back", "Limited", "workflow.phase_changed"),
    ("retired", "Invoice triage", "workflow.retired"),
    ("paused", "Limited", "rollout.paused"),
    ("resumed", "Limited", "rollout.resumed"),
    ("threshold breached", "Error rate in Limited", "threshold.breached"),
    ("added threshold", "Error rate above 5%", "threshold.changed"),
    ("changed threshold after launch", "Error rate above 5%", "threshold.changed"),
    ("deleted threshold after launch", "Error rate above 5%", "threshold.changed"),
    ("requested a promotion", "Shadow → Limited", "approval.requested"),
    ("requested less review", "for cohort Pilot", "approval.requested"),
    ("asked approval for urgent", "notice “Outage”", "approval.requested"),
    ("approved a promotion", "Shadow → Limited", "approval.granted"),
    ("approved a promotion despite its gate", "Shadow → Limited", "approval.granted"),
    ("approved urgent", "notice “Outage”", "approval.granted"),
    ("rejected a promotion", "Shadow → Limited", "approval.rejected"),
    ("promotion request lapsed", "Shadow → Limited", "approval.rejected"),
    ("published notice", "New model", "change_notice.published"),
    ("published at once, urgent and without approval,", "notice", "change_notice.published"),
    ("opened incident", "Wrong totals", "incident.opened"),
    ("closed incident", "Wrong totals", "incident.closed"),
    ("opened escalation", "“Harmful reply”", "escalation.opened"),
    ("escalated to level 2", "“Harmful reply”", "escalation.opened"),
    ("resolved escalation", "“Harmful reply”", "escalation.resolved"),
    ("gave feedback", "feedback #4", "feedback.created"),
    ("handed over", "workflow Invoice triage", "ownership.changed"),
    ("made ownerless", "workflow Invoice triage", "ownership.changed"),
    ("created", "cohort Pilot", "cohort.changed"),
    ("deleted", "cohort Pilot", "cohort.changed"),
    ("added members to", "cohort Pilot", "cohort.changed"),
    ("enrolled", "cohort Pilot", "cohort.changed"),
    ("added a webhook", "https://hooks.example.com/…", "webhook.changed"),
    ("turned off a Slack channel", "https://hooks.slack.com/…", "webhook.changed"),
    ("answered", "readiness: Who is on call?", CATCH_ALL),
    ("deleted", "a thing nobody maps", CATCH_ALL),
]


@pytest.mark.parametrize(("verb", "target", "expected"), CASES)
def test_event_type_of_each_verb(verb: str, target: str, expected: str) -> None:
    assert event_type(verb, target) == expected


def test_every_type_in_the_catalog_is_reachable() -> None:
    assert {expected for _, _, expected in CASES} == set(EVENT_TYPES)


def test_event_build_shape() -> None:
    event = event_build(
        entry_id=123,
        timestamp=datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        verb="promoted",
        target="Invoice triage",
        changes={"Phase": ["Shadow", "Limited"], "broken": "not a pair", "Empty": [None, "x"]},
        note="",
        workflow={"slug": "invoice-triage", "name": "Invoice triage"},
        actor={"name": "Olivia Owner", "email": "owner@example.com"},
        url="https://rollout.example.com/workflows/invoice-triage/",
    )
    assert event == {
        "type": "workflow.phase_changed",
        "timestamp": "2026-12-07T10:00:00+00:00",
        "data": {
            "id": 123,
            "workflow": {"slug": "invoice-triage", "name": "Invoice triage"},
            "actor": {"name": "Olivia Owner", "email": "owner@example.com"},
            "verb": "promoted",
            "target": "Invoice triage",
            "summary": "Olivia Owner promoted Invoice triage",
            "changes": {"Phase": ["Shadow", "Limited"], "Empty": ["", "x"]},
            "note": "",
            "url": "https://rollout.example.com/workflows/invoice-triage/",
        },
    }


def test_event_without_actor_or_workflow_reads_as_rollout() -> None:
    event = event_build(
        entry_id=1,
        timestamp=datetime(2026, 12, 7, tzinfo=UTC),
        verb="threshold breached",
        target="Error rate in Limited",
        changes=None,
        note="5.2% > 5%",
        workflow=None,
        actor=None,
        url="https://rollout.example.com/",
    )
    assert event["data"]["summary"] == "Rollout threshold breached Error rate in Limited"
    assert event["data"]["actor"] is None and event["data"]["workflow"] is None
    assert event["data"]["changes"] == {}


def test_event_types_label() -> None:
    assert event_types_label([]) == "All events"
    assert event_types_label(["incident.opened", "approval.granted"]) == (
        "approval.granted, incident.opened"
    )

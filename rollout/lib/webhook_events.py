"""The events Rollout sends out (Standard Webhooks bodies and the input of the chat messages).

One event per activity-log entry: `{"type", "timestamp", "data"}` as the Standard Webhooks spec
recommends (standard-webhooks/standard-webhooks, spec/standard-webhooks.md, "Payload structure").
The dotted type is read from the entry's verb and target, the words the services write; an entry
no rule knows is `activity.recorded`, so a new kind of change is still delivered (to endpoints
that take every type) before it gets a type of its own. Pure: no models, no database.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict

EVENT_TYPES: dict[str, str] = {
    "workflow.created": "A workflow was created.",
    "workflow.updated": (
        "A workflow's details, plan, phases, data sources, AI configuration or review settings "
        "changed, or a retired workflow was reinstated."
    ),
    "workflow.phase_changed": "A workflow moved to another phase (promoted or rolled back).",
    "workflow.retired": "A workflow was retired.",
    "rollout.paused": "A phase's roll-out was paused.",
    "rollout.resumed": "A paused roll-out was resumed.",
    "threshold.breached": "A guardrail threshold was breached.",
    "threshold.changed": "A threshold was added, changed or deleted.",
    "approval.requested": (
        "An approval was asked for: a promotion, less review for a cohort, an urgent notice."
    ),
    "approval.granted": "A promotion, less review or an urgent notice was approved.",
    "approval.rejected": "A request was rejected, cancelled or lapsed.",
    "change_notice.published": "A change notice went out to the people it concerns.",
    "incident.opened": "An incident was opened.",
    "incident.closed": "An incident was closed.",
    "escalation.opened": "An escalation was opened or moved up a level.",
    "escalation.resolved": "An escalation was resolved.",
    "feedback.created": "Someone gave feedback on the workflow.",
    "ownership.changed": "The workflow's owner changed (handed over, ownerless, back).",
    "cohort.changed": "A cohort, its members or its holdout changed.",
    "webhook.changed": "A webhook or chat channel was added, turned on or off, or deleted.",
    "activity.recorded": "Any other entry of the activity log.",
}
CATCH_ALL = "activity.recorded"

# Whole verbs, as the services write them (grep "verb=" rollout/services accounts).
_BY_VERB: dict[str, str] = {
    "promoted": "workflow.phase_changed",
    "rolled back": "workflow.phase_changed",
    "retired": "workflow.retired",
    "reinstated": "workflow.updated",
    "paused": "rollout.paused",
    "resumed": "rollout.resumed",
    "threshold breached": "threshold.breached",
    "requested a promotion": "approval.requested",
    "requested less review": "approval.requested",
    "asked approval for urgent": "approval.requested",
    "approved a promotion": "approval.granted",
    "approved a promotion despite its gate": "approval.granted",
    "approved less review": "approval.granted",
    "approved urgent": "approval.granted",
    "rejected a promotion": "approval.rejected",
    "cancelled a promotion": "approval.rejected",
    "promotion request lapsed": "approval.rejected",
    "rejected less review": "approval.rejected",
    "cancelled a request for less review": "approval.rejected",
    "request for less review lapsed": "approval.rejected",
    "published notice": "change_notice.published",
    "published at once, urgent and without approval,": "change_notice.published",
    "opened incident": "incident.opened",
    "closed incident": "incident.closed",
    "opened escalation": "escalation.opened",
    "resolved escalation": "escalation.resolved",
    "gave feedback": "feedback.created",
    "handed over": "ownership.changed",
    "made ownerless": "ownership.changed",
    "owner reactivated": "ownership.changed",
    "added members to": "cohort.changed",
    "removed a member from": "cohort.changed",
    "enrolled": "cohort.changed",
    "unenrolled": "cohort.changed",
    "moved someone out of the holdout": "cohort.changed",
    "changed the AI configuration": "workflow.updated",
    "restarted the baseline of": "workflow.updated",
}
# Verb beginnings, for verbs with variants ("added threshold after launch", "escalated to level 2").
_BY_VERB_START: tuple[tuple[str, str], ...] = (
    ("added threshold", "threshold.changed"),
    ("changed threshold", "threshold.changed"),
    ("deleted threshold", "threshold.changed"),
    ("escalated to level", "escalation.opened"),
)
# Verbs ending in a noun ("added a webhook", "turned off a Slack channel").
_BY_VERB_END: tuple[tuple[str, str], ...] = (
    (" webhook", "webhook.changed"),
    (" chat channel", "webhook.changed"),
    (" Slack channel", "webhook.changed"),
    (" Teams channel", "webhook.changed"),
)
# Generic verbs ("created", "edited", "deleted", "added", "removed") by what they acted on.
_GENERIC_VERBS = {"created", "edited", "deleted", "added", "removed"}
_BY_TARGET_START: tuple[tuple[str, str, str], ...] = (
    # (verb, target beginning, type); verb "*" matches any generic verb
    ("created", "workflow ", "workflow.created"),
    ("*", "workflow ", "workflow.updated"),
    ("*", "cohort ", "cohort.changed"),
    ("*", "roll-out plan", "workflow.updated"),
    ("*", "plan settings", "workflow.updated"),
    ("*", "phase ", "workflow.updated"),
    ("*", "data source ", "workflow.updated"),
)


def event_type(verb: str, target: str) -> str:
    """The dotted type of an activity entry with this verb and target (`activity.recorded` when
    no rule matches)."""
    if verb in _BY_VERB:
        return _BY_VERB[verb]
    for start, kind in _BY_VERB_START:
        if verb.startswith(start):
            return kind
    for end, kind in _BY_VERB_END:
        if verb.endswith(end):
            return kind
    if verb in _GENERIC_VERBS:
        for rule_verb, start, kind in _BY_TARGET_START:
            if rule_verb in ("*", verb) and target.startswith(start):
                return kind
    return CATCH_ALL


class EventWorkflow(TypedDict):
    slug: str
    name: str


class EventActor(TypedDict):
    name: str
    email: str


def event_summary(actor: Mapping[str, str] | None, verb: str, target: str) -> str:
    """The entry as one sentence, as the activity log reads it ("Rollout" when no one acted)."""
    who = actor["name"] if actor else "Rollout"
    return " ".join(part for part in (who, verb, target) if part)


def event_build(
    *,
    entry_id: int,
    timestamp: datetime,
    verb: str,
    target: str,
    changes: Mapping[str, Any] | None,
    note: str,
    workflow: EventWorkflow | None,
    actor: EventActor | None,
    url: str,
    summary: str | None = None,
) -> dict[str, Any]:
    """The event of one activity entry: `{"type", "timestamp", "data": {"id", "workflow",
    "actor", "verb", "target", "summary", "changes", "note", "url"}}`. `changes` keeps only
    well-formed `label: [before, after]` pairs, as strings. `url` is the absolute address of the
    page people open to see it (the workflow's page); `summary` replaces the sentence made of
    actor, verb and target."""
    return {
        "type": event_type(verb, target),
        "timestamp": timestamp.isoformat(),
        "data": {
            "id": entry_id,
            "workflow": dict(workflow) if workflow else None,
            "actor": dict(actor) if actor else None,
            "verb": verb,
            "target": target,
            "summary": summary or event_summary(actor, verb, target),
            "changes": _changes(changes),
            "note": note,
            "url": url,
        },
    }


def _changes(changes: Mapping[str, Any] | None) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for label, values in (changes or {}).items():
        if isinstance(values, list | tuple) and len(values) == 2:
            result[str(label)] = ["" if v is None else str(v) for v in values]
    return result


def event_types_label(types: list[str]) -> str:
    """How an endpoint's choice reads on a page: "All events" for none chosen."""
    if not types:
        return "All events"
    return ", ".join(sorted(types))

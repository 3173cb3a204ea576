"""What the feedback pages share: templates, the roles a page shows, the triage choices and how a
triage reads in words ("status In progress, assignee nobody")."""

from typing import Any

from accounts.models import User
from rollout.models import FeedbackStatus, Severity, Workflow
from rollout.permissions import can_give_feedback, can_triage_feedback
from rollout.selectors.feedback import feedback_assignee_list

PAGE = "rollout/workflow_feedback.html"
PANEL = "rollout/feedback_panel.html"
PANEL_TARGET = "triage-panel"  # the inbox's side panel, by its id
PER_PAGE = 25
SHOWN = 50  # a member's own feedback and the public list: the newest / most backed

MSG_UNKNOWN_ACTION = "Unknown action."


def triage_choices(workflow: Workflow) -> dict[str, Any]:
    """What the triage controls offer: one query for the people, whatever the list's length."""
    assignees = feedback_assignee_list(workflow)
    return {
        "statuses": FeedbackStatus.choices,
        "severities": Severity.choices,
        "assignees": assignees,
        "assignee_ids": {u.pk for u in assignees},
    }


def page_roles(user: User, workflow: Workflow) -> dict[str, bool]:
    return {
        "can_triage": can_triage_feedback(user, workflow),
        "can_give": can_give_feedback(user, workflow),
    }


def in_words(changes: dict[str, Any]) -> str:
    """{"status": "in_progress", "assignee": None} → "status In progress, assignee nobody"."""
    words = []
    if "status" in changes:
        words.append(f"status {FeedbackStatus(changes['status']).label}")
    if "severity" in changes:
        severity = changes["severity"]
        words.append(f"severity {Severity(severity).label if severity else 'not set'}")
    if "assignee" in changes:
        words.append(f"assignee {changes['assignee'] or 'nobody'}")
    return ", ".join(words)


def plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"

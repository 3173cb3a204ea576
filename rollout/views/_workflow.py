from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from rollout.models import Workflow
from rollout.permissions import (
    AnyUser,
    can_change_workflow,
    can_handover_workflow,
    can_view_workflow,
)


@dataclass(frozen=True)
class Section:
    """One link of a workflow's section navigation (the sidebar, a menu on a phone)."""

    key: str
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class SectionGroup:
    heading: str
    sections: list[Section]


# (heading, [(key, label, URL name, who sees it)]) in the order of the work: the plan and its
# gates, the signals coming back, the response to problems, telling people, the machines' side.
# Who sees what follows the pages' own checks: "all" is every role that may open the workflow
# (cohort members included: their feedback, the incidents that touched them), "view" the roles
# that read the whole workflow, "change" the owner and ops leaders.
SECTION_GROUPS = [
    (
        "Roll-out",
        [
            ("overview", "Overview", "workflow_overview", "all"),
            ("plan", "Plan", "workflow_plan", "view"),
            ("cohorts", "Cohorts", "workflow_cohorts", "view"),
            ("briefing", "Briefing", "workflow_briefing", "all"),
            ("thresholds", "Thresholds", "workflow_thresholds", "view"),
            ("reviews", "Reviews", "workflow_reviews", "view"),
        ],
    ),
    (
        "Signals",
        [
            ("usage", "Usage", "workflow_usage", "view"),
            ("outcomes", "Outcome metrics", "workflow_outcomes", "view"),
            ("configuration", "AI configuration", "workflow_configuration", "view"),
            ("feedback", "Feedback", "workflow_feedback", "all"),
            ("review-queue", "Review queue", "workflow_review_queue", "change"),
        ],
    ),
    (
        "Response",
        [
            ("escalation", "Escalation", "escalation_path", "view"),
            ("incidents", "Incidents", "workflow_incidents", "all"),
        ],
    ),
    (
        "Communication",
        [
            ("notices", "Notices", "workflow_notices", "view"),
            ("activity", "Activity", "workflow_activity", "view"),
        ],
    ),
    ("Evidence", [("evidence", "Evidence", "workflow_evidence", "view")]),
    (
        "Integration",
        [
            ("tokens", "API tokens", "workflow_tokens", "change"),
            ("webhooks", "Webhooks & chat", "workflow_webhooks", "change"),
        ],
    ),
]


def workflow_sections(
    workflow: Workflow, *, tab: str, can_view: bool, can_change: bool
) -> list[SectionGroup]:
    """The sections this user may open, grouped; a group with none of them is left out."""
    allowed = {"all": True, "view": can_view, "change": can_change}
    groups = []
    for heading, entries in SECTION_GROUPS:
        sections = [
            Section(key, label, reverse(url_name, args=[workflow.slug]), key == tab)
            for key, label, url_name, who in entries
            if allowed[who]
        ]
        if sections:
            groups.append(SectionGroup(heading, sections))
    return groups


def workflow_page_context(user: AnyUser, workflow: Workflow, *, tab: str) -> dict[str, Any]:
    """What every page of one workflow shows in its header and sidebar: the workflow, allowed
    actions, the sections (base.html draws them beside the page) and the current one."""
    can_view = can_view_workflow(user, workflow)
    can_change = can_change_workflow(user, workflow)
    sections = workflow_sections(workflow, tab=tab, can_view=can_view, can_change=can_change)
    return {
        "workflow": workflow,
        # False for cohort members: they see the member-facing pages only.
        "can_view": can_view,
        "can_change": can_change,
        "can_handover": can_handover_workflow(user, workflow),
        "active_tab": tab,
        "workflow_sections": sections,
        "current_section": next(
            (s for group in sections for s in group.sections if s.current), None
        ),
    }

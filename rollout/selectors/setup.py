"""A new workflow's set-up, step by step: what is done and what is left before a roll-out can
start (the overview's checklist, until every step is done)."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from rollout.models import (
    ApiToken,
    Cohort,
    DataSource,
    EscalationLevel,
    Phase,
    Threshold,
    Workflow,
)


@dataclass(frozen=True)
class SetupStep:
    key: str
    label: str
    why: str
    url_name: str  # the page where it is done (takes the workflow's slug)
    action: str  # the button's words
    done: bool


STEPS = (
    ("plan", Phase, "Plan the roll-out", "Phases from data audit to steady state, with dates.",
     "workflow_plan", "Plan the phases"),
    ("data_sources", DataSource, "Declare the data sources",
     "What the AI reads, and how fresh it must be.", "workflow_plan", "Add a data source"),
    ("cohorts", Cohort, "Name the cohorts", "Who gets it first, and who later.",
     "workflow_cohorts", "Add a cohort"),
    ("thresholds", Threshold, "Say what a bad output looks like",
     "Quality thresholds, set before launch, that gate each promotion.",
     "workflow_thresholds", "Add a threshold"),
    ("escalation", EscalationLevel, "Set the escalation path",
     "Who is paged, in what order, when something goes wrong.", "escalation_path",
     "Add a level"),
    ("token", ApiToken, "Connect the AI tool", "An API token for decisions and usage events.",
     "workflow_tokens", "Create a token"),
)  # fmt: skip


def workflow_setup_steps(workflow: Workflow) -> list[SetupStep]:
    """Each set-up step and whether it is done, while the roll-out has not started (no phase
    begun); an empty list once it has — the checklist is for a new workflow. One query."""
    done = (
        Workflow.objects.filter(pk=workflow.pk)
        .annotate(
            started=Exists(
                Phase.objects.filter(workflow=OuterRef("pk"), actual_start__isnull=False)
            ),
            **{
                f"has_{key}": Exists(model.objects.filter(workflow=OuterRef("pk")))
                for key, model, *_ in STEPS
            },
        )
        .values("started", *(f"has_{key}" for key, *_ in STEPS))
        .get()
    )
    if done["started"]:
        return []
    return [
        SetupStep(key, label, why, url_name, action, done[f"has_{key}"])
        for key, _, label, why, url_name, action in STEPS
    ]

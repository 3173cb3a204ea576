"""The workflow's AI configuration: the version in effect and every version before it, declared
by people or observed in the events (rule 9)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.htmx import HtmxHttpRequest
from rollout.forms.model_prices import ModelPriceForm
from rollout.models import Workflow
from rollout.permissions import access_workflow
from rollout.selectors.ai_config import (
    FIELD_LABELS,
    ai_config_history,
    ai_config_values,
    config_changes,
    config_values,
    evidence_sentence,
)
from rollout.services.ai_config import MISMATCH_EVENTS, MISMATCH_SHARE
from rollout.views._model_prices import model_prices_context
from rollout.views._workflow import workflow_page_context


@require_GET
def workflow_configuration(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The version in effect, what differs from what is declared, and the history, newest
    first (a handful of rows per workflow: not paginated); the model versions' prices."""
    return configuration_page(request, access_workflow(request.user, slug))


def configuration_page(
    request: HtmxHttpRequest, workflow: Workflow, *, price_form: ModelPriceForm | None = None
) -> HttpResponse:
    """The page, with the prices form bound when a declaration was refused
    (rollout.views.model_prices)."""
    history = ai_config_history(workflow)
    rows = []
    for i, config in enumerate(history):
        previous = history[i + 1] if i + 1 < len(history) else None
        changes = config_changes(config_values(previous), config_values(config)) if previous else {}
        rows.append(
            {
                "config": config,
                "changes": changes,
                "evidence": evidence_sentence(config.evidence) if config.evidence else "",
            }
        )
    current = history[0] if history else None
    # What the workflow's fields declare against the version in effect: differs after an
    # unannounced change until the owner declares it (or the integration goes back).
    undeclared = (
        config_changes(ai_config_values(workflow), config_values(current)) if current else {}
    )
    context = workflow_page_context(request.user, workflow, tab="configuration")
    context.update(
        current=current,
        rows=rows,
        undeclared=undeclared,
        reported_fields=[FIELD_LABELS["model_version"], FIELD_LABELS["prompt_version"]],
        mismatch_events=MISMATCH_EVENTS,
        mismatch_share=round(MISMATCH_SHARE * 100),
    )
    context.update(
        model_prices_context(workflow, history, can_change=context["can_change"], form=price_form)
    )
    return render(request, "rollout/workflow_configuration.html", context)

"""The prices section of the AI configuration page: the model versions' declared prices, and the
form the owner declares one with (rollout.views.model_prices takes its POST)."""

from typing import Any

from rollout.forms.model_prices import ModelPriceForm
from rollout.models import AIConfiguration, Workflow
from rollout.selectors.costs import currency_code, model_price_list


def model_prices_context(
    workflow: Workflow,
    history: list[AIConfiguration],
    *,
    can_change: bool,
    form: ModelPriceForm | None = None,
) -> dict[str, Any]:
    currency = currency_code()
    declared = [c.model_version for c in history if c.model_version]
    context: dict[str, Any] = {
        "prices": model_price_list(workflow),
        "currency": currency,
        # Suggestions for the form: the versions the configuration declared, newest first.
        "known_versions": list(dict.fromkeys(declared)),
    }
    if can_change:
        initial = {"model_version": declared[0]} if declared else {}
        context["price_form"] = form or ModelPriceForm(currency=currency, initial=initial)
        context["price_form_open"] = form is not None
    return context

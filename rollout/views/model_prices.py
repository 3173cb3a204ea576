"""Declaring and deleting model prices (issue 18 §3), from the AI configuration page's prices
section: one POST endpoint with named actions, for the owner and ops leaders. Each action calls
one service, flashes a message and goes back to the section; invalid input re-renders the
configuration page with the errors beside the fields."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.model_prices import ModelPriceForm
from rollout.models import Workflow
from rollout.permissions import access_workflow
from rollout.selectors.costs import currency_code
from rollout.services.cost_prices import model_price_declare, model_price_delete
from rollout.views.ai_config import configuration_page

MSG_DECLARED = "Saved the price of {version} from {day}: the days from then on are costed with it."
MSG_DELETED = "Deleted the price."
MSG_NO_PRICE = "Choose a price to delete."
MSG_UNKNOWN_ACTION = "Unknown action."


def _back(workflow: Workflow) -> HttpResponse:
    return redirect(reverse("workflow_configuration", kwargs={"slug": workflow.slug}) + "#prices")


@require_POST
def workflow_model_prices(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """action=declare: the form's price; action=delete: the price named by `price`."""
    workflow = access_workflow(request.user, slug, for_change=True)
    action = request.POST.get("action", "")
    if action == "declare":
        form = ModelPriceForm(request.POST, currency=currency_code())
        if form.is_valid():
            try:
                price = model_price_declare(
                    workflow=workflow, actor=request.user, **form.cleaned_data
                )
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                day = price.valid_from.strftime("%-d %b %Y")
                messages.success(request, MSG_DECLARED.format(version=price.model_version, day=day))
                return _back(workflow)
        return configuration_page(request, workflow, price_form=form)
    if action == "delete":
        price_id = request.POST.get("price", "")
        if not price_id.isdigit():
            messages.error(request, MSG_NO_PRICE)
            return _back(workflow)
        try:
            model_price_delete(workflow=workflow, actor=request.user, price_id=int(price_id))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, MSG_DELETED)
        return _back(workflow)
    messages.error(request, MSG_UNKNOWN_ACTION)
    return _back(workflow)

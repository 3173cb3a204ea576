"""Declaring the price of a model version, per 1,000 input and output tokens (issue 18 §3).

A price is in force from its `valid_from` day until the next price of the same model version:
declaring a new price from a later day keeps every earlier day's cost as it was. Declaring a
price for a day that already has one replaces it (and says so in the activity log). Costs are
read from the rollups with the prices in force (rollout.selectors.costs), so a declaration
re-costs the days it covers at once; the thresholds are evaluated again after commit.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from core.errors import ApplicationError
from core.text import has_line_breaks_or_controls
from core.wake import wake
from rollout.models import ModelPrice, Workflow
from rollout.services.activity import activity_record

MAX_PRICE_PER_1K = Decimal("100000")
MSG_VERSION_REQUIRED = "Name the model version the price is for, as the events report it."
MSG_VERSION_LENGTH = "A model version has at most 80 characters."
MSG_VERSION_CONTROL = "A model version is one line of text, without control characters."
MSG_PRICE_NEGATIVE = "A price cannot be negative."
MSG_PRICE_TOO_HIGH = "A price per 1,000 tokens is at most 100,000."
MSG_PRICE_PLACES = "A price has at most 6 decimal places."
MSG_PRICE_GONE = "That price was already deleted."


def _check_price(value: Decimal, field: str) -> None:
    if not value.is_finite() or value < 0:
        raise ApplicationError(MSG_PRICE_NEGATIVE, field=field)
    if value > MAX_PRICE_PER_1K:
        raise ApplicationError(MSG_PRICE_TOO_HIGH, field=field)
    if value != value.quantize(Decimal("0.000001")):
        raise ApplicationError(MSG_PRICE_PLACES, field=field)


def _price_text(price: ModelPrice) -> str:
    per_input, per_output = price.input_per_1k.normalize(), price.output_per_1k.normalize()
    return f"{per_input:f} in / {per_output:f} out per 1,000 tokens"


@transaction.atomic
def model_price_declare(
    *,
    workflow: Workflow,
    actor: User,
    model_version: str,
    valid_from: date,
    input_per_1k: Decimal,
    output_per_1k: Decimal,
) -> ModelPrice:
    """Declare (or replace) the price of `model_version` from `valid_from`."""
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    version = model_version.strip()
    if not version:
        raise ApplicationError(MSG_VERSION_REQUIRED, field="model_version")
    if len(version) > 80:
        raise ApplicationError(MSG_VERSION_LENGTH, field="model_version")
    if has_line_breaks_or_controls(version):
        raise ApplicationError(MSG_VERSION_CONTROL, field="model_version")
    _check_price(input_per_1k, "input_per_1k")
    _check_price(output_per_1k, "output_per_1k")
    price = ModelPrice.objects.filter(
        workflow=workflow, model_version=version, valid_from=valid_from
    ).first()
    before = _price_text(price) if price is not None else ""
    if price is None:
        price = ModelPrice(workflow=workflow, model_version=version, valid_from=valid_from)
    price.input_per_1k, price.output_per_1k, price.declared_by = input_per_1k, output_per_1k, actor
    try:
        price.full_clean(exclude=["workflow", "declared_by"], validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc
    price.save()
    after = _price_text(price)
    if before == after:
        return price
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="changed model price" if before else "declared model price",
        target=f"{version} from {valid_from.isoformat()}",
        changes={"price": [before or "—", after]},
    )
    wake("rollout.tasks.evaluate_workflow", workflow.pk)
    return price


@transaction.atomic
def model_price_delete(*, workflow: Workflow, actor: User, price_id: int) -> None:
    """Delete one of the workflow's prices: the days it covered take the price before it, or
    have no known cost."""
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    price = ModelPrice.objects.filter(workflow=workflow, pk=price_id).first()
    if price is None:
        raise ApplicationError(MSG_PRICE_GONE)
    target = f"{price.model_version} from {price.valid_from.isoformat()}"
    changes = {"price": [_price_text(price), "—"]}
    price.delete()
    activity_record(
        workflow=workflow, actor=actor, verb="deleted model price", target=target, changes=changes
    )
    wake("rollout.tasks.evaluate_workflow", workflow.pk)

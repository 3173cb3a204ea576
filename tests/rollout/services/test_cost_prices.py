"""Declaring model prices (rollout.services.cost_prices) and cost thresholds
(rollout.services.thresholds): what is refused, in words, with nothing written; what is logged."""

import datetime
from decimal import Decimal

import pytest

from accounts.models import ORGANISATION_PK, Organisation
from core.errors import ApplicationError
from rollout.models import ActivityEntry, Metric, ModelPrice, Threshold
from rollout.selectors.thresholds import threshold_sentence
from rollout.services import cost_prices as svc
from rollout.services import thresholds as threshold_services
from tests.factories import make_workflow

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 1)


def declare(workflow, actor, **overrides):
    values = {
        "model_version": "2025-04-14",
        "valid_from": DAY,
        "input_per_1k": Decimal("0.0018"),
        "output_per_1k": Decimal("0.0072"),
    }
    return svc.model_price_declare(workflow=workflow, actor=actor, **(values | overrides))


def test_a_price_is_declared_and_logged(workflow, workflow_owner):
    price = declare(workflow, workflow_owner)
    assert (price.model_version, price.valid_from, price.declared_by) == (
        "2025-04-14",
        DAY,
        workflow_owner,
    )
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.verb, entry.target, entry.changes) == (
        "declared model price",
        "2025-04-14 from 2026-11-01",
        {"price": ["—", "0.0018 in / 0.0072 out per 1,000 tokens"]},
    )


def test_the_same_day_again_replaces_the_price_and_says_so(workflow, workflow_owner):
    declare(workflow, workflow_owner)
    declare(workflow, workflow_owner, input_per_1k=Decimal("0.002"))
    assert ModelPrice.objects.get().input_per_1k == Decimal("0.002")
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert entry.verb == "changed model price"
    assert entry.changes == {
        "price": [
            "0.0018 in / 0.0072 out per 1,000 tokens",
            "0.002 in / 0.0072 out per 1,000 tokens",
        ]
    }
    count = ActivityEntry.objects.count()
    declare(workflow, workflow_owner, input_per_1k=Decimal("0.002"))  # no change: no entry
    assert ActivityEntry.objects.count() == count


def test_a_later_day_is_a_new_price(workflow, workflow_owner):
    declare(workflow, workflow_owner)
    declare(workflow, workflow_owner, valid_from=DAY + datetime.timedelta(days=30))
    assert ModelPrice.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"model_version": "  "}, "model_version", svc.MSG_VERSION_REQUIRED),
        ({"model_version": "x" * 81}, "model_version", svc.MSG_VERSION_LENGTH),
        ({"model_version": "v1\nv2"}, "model_version", svc.MSG_VERSION_CONTROL),
        ({"input_per_1k": Decimal("-0.01")}, "input_per_1k", svc.MSG_PRICE_NEGATIVE),
        ({"output_per_1k": Decimal("NaN")}, "output_per_1k", svc.MSG_PRICE_NEGATIVE),
        ({"output_per_1k": Decimal("Infinity")}, "output_per_1k", svc.MSG_PRICE_NEGATIVE),
        ({"input_per_1k": Decimal("100000.01")}, "input_per_1k", svc.MSG_PRICE_TOO_HIGH),
        ({"input_per_1k": Decimal("0.0000001")}, "input_per_1k", svc.MSG_PRICE_PLACES),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    workflow, workflow_owner, overrides, field, message
):
    before = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        declare(workflow, workflow_owner, **overrides)
    assert (exc.value.field, exc.value.message) == (field, message)
    assert not ModelPrice.objects.exists()
    assert ActivityEntry.objects.count() == before


def test_delete_is_logged_and_a_second_delete_is_refused(workflow, workflow_owner, ops_leader):
    price = declare(workflow, workflow_owner)
    svc.model_price_delete(workflow=workflow, actor=ops_leader, price_id=price.pk)
    assert not ModelPrice.objects.exists()
    assert ActivityEntry.objects.filter(workflow=workflow).first().verb == "deleted model price"
    with pytest.raises(ApplicationError, match="already deleted"):
        svc.model_price_delete(workflow=workflow, actor=ops_leader, price_id=price.pk)


def test_another_workflows_price_cannot_be_deleted(workflow, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader)
    price = declare(other, workflow_owner)
    with pytest.raises(ApplicationError):
        svc.model_price_delete(workflow=workflow, actor=ops_leader, price_id=price.pk)
    assert ModelPrice.objects.filter(pk=price.pk).exists()


# --- Cost thresholds ---------------------------------------------------------------------------

THRESHOLD = {
    "metric": Metric.DAILY_COST,
    "comparator": "lte",
    "limit": 200.0,
    "marginal_limit": None,
    "window_days": 7,
    "min_sample": 100,
    "scope": "workflow",
    "bad_output": "A day that costs more than the budget.",
    "action": "block_promotion",
}


def test_a_budget_reads_in_the_organisations_currency(workflow, ops_leader):
    threshold = threshold_services.threshold_create(
        workflow=workflow, actor=ops_leader, **THRESHOLD
    )
    assert threshold_sentence(threshold) == (
        "Daily cost at most €200.00 on its highest day over 7 days, min 100 cases, whole "
        "workflow → block promotion"
    )
    Organisation.objects.update_or_create(pk=ORGANISATION_PK, defaults={"currency": "CHF"})
    assert threshold_sentence(threshold).startswith("Daily cost at most 200.00 CHF")
    per_output = threshold_services.threshold_create(
        workflow=workflow,
        actor=ops_leader,
        **(THRESHOLD | {"metric": Metric.COST_PER_ACCEPTED_OUTPUT, "limit": 0.05}),
    )
    assert threshold_sentence(per_output, "USD").startswith(
        "Cost per accepted output at most $0.05"
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"comparator": "gte"}, "comparator", threshold_services.MSG_COST_AT_MOST),
        ({"limit": -1.0}, "limit", threshold_services.MSG_COST_NEGATIVE),
        ({"marginal_limit": 150.0}, "marginal_limit", threshold_services.MSG_MARGINAL_AT_MOST),
    ],
)
def test_a_cost_threshold_is_a_budget(workflow, ops_leader, overrides, field, message):
    with pytest.raises(ApplicationError) as exc:
        threshold_services.threshold_create(
            workflow=workflow, actor=ops_leader, **(THRESHOLD | overrides)
        )
    assert (exc.value.field, exc.value.message) == (field, message)
    assert not Threshold.objects.exists()

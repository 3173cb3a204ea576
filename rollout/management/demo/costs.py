"""What the demo AI costs (issue 18 §3), for `seed_demo`.

* Every demo invocation reports its tokens (`demo_cost_attrs`, called by
  rollout.management.demo.usage): a size per workflow, varied by a hash of the event's name rather
  than the usage's random generator, so every other demo story stays exactly as it was. Invoice
  coding's gateway reports `attrs.cost` itself instead; the support outsourcing partner's tool
  runs a model version nobody priced, so some shadow-mode events have no known cost.
* The owners declare prices for the model versions (`demo_costs_seed`): Contract clause review's
  list price, then a negotiated one from 45 days ago, so the cost per accepted output drops.
* Contract clause review's usage starts with its shadow mode, under three months ago: its data
  audit ran a pilot on last year's contracts from 90 days ago (a paralegal, no cohort), so its
  cost per accepted output spans three months.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from rollout.models import EventKind, ModelPrice, Phase, PhaseKind, Workflow
from rollout.services.cost_prices import model_price_declare
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import EventData, usage_events_store

PILOT_NAMESPACE = uuid.UUID("9b0c6a4e-2f1d-5e3c-8a7b-6d5e4f3a2b1c")
PILOT_DAYS = 90
PILOT_PERSON = "clm:paralegal-02"
UNPRICED_VERSION = "gpt-4.1-mini"  # the outsourcing partner's tool, which nobody priced


@dataclass(frozen=True)
class Size:
    """An invocation's tokens: input around `input_tokens`, output proportional to latency."""

    input_tokens: int
    output_per_second: int
    reports_cost: Decimal | None = None  # per 1,000 tokens, when the gateway reports attrs.cost


SIZES = {
    "support-reply-drafting": Size(input_tokens=1800, output_per_second=380),
    "invoice-coding": Size(
        input_tokens=2600, output_per_second=160, reports_cost=Decimal("0.0024")
    ),
    "contract-clause-review": Size(input_tokens=12000, output_per_second=600),
}

# (workflow, model version, days before today it applies from, per 1,000 input, per 1,000 output)
PRICES = (
    ("support-reply-drafting", "2025-04-14", 100, "0.0018", "0.0072"),
    ("contract-clause-review", "2025-08-05", 120, "0.0140", "0.0690"),
    ("contract-clause-review", "2025-08-05", 45, "0.0112", "0.0552"),
)


def _share(name: str, salt: str) -> float:
    """A number in [0, 1) from the event's name: the same every run, no random generator."""
    digest = hashlib.sha256(f"{salt}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def demo_cost_attrs(slug: str, name: str, latency_ms: int, *, stranger: bool) -> dict:
    """The cost attrs of the demo invocation named `name` (none for a workflow without a size)."""
    size = SIZES.get(slug)
    if size is None:
        return {}
    tokens_in = round(size.input_tokens * (0.7 + 0.6 * _share(name, "in")))
    tokens_out = max(20, round(size.output_per_second * latency_ms / 1000))
    if size.reports_cost is not None:
        cost = (tokens_in + 4 * tokens_out) * size.reports_cost / 1000
        return {"cost": float(round(cost, 6))}
    attrs = {"input_tokens": tokens_in, "output_tokens": tokens_out}
    if stranger and slug == "support-reply-drafting":
        attrs["model_version"] = UNPRICED_VERSION
    return attrs


def _pilot_events(workflow: Workflow, now: datetime, scale: float) -> list[EventData]:
    """Contract clause review's pilot during its data audit: from PILOT_DAYS days ago to the
    start of shadow mode, a paralegal runs a dozen of last year's contracts a weekday through it
    and keeps, edits or rewrites the suggestions."""
    shadow = Phase.objects.filter(workflow=workflow, kind=PhaseKind.SHADOW).first()
    if shadow is None or shadow.actual_start is None:
        return []
    day = timezone.localdate(now) - timedelta(days=PILOT_DAYS)
    events: list[EventData] = []
    per_day = max(1, round(12 * scale))
    while True:
        opening = timezone.make_aware(datetime.combine(day, time(9)))
        if opening >= shadow.actual_start:
            return events
        if day.weekday() < 5:
            for n in range(per_day):
                name = f"pilot/{day.isoformat()}/{n}"
                at = opening + timedelta(minutes=25 * n)
                latency = 1400 + round(900 * _share(name, "latency"))
                attrs = demo_cost_attrs(workflow.slug, name, latency, stranger=True)
                attrs["record"] = f"CLM-{10_000 + int(90_000 * _share(name, 'record'))}"
                decided = _share(name, "kind")
                kind = (
                    EventKind.ACCEPTED
                    if decided < 0.5
                    else EventKind.EDITED
                    if decided < 0.85
                    else EventKind.OVERRIDDEN
                )
                for what, when, extra in (
                    (EventKind.INVOCATION, at, {"latency_ms": latency, "attrs": attrs}),
                    (kind, at + timedelta(minutes=12), {"attrs": {"record": attrs["record"]}}),
                ):
                    events.append(
                        EventData(
                            event_id=uuid.uuid5(PILOT_NAMESPACE, f"{name}/{what}"),
                            user_ref=PILOT_PERSON,
                            kind=what,
                            occurred_at=when,
                            **extra,
                        )
                    )
        day += timedelta(days=1)


@dataclass(frozen=True)
class SeededCosts:
    prices: int
    pilot_events: int  # Contract clause review's pilot during its data audit


def demo_costs_seed(
    *, workflows: list[Workflow], users: dict[str, User], now: datetime, scale: float
) -> SeededCosts:
    """Declare the demo prices and store the pilot, for the demo workflows that have no price
    yet."""
    today: date = timezone.localdate(now)
    by_slug = {w.slug: w for w in workflows}
    priced = set(
        ModelPrice.objects.filter(workflow__in=workflows).values_list("workflow_id", flat=True)
    )
    declared = stored = 0
    pilot = by_slug.get("contract-clause-review")
    if pilot is not None and pilot.pk not in priced and scale:
        events = _pilot_events(pilot, now, scale)
        if events:
            stored = usage_events_store(workflow=pilot, events=events).accepted
            usage_refresh_pending()
    for slug, version, days_ago, per_input, per_output in PRICES:
        workflow = by_slug.get(slug)
        if workflow is None or workflow.pk in priced:
            continue
        model_price_declare(
            workflow=workflow,
            actor=users.get(workflow.owner.email, workflow.owner),
            model_version=version,
            valid_from=today - timedelta(days=days_ago),
            input_per_1k=Decimal(per_input),
            output_per_1k=Decimal(per_output),
        )
        declared += 1
    return SeededCosts(prices=declared, pilot_events=stored)

"""Promotion gates: named conditions, each evaluated to pass / marginal / fail / insufficient data
with a reason a person can read.

Conditions register themselves per target phase with `@gate_condition(...)`; this module knows none
of them. The conditions live beside it in rollout/gates/ (planning, metrics, notices,
escalations), each registering itself the same way; importing `rollout.gates` loads them all.

Each condition also returns `inputs`: a stable text of the data it judged. The gate's
`fingerprint` digests the inputs of all conditions (not their verdicts, and not the clock), so an
approval given against one set of inputs lapses when any of them changes, while a condition that
merely starts passing with time (a minimum duration) does not invalidate it.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from rollout.models import IN_PROGRESS, PHASE_ORDER, Phase, Verdict, Workflow


@dataclass(frozen=True)
class GateContext:
    workflow: Workflow
    from_phase: Phase
    to_phase: Phase
    now: datetime


@dataclass(frozen=True)
class Outcome:
    """What a condition function returns."""

    status: Verdict
    reason: str
    inputs: str = ""


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    status: Verdict
    reason: str
    inputs: str = ""

    @property
    def passed(self) -> bool:
        return self.status == Verdict.PASS


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Checklist:
    """What a gate's checklist says as a whole, for a promotion's Gate and a review-level
    change's (rollout.gates.autonomy.LadderGate): subclasses hold `checks` and name what the
    checklist is about in `_identity`."""

    checks: list[Check]

    def _identity(self) -> list:
        raise NotImplementedError

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def blocking(self) -> list[Check]:
        """What stands in the way (failing first, then marginal, then without enough data)."""
        order = {Verdict.FAIL: 0, Verdict.MARGINAL: 1}
        return sorted(
            (check for check in self.checks if not check.passed),
            key=lambda check: order.get(check.status, 2),
        )

    @property
    def passing(self) -> list[Check]:
        return [check for check in self.checks if check.passed]

    @property
    def fingerprint(self) -> str:
        material = self._identity() + [[c.key, c.inputs] for c in self.checks]
        return hashlib.sha256(json.dumps(material).encode()).hexdigest()

    def snapshot(self) -> list[dict[str, str]]:
        """The checklist as stored with a request (JSON), with a digest of each condition's
        inputs so that `changed_since` can say which changed."""
        return [
            {
                "key": c.key,
                "label": c.label,
                "status": str(c.status),
                "reason": c.reason,
                "inputs": _digest(c.inputs),
            }
            for c in self.checks
        ]

    def changed_since(self, snapshot: list[dict[str, str]]) -> list[str]:
        """The labels of the conditions whose inputs differ from a stored `snapshot`'s."""
        before = {item["key"]: item.get("inputs") for item in snapshot}
        return [c.label for c in self.checks if before.get(c.key) != _digest(c.inputs)]


@dataclass(frozen=True)
class Gate(Checklist):
    from_phase: Phase
    to_phase: Phase
    checks: list[Check] = field(default_factory=list)

    def _identity(self) -> list:
        return [self.from_phase.pk, self.to_phase.pk]


ConditionFn = Callable[[GateContext], Outcome]


@dataclass(frozen=True)
class _Registered:
    key: str
    label: str
    fn: ConditionFn


_REGISTRY: dict[str, list[_Registered]] = {kind: [] for kind in PHASE_ORDER}


def gate_condition(*to_kinds: str, key: str, label: str) -> Callable[[ConditionFn], ConditionFn]:
    """Register a condition for promotions into each of `to_kinds` (e.g. "limited")."""

    def register(fn: ConditionFn) -> ConditionFn:
        for kind in to_kinds:
            entries = _REGISTRY[kind]
            # Re-registering the same key (a reloaded module) replaces, never duplicates.
            entries[:] = [e for e in entries if e.key != key] + [_Registered(key, label, fn)]
        return fn

    return register


def registered_conditions(to_kind: str) -> list[tuple[str, str]]:
    return [(e.key, e.label) for e in _REGISTRY[to_kind]]


def gate_for(*, from_phase: Phase, to_phase: Phase, now: datetime | None = None) -> Gate:
    ctx = GateContext(
        workflow=from_phase.workflow,
        from_phase=from_phase,
        to_phase=to_phase,
        now=now or timezone.now(),
    )
    checks = []
    for entry in _REGISTRY[to_phase.kind]:
        outcome = entry.fn(ctx)
        checks.append(Check(entry.key, entry.label, outcome.status, outcome.reason, outcome.inputs))
    return Gate(from_phase=from_phase, to_phase=to_phase, checks=checks)


def next_phases(workflow: Workflow) -> tuple[Phase, Phase] | None:
    """(the phase in progress, the phase after it), or None when there is no next promotion."""
    phases = list(workflow.phases.all())
    current = next((p for p in phases if p.status in IN_PROGRESS), None)
    if current is None:
        return None
    following = [p for p in phases if p.position == current.position + 1]
    return (current, following[0]) if following else None


def gate_next(workflow: Workflow, *, now: datetime | None = None) -> Gate | None:
    """The gate of the workflow's next promotion, or None (no plan, or already steady)."""
    pair = next_phases(workflow)
    if pair is None:
        return None
    return gate_for(from_phase=pair[0], to_phase=pair[1], now=now)

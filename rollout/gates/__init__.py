"""Promotion gates: the registry and every condition registered with it.

Importing this package registers all conditions, so a caller that asks for a gate through it
always gets the complete set, whichever module imported it first.
"""

from rollout.gates import (  # noqa: F401  (registration)
    escalations,
    metrics,
    notices,
    planning,
    sources,
)
from rollout.gates.registry import (
    Check,
    Gate,
    GateContext,
    Outcome,
    gate_for,
    gate_next,
    next_phases,
    registered_conditions,
)

__all__ = [
    "Check",
    "Gate",
    "GateContext",
    "Outcome",
    "gate_for",
    "gate_next",
    "next_phases",
    "registered_conditions",
]

"""The escalation condition of the promotion gates (PRODUCT.md rule 3), registered with
rollout.gates.registry: an open escalation at the highest severity blocks promotion into broad
and steady.

`inputs` are the ids and statuses of those escalations, so an approval lapses when one is opened,
acknowledged or resolved.
"""

from rollout.gates.registry import GateContext, Outcome, gate_condition
from rollout.models import PhaseKind, Verdict
from rollout.selectors.escalations import escalation_list_open_critical

MSG_NONE = "No critical escalation is open."
MSG_OPEN = "{count} critical escalation{s} open: {titles}. Resolve {them} first."


@gate_condition(
    PhaseKind.BROAD,
    PhaseKind.STEADY,
    key="no_open_critical_escalation",
    label="No open critical escalation",
)
def no_open_critical_escalation(ctx: GateContext) -> Outcome:
    rows = escalation_list_open_critical(ctx.workflow)
    inputs = "; ".join(f"{pk}|{status}" for pk, status, _ in rows)
    if not rows:
        return Outcome(Verdict.PASS, MSG_NONE, inputs)
    titles = ", ".join(f"“{title}” ({status})" for _, status, title in rows)
    many = len(rows) != 1
    reason = MSG_OPEN.format(
        count=len(rows), s="s" if many else "", titles=titles, them="them" if many else "it"
    )
    return Outcome(Verdict.FAIL, reason, inputs)

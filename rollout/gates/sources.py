"""Data-source health gate conditions (issue 17 §1), registered with rollout.gates.

A live source feeds the AI in production: a roll-out must not widen while one is stale or silent,
and must not enter shadow before every live source has shown, at least once, that it reports.
`inputs` is each live source's key and observed state: an approval lapses when a source's state
changes, not merely because time passed.
"""

from rollout.gates.registry import GateContext, Outcome, gate_condition
from rollout.models import UNHEALTHY_STATES, PhaseKind, SourceState, Verdict
from rollout.selectors.source_health import SourceHealth, live_source_list, source_health_at

PASS, FAIL = Verdict.PASS, Verdict.FAIL

MSG_NEVER_REPORTED = (
    "{names} {verb} never reported: call POST /api/v1/sources/<key>/heartbeat "
    "(key: {keys}) or send input_ok events. A heartbeat is enough."
)
MSG_ALL_REPORTED = "Every live data source has reported ({count})."
MSG_NO_LIVE = "No live data source is listed."
MSG_ALL_FRESH = "No live data source is stale or silent ({count} checked)."


def _live(ctx: GateContext) -> list[SourceHealth]:
    return [source_health_at(source, ctx.now) for source in live_source_list(ctx.workflow)]


def _inputs(rows: list[SourceHealth]) -> str:
    return "; ".join(f"{row.source.pk}|{row.source.key}|{row.state}" for row in rows)


@gate_condition(PhaseKind.SHADOW, key="live_sources_reported", label="Live data sources reporting")
def live_sources_reported(ctx: GateContext) -> Outcome:
    rows = _live(ctx)
    inputs = "; ".join(
        f"{row.source.pk}|{row.source.key}|{row.state != SourceState.NEVER_REPORTED}"
        for row in rows
    )
    if not rows:
        return Outcome(PASS, MSG_NO_LIVE, inputs)
    never = [row.source for row in rows if row.state == SourceState.NEVER_REPORTED]
    if never:
        names = ", ".join(f"“{s.name}”" for s in never)
        keys = ", ".join(s.key for s in never)
        verb = "has" if len(never) == 1 else "have"
        return Outcome(FAIL, MSG_NEVER_REPORTED.format(names=names, verb=verb, keys=keys), inputs)
    return Outcome(PASS, MSG_ALL_REPORTED.format(count=len(rows)), inputs)


@gate_condition(
    PhaseKind.LIMITED,
    PhaseKind.BROAD,
    PhaseKind.STEADY,
    key="live_sources_fresh",
    label="Live data sources fresh",
)
def live_sources_fresh(ctx: GateContext) -> Outcome:
    rows = _live(ctx)
    inputs = _inputs(rows)
    flagged = [row for row in rows if row.state in UNHEALTHY_STATES]
    if flagged:
        return Outcome(FAIL, " ".join(row.reason for row in flagged), inputs)
    if not rows:
        return Outcome(PASS, MSG_NO_LIVE, inputs)
    return Outcome(PASS, MSG_ALL_FRESH.format(count=len(rows)), inputs)

"""The change-notice condition of the promotion gates (PRODUCT.md rule 3 and rule 5), registered
with rollout.gates.registry: the cohorts a promotion enrols heard about it at least the
workflow's lead time before it runs.

Into limited it judges the cohorts enrolled at limited; into broad those newly enrolled at broad.
A notice reaches a cohort when it names it or goes to everyone in scope. An urgent notice an ops
leader approved counts once published and effective (rule 5 allows it, marked urgent).

`inputs` are the published notices that reach the cohorts (id and status), never the clock: an
approval lapses when a notice is published, not as the lead time runs out.
"""

from datetime import datetime

from core.time_zones import format_instant
from rollout.gates.registry import GateContext, Outcome, gate_condition
from rollout.models import ChangeNotice, Cohort, NoticeStatus, PhaseKind, Verdict
from rollout.selectors.notices import notice_lead_time, notices_covering

MSG_NO_COHORTS = "No cohort is enrolled at the {phase}, so nobody needs a notice yet."
MSG_PASS = "Notices published in time for {names}."
MSG_LACKING = (
    "No notice published at least {days} days ahead for {names}. The earliest this promotion "
    "can run is {earliest}{how}."
)
HOW_NONE = ", if a notice to them is published today"
HOW_SCHEDULED = ", counting from the notices already published or scheduled"


def _day(at: datetime) -> str:
    return format_instant(at)


def _in_time(notice: ChangeNotice, ctx: GateContext) -> bool:
    if notice.status != NoticeStatus.PUBLISHED or notice.published_at is None:
        return False
    if notice.published_at + notice_lead_time(ctx.workflow) <= ctx.now:
        return True
    return notice.urgent and notice.approved_at is not None and notice.effective_at <= ctx.now


def _earliest(notices: list[ChangeNotice], ctx: GateContext) -> tuple[datetime, bool]:
    """When the lead time after this cohort's soonest notice (published or scheduled) runs out,
    or after publishing one now; and whether a notice exists to make that date."""
    lead = notice_lead_time(ctx.workflow)
    starts = [n.published_at or n.publish_at for n in notices]
    if not starts:
        return ctx.now + lead, False
    return max(min(starts), ctx.now - lead) + lead, True


def _outcome(ctx: GateContext, kind: str) -> Outcome:
    cohorts = list(
        Cohort.objects.filter(workflow=ctx.workflow, enrolled_phase=kind).order_by("name", "pk")
    )
    statuses = (NoticeStatus.PUBLISHED, NoticeStatus.SCHEDULED)
    covering = notices_covering(ctx.workflow, [c.pk for c in cohorts], statuses)
    published = sorted(
        {n.pk for ns in covering.values() for n in ns if n.status == NoticeStatus.PUBLISHED}
    )
    inputs = "; ".join(f"{pk}|{NoticeStatus.PUBLISHED}" for pk in published)
    phase = "limited roll-out" if kind == PhaseKind.LIMITED else "broad roll-out"
    if not cohorts:
        return Outcome(Verdict.PASS, MSG_NO_COHORTS.format(phase=phase), inputs)
    lacking = [c for c in cohorts if not any(_in_time(n, ctx) for n in covering[c.pk])]
    names = ", ".join(f"“{c.name}”" for c in (lacking or cohorts))
    if not lacking:
        return Outcome(Verdict.PASS, MSG_PASS.format(names=names), inputs)
    dates = [_earliest(covering[c.pk], ctx) for c in lacking]
    earliest, has_notice = max(dates)
    how = HOW_SCHEDULED if has_notice else HOW_NONE
    reason = MSG_LACKING.format(
        days=ctx.workflow.lead_time_days, names=names, earliest=_day(earliest), how=how
    )
    return Outcome(Verdict.FAIL, reason, inputs)


@gate_condition(PhaseKind.LIMITED, key="notice_published", label="Change notice published in time")
def notice_published(ctx: GateContext) -> Outcome:
    return _outcome(ctx, PhaseKind.LIMITED)


@gate_condition(
    PhaseKind.BROAD, key="notice_published_broad", label="Change notice published in time"
)
def notice_published_broad(ctx: GateContext) -> Outcome:
    return _outcome(ctx, PhaseKind.BROAD)

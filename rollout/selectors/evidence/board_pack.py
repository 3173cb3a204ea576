"""The board pack: one printed page per workflow with its phase, owner, health, adoption and the
quarter's evidence. A fixed number of queries for any number of workflows: health (three), adoption
(three), the quarter's timeline rows (one) and each present kind's load."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from rollout.lib.numbers import format_count
from rollout.models import Workflow
from rollout.selectors.evidence.entries import EvidenceEntry
from rollout.selectors.evidence.kinds import KINDS
from rollout.selectors.evidence.timeline import EvidenceScope, evidence_entries, evidence_rows
from rollout.selectors.health import Health, workflow_health
from rollout.selectors.portfolio import ADOPTION_DAYS
from rollout.selectors.usage import usage_totals_by_workflow

# A printed page holds about this many entries; the rest are counted and left to /evidence/.
ENTRIES_PER_PAGE = 8


@dataclass
class BoardPage:
    workflow: Workflow
    health: Health
    adoption: float | None
    adoption_text: str
    entries: list[EvidenceEntry] = field(default_factory=list)
    more: int = 0  # the quarter's older entries left out
    # The quarter's entries by kind: (label, count), in the registry's order, kinds present only.
    counts: list[tuple[str, int]] = field(default_factory=list)


def board_pack(
    workflows: list[Workflow], *, start: datetime, end: datetime, adoption_end: date
) -> list[BoardPage]:
    """A page per workflow (in the given order) with the evidence of [start, end), the newest
    ENTRIES_PER_PAGE of it in full, and adoption over the ADOPTION_DAYS days to `adoption_end`."""
    ids = [w.pk for w in workflows]
    if not ids:
        return []
    health = workflow_health(ids)
    totals = usage_totals_by_workflow(
        ids, start=adoption_end - timedelta(days=ADOPTION_DAYS - 1), end=adoption_end
    )
    rows_by_workflow = defaultdict(list)
    for row in evidence_rows(EvidenceScope(workflow_ids=tuple(ids), start=start, end=end)):
        rows_by_workflow[row[1]].append(row)
    shown = [row for rows in rows_by_workflow.values() for row in rows[:ENTRIES_PER_PAGE]]
    entries_by_workflow = defaultdict(list)
    for entry in evidence_entries(shown):
        entries_by_workflow[entry.workflow.pk].append(entry)
    pages = []
    for workflow in workflows:
        total = totals.get(workflow.pk, {"active_users": 0, "members": 0})
        members, active = total["members"], min(total["active_users"], total["members"])
        rows = rows_by_workflow.get(workflow.pk, [])
        counts: dict[str, int] = defaultdict(int)
        for row in rows:
            counts[row[0]] += 1
        pages.append(
            BoardPage(
                workflow=workflow,
                health=health[workflow.pk],
                adoption=active / members if members else None,
                adoption_text=(
                    f"{format_count(active)} of {format_count(members)} members active"
                    if members
                    else "No cohort members yet"
                ),
                entries=entries_by_workflow.get(workflow.pk, []),
                more=max(len(rows) - ENTRIES_PER_PAGE, 0),
                counts=[(k.label, counts[k.key]) for k in KINDS if counts.get(k.key)],
            )
        )
    return pages

"""The cohorts page's part of the autonomy ladder: each cohort's review level and its pending
request for less review, with the gate's checklist as it stood when requested (the cohort's own
review-level page, rollout.views.cohort_review_level, checks it live). Two queries for all the
cohorts of the page."""

from dataclasses import dataclass, field

from rollout.models import Cohort, Verdict, Workflow
from rollout.selectors.autonomy import autonomy_pending_by_cohort


@dataclass(frozen=True)
class SnapshotCheck:
    key: str
    label: str
    status: str
    reason: str

    @property
    def passed(self) -> bool:
        return self.status == Verdict.PASS


@dataclass(frozen=True)
class SnapshotGate:
    """A stored gate checklist (AutonomyRequest.gate_snapshot) with a live gate's shape, for
    templates/rollout/_gate_checks.html."""

    checks: list[SnapshotCheck] = field(default_factory=list)

    @classmethod
    def of(cls, snapshot: list[dict[str, str]]) -> "SnapshotGate":
        return cls(
            [SnapshotCheck(i["key"], i["label"], i["status"], i["reason"]) for i in snapshot]
        )

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def blocking(self) -> list[SnapshotCheck]:
        return [check for check in self.checks if not check.passed]

    @property
    def passing(self) -> list[SnapshotCheck]:
        return [check for check in self.checks if check.passed]


def cohort_review_attach(workflow: Workflow, cohorts: list[Cohort]) -> None:
    """Set `review_pending` (the pending request or None) and `review_gate` on each cohort."""
    pending = autonomy_pending_by_cohort(workflow)
    for cohort in cohorts:
        request = pending.get(cohort.pk)
        cohort.review_pending = request
        cohort.review_gate = SnapshotGate.of(request.gate_snapshot) if request else None

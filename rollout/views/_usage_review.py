"""The usage page's reviewed error rate (issue 18 §2): (wrong + harmful) ÷ graded sampled outputs
over the period shown, for the workflow and each cohort shown, with its 95% Wilson interval. Two
queries (rollout.selectors.output_reviews), whatever the number of graded outputs."""

from dataclasses import dataclass
from datetime import date

from core.dates import day_bounds
from rollout.models import Cohort, Workflow
from rollout.selectors.output_reviews import ReviewedErrorRate, reviewed_error_rates


@dataclass(frozen=True)
class UsageReview:
    rates: list[ReviewedErrorRate]

    @property
    def graded(self) -> int:
        return self.rates[0].graded if self.rates else 0


def usage_review(
    workflow: Workflow, *, start: date, end: date, cohort: Cohort | None, cohorts: list[Cohort]
) -> UsageReview:
    """The rates over the days start..end; with a cohort chosen, that cohort's only."""
    shown = [cohort] if cohort else cohorts
    rates = reviewed_error_rates(
        workflow, start=day_bounds(start)[0], end=day_bounds(end)[1], cohorts=shown
    )
    if cohort is not None:
        rates = rates[1:]  # the cohort's, not the whole workflow's
    return UsageReview(rates)

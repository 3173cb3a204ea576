"""What people say, per cohort, beside the usage page's numbers: each cohort's negative-feedback
share, its most common categories and its most recent texts over the period shown."""

from dataclasses import dataclass
from urllib.parse import urlencode

from rollout.models import Cohort
from rollout.selectors.feedback import NO_COHORT, CohortFeedback
from rollout.selectors.usage import NOT_IN_A_COHORT, UsageGroup
from rollout.views._usage_tables import negative_share_text


@dataclass(frozen=True)
class CohortVoice:
    label: str
    cohort: Cohort | None
    feedback: CohortFeedback

    @property
    def negative_text(self) -> str:
        return negative_share_text(self.feedback)

    @property
    def link_text(self) -> str:
        who = self.cohort.name if self.cohort else "people in no cohort"
        return f"All feedback from {who}"

    @property
    def triage_query(self) -> str:
        """The feedback page's filters for this cohort's feedback, whatever its status."""
        cohort = self.cohort.pk if self.cohort else NO_COHORT
        return urlencode({"cohort": cohort, "status": ""})


def cohort_voices(
    groups: list[UsageGroup],
    feedback: dict[int | None, CohortFeedback],
    cohort: Cohort | None,
) -> list[CohortVoice]:
    """One entry per group shown (in the table's order) that has feedback in the period. People
    in no cohort count too when every cohort is shown, even if they reported no usage."""
    voices = []
    shown: set[int | None] = set()
    for s in groups:
        key = s.cohort.pk if s.cohort else None
        shown.add(key)
        if key in feedback:
            voices.append(CohortVoice(s.label, s.cohort, feedback[key]))
    if cohort is None and None not in shown and None in feedback:
        voices.append(CohortVoice(NOT_IN_A_COHORT, None, feedback[None]))
    return voices

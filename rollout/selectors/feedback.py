"""Reading feedback: the triage list, a member's own and the public status list, one item, the
open feedback of an author (home page), and the negative-feedback share per scope (thresholds,
usage page). Every list is one query whatever its size (counts are annotated, not looped)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber, TruncDate
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import OPS_LEADERS
from core.dates import day_bounds
from rollout.models import (
    OPEN_FEEDBACK,
    Cohort,
    Feedback,
    FeedbackCategory,
    FeedbackComment,
    FeedbackRating,
    FeedbackVote,
    Workflow,
)

# Scope of a count: a Cohort, NO_COHORT (people in no cohort) or ALL (the whole workflow); the
# same values as rollout.selectors.usage.
ALL = "all"
NO_COHORT = "none"
OPEN = "open"  # the status filter's default: new, acknowledged, in progress
RECENT_TEXTS = 3
TOP_CATEGORIES = 3


def feedback_url(feedback: Feedback) -> str:
    return reverse(
        "feedback_detail",
        kwargs={"slug": feedback.workflow.slug, "feedback_id": feedback.pk},
    )


def feedback_title(feedback: Feedback, words: int = 8) -> str:
    """The public title: category and the first words of the text."""
    title = feedback.get_category_display()
    first = feedback.text.split()
    if first:
        title += ": " + " ".join(first[:words]) + ("…" if len(first) > words else "")
    return title


def _annotated(queryset: QuerySet[Feedback], user: User | None = None) -> QuerySet[Feedback]:
    queryset = queryset.select_related("author", "cohort", "assignee").annotate(
        vote_count=Count("votes", distinct=True),
        comment_count=Count("comments", distinct=True),
    )
    if user is not None and user.is_authenticated:
        queryset = queryset.annotate(
            voted=Exists(FeedbackVote.objects.filter(feedback=OuterRef("pk"), user=user))
        )
    return queryset


def feedback_list_for_triage(
    workflow: Workflow,
    *,
    status: str = OPEN,
    category: str = "",
    cohort: Cohort | str | None = None,
    rating: str = "",
) -> QuerySet[Feedback]:
    """The workflow's feedback, filtered: open harmful reports first (someone may be hurt by an
    output: they cannot wait behind a slow-response complaint), then newest first. `status` is a
    status, OPEN or "" (all); `cohort` a Cohort, NO_COHORT or None (any). Each row has
    `vote_count`, `comment_count` and `urgent` (an open harmful report)."""
    queryset = Feedback.objects.filter(workflow=workflow)
    if status == OPEN:
        queryset = queryset.filter(status__in=OPEN_FEEDBACK)
    elif status:
        queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category=category)
    if rating:
        queryset = queryset.filter(rating=rating)
    if isinstance(cohort, Cohort):
        queryset = queryset.filter(cohort=cohort)
    elif cohort == NO_COHORT:
        queryset = queryset.filter(cohort__isnull=True)
    urgent = Case(
        When(category=FeedbackCategory.HARMFUL, status__in=OPEN_FEEDBACK, then=Value(True)),
        default=Value(False),
    )
    return _annotated(queryset).annotate(urgent=urgent).order_by("-urgent", "-created_at", "-id")


def feedback_list_public(workflow: Workflow, user: User) -> QuerySet[Feedback]:
    """What every member sees: open feedback that is not a merged duplicate, the most backed
    first, each with `vote_count`, `comment_count` and `voted` (by `user`)."""
    queryset = Feedback.objects.filter(
        workflow=workflow, status__in=OPEN_FEEDBACK, duplicate_of__isnull=True
    )
    return _annotated(queryset, user).order_by("-vote_count", "-created_at", "-id")


def feedback_list_by_author(workflow: Workflow, user: User) -> QuerySet[Feedback]:
    """The person's own feedback on the workflow, newest first."""
    queryset = Feedback.objects.filter(workflow=workflow, author=user)
    return _annotated(queryset, user).select_related("duplicate_of").order_by("-created_at", "-id")


def feedback_get_for_workflow(
    workflow: Workflow, feedback_id: int, user: User | None = None
) -> Feedback:
    """One item of the workflow (Feedback.DoesNotExist for another workflow's)."""
    queryset = _annotated(Feedback.objects.filter(workflow=workflow), user)
    feedback = queryset.select_related("duplicate_of").get(pk=feedback_id)
    feedback.workflow = workflow
    return feedback


def feedback_get_by_author(workflow: Workflow, author: User, feedback_id: int) -> Feedback | None:
    """One item the person gave on the workflow, or None (someone else's too)."""
    return Feedback.objects.filter(pk=feedback_id, workflow=workflow, author=author).first()


def feedback_comment_list(feedback: Feedback) -> QuerySet[FeedbackComment]:
    """The item's comments, oldest first, with their authors."""
    return FeedbackComment.objects.filter(feedback=feedback).select_related("author")


def feedback_assignee_list(workflow: Workflow) -> list[User]:
    """Who triage may assign the workflow's feedback to: its owner, the ops leaders and its
    escalation contacts, active ones only, by name. One query, whatever the list's length."""
    return list(
        User.objects.filter(
            Q(pk=workflow.owner_id)
            | Q(groups__name=OPS_LEADERS)
            | Q(escalation_levels__workflow=workflow),
            is_active=True,
        )
        .distinct()
        .order_by("display_name", "email")
    )


def feedback_list_open_for_author(user: User) -> QuerySet[Feedback]:
    """The person's feedback still open, on workflows they may still use, most recently
    changed first, each with its workflow and `vote_count`: for "my open feedback" on /."""
    if not user.is_authenticated:
        return Feedback.objects.none()
    queryset = Feedback.objects.filter(author=user, status__in=OPEN_FEEDBACK)
    return (
        queryset.select_related("workflow")
        .annotate(vote_count=Count("votes", distinct=True))
        .order_by("-updated_at", "-id")
    )


def feedback_merge_targets(workflow: Workflow, *, limit: int = 200) -> list[tuple[int, str]]:
    """(id, title) of the open feedback a duplicate may be merged into, newest first."""
    rows = Feedback.objects.filter(
        workflow=workflow, status__in=OPEN_FEEDBACK, duplicate_of__isnull=True
    ).order_by("-created_at", "-id")[:limit]
    return [(f.pk, feedback_title(f, words=6)) for f in rows.only("pk", "category", "text")]


# --- Negative-feedback share ------------------------------------------------------------------


def _bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime, bool]:
    """(start, end, end_inclusive): dates mean whole local days, start..end both included."""
    if not isinstance(start, datetime):
        start = day_bounds(start)[0]
    if not isinstance(end, datetime):
        return start, day_bounds(end)[1], False
    return start, end, True


def _window(workflow: Workflow, start: date | datetime, end: date | datetime) -> QuerySet:
    low, high, inclusive = _bounds(start, end)
    upper = Q(created_at__lte=high) if inclusive else Q(created_at__lt=high)
    return Feedback.objects.filter(upper, workflow=workflow, created_at__gte=low)


_NOT_HELPFUL = Count("pk", filter=Q(rating=FeedbackRating.NOT_HELPFUL))


def feedback_counts(
    workflow: Workflow,
    *,
    start: date | datetime,
    end: date | datetime,
    scope: Cohort | str = ALL,
) -> tuple[int, int]:
    """(not helpful, total) reports given in the window, for the whole workflow, one cohort,
    or people in no cohort. Datetimes bound the window exactly; dates mean whole days."""
    queryset = _window(workflow, start, end)
    if isinstance(scope, Cohort):
        queryset = queryset.filter(cohort=scope)
    elif scope == NO_COHORT:
        queryset = queryset.filter(cohort__isnull=True)
    row = queryset.aggregate(not_helpful=_NOT_HELPFUL, total=Count("pk"))
    return row["not_helpful"] or 0, row["total"] or 0


def feedback_measure(
    workflow: Workflow,
    *,
    start: date | datetime,
    end: date | datetime,
    scope: Cohort | str = ALL,
) -> tuple[float | None, int]:
    """(negative-feedback share, sample) for threshold evaluation; (None, 0) without feedback."""
    not_helpful, total = feedback_counts(workflow, start=start, end=end, scope=scope)
    return (not_helpful / total if total else None), total


def feedback_counts_by_day(
    workflow: Workflow, *, start: date, end: date, cohort: Cohort | None = None
) -> dict[tuple[int | None, date], tuple[int, int]]:
    """{(cohort id, local day): (not helpful, total)} for the days start..end with feedback, of
    every cohort or of one (the usage CSV). One query whatever the range and the data size."""
    queryset = _window(workflow, start, end)
    if cohort is not None:
        queryset = queryset.filter(cohort=cohort)
    day = TruncDate("created_at", tzinfo=timezone.get_current_timezone())
    rows = (
        queryset.annotate(day=day)
        .values("cohort_id", "day")
        .annotate(not_helpful=_NOT_HELPFUL, total=Count("pk"))
        .order_by()
    )
    return {(r["cohort_id"], r["day"]): (r["not_helpful"], r["total"]) for r in rows}


@dataclass
class CohortFeedback:
    """Feedback of one cohort (None: people in no cohort) over a period."""

    cohort_id: int | None
    not_helpful: int = 0
    total: int = 0
    top_categories: list[tuple[str, int]] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)

    @property
    def negative_share(self) -> float | None:
        return self.not_helpful / self.total if self.total else None


def feedback_summary_by_cohort(
    workflow: Workflow, start: date | datetime, end: date | datetime
) -> dict[int | None, CohortFeedback]:
    """{cohort id (None: no cohort): CohortFeedback} for cohorts with feedback in the period:
    the negative share, the most common categories (label, count) and the most recent texts.
    Two queries whatever the data size: the counts per cohort and category (a cohort's totals
    are their sums), and the texts (one query when the period has no feedback)."""
    window = _window(workflow, start, end)
    summary: dict[int | None, CohortFeedback] = {}
    by_category: dict[int | None, list[tuple[int, str]]] = defaultdict(list)
    for row in (
        window.values("cohort_id", "category")
        .annotate(not_helpful=_NOT_HELPFUL, n=Count("pk"))
        .order_by()
    ):
        cohort_id = row["cohort_id"]
        if cohort_id not in summary:
            summary[cohort_id] = CohortFeedback(cohort_id)
        summary[cohort_id].not_helpful += row["not_helpful"]
        summary[cohort_id].total += row["n"]
        by_category[cohort_id].append((row["n"], row["category"]))
    labels = dict(FeedbackCategory.choices)
    for cohort_id, counts in by_category.items():
        counts.sort(key=lambda c: (-c[0], c[1]))
        summary[cohort_id].top_categories = [
            (str(labels.get(category, category)), n) for n, category in counts[:TOP_CATEGORIES]
        ]
    if not summary:
        return summary  # no feedback in the period: no texts to look for either
    ranked = (
        window.exclude(text="")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("cohort_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=RECENT_TEXTS)
        .values_list("cohort_id", "text")
        .order_by("cohort_id", "rank")
    )
    for cohort_id, text in ranked:
        summary[cohort_id].recent.append(text)
    return summary

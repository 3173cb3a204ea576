"""Holding GenAI spans until their trace names a person (rollout.services.otlp_ingest), with the
time injected: no sleeps."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from rollout.lib.otlp_genai import event_id
from rollout.models import OtlpHeldSpan, OtlpTokenCount, OtlpTrace, UsageEvent
from rollout.selectors.usage import usage_daily
from rollout.services import cohorts as cohort_svc
from rollout.services import otlp_ingest
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.otlp_ingest import (
    UNATTRIBUTED_REF,
    PendingSpan,
    otlp_holds_release,
    otlp_spans_ingest,
)
from rollout.services.usage_ingest import EventData
from rollout.tasks import release_otlp_holds
from tests.factories import UserFactory
from tests.rollout.api.conftest import issue_token

pytestmark = pytest.mark.django_db

HOLD = timedelta(seconds=300)


def pending(trace: str, span: str, *, error: bool = False) -> PendingSpan:
    kinds = ["invocation", "error"] if error else ["invocation"]
    return PendingSpan(
        trace_id=trace,
        events=tuple(
            EventData(
                event_id=event_id(trace, span, kind),
                user_ref=UNATTRIBUTED_REF,
                kind=kind,
                occurred_at=timezone.now() - timedelta(minutes=1),
                latency_ms=900,
                attrs={"model_version": "gpt-4.1", "input_tokens": 10},
            )
            for kind in kinds
        ),
    )


@pytest.fixture
def member(workflow, ops_leader):
    user = UserFactory(email="mia.member@example.com")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


@pytest.fixture
def ingest(workflow, workflow_owner):
    token = issue_token(workflow, workflow_owner).token

    def run(*, spans=(), people=None, now=None, ignored=0):
        return otlp_spans_ingest(
            workflow=workflow,
            token_id=token.pk,
            attributed=[],
            pending=list(spans),
            people=people or {},
            genai_spans=len(spans),
            ignored_spans=ignored,
            now=now,
        )

    run.token = token
    return run


def test_a_span_whose_trace_names_nobody_is_held_then_counted_as_nobodys(ingest, workflow):
    t0 = timezone.now()
    result = ingest(spans=[pending("a" * 32, "1" * 16, error=True)], now=t0)
    assert (result.accepted, result.held) == (0, 1)
    assert not UsageEvent.objects.exists()

    assert otlp_holds_release(now=t0 + HOLD - timedelta(seconds=1)) == 0
    assert otlp_holds_release(now=t0 + HOLD) == 1
    assert not OtlpHeldSpan.objects.exists()
    events = UsageEvent.objects.order_by("kind")
    assert [(e.kind, e.user_ref, e.cohort_id) for e in events] == [
        ("error", UNATTRIBUTED_REF, None),
        ("invocation", UNATTRIBUTED_REF, None),
    ]

    # Visible on the usage page as unknown people are: the "Not in a cohort" row.
    usage_refresh_pending()
    today = timezone.localdate()
    series = usage_daily(workflow, start=today, end=today)
    nobody = next(s for s in series if s.cohort is None)
    assert nobody.label == "Not in a cohort"
    assert (nobody.total().invocations, nobody.total().errors) == (1, 1)


def test_held_spans_are_counted_for_the_person_a_later_export_names(ingest, member):
    t0 = timezone.now()
    trace = "b" * 32
    ingest(spans=[pending(trace, "1" * 16), pending(trace, "2" * 16)], now=t0)
    assert OtlpHeldSpan.objects.count() == 2
    result = ingest(people={trace: (member.email, "live")}, now=t0 + timedelta(seconds=5))
    assert result.accepted == 2
    assert not OtlpHeldSpan.objects.exists()
    events = UsageEvent.objects.all()
    assert {(e.user_id, e.user_ref) for e in events} == {(member.pk, member.email)}
    assert all(e.attrs["variant"] == "live" for e in events)
    assert all(e.cohort_id is not None for e in events)


def test_a_span_of_a_trace_named_before_is_counted_at_once(ingest, member):
    trace = "c" * 32
    ingest(people={trace: (member.email, "")})
    result = ingest(spans=[pending(trace, "3" * 16)])
    assert (result.accepted, result.held) == (1, 0)
    assert UsageEvent.objects.get().user_id == member.pk


def test_a_span_exported_again_while_held_or_after_counts_once(ingest):
    t0 = timezone.now()
    span = pending("d" * 32, "4" * 16)
    ingest(spans=[span], now=t0)
    ingest(spans=[span], now=t0 + timedelta(seconds=10))
    assert OtlpHeldSpan.objects.count() == 1
    assert otlp_holds_release(now=t0 + HOLD + timedelta(seconds=10)) == 1
    assert UsageEvent.objects.count() == 1
    # Sent once more after its release (an exporter retrying late): held, then a duplicate.
    ingest(spans=[span], now=t0 + HOLD * 2)
    assert otlp_holds_release(now=t0 + HOLD * 4) == 1
    assert UsageEvent.objects.count() == 1


def test_the_person_a_trace_names_first_is_kept(ingest, member):
    trace = "e" * 32
    ingest(people={trace: (member.email, "live")})
    ingest(people={trace: ("someone-else", "off")})
    assert OtlpTrace.objects.get().user_ref == member.email


def test_old_traces_are_forgotten(ingest):
    t0 = timezone.now()
    ingest(people={"f" * 32: ("someone", "")}, now=t0)
    otlp_holds_release(now=t0 + HOLD * 4 - timedelta(seconds=1))
    assert OtlpTrace.objects.count() == 1
    otlp_holds_release(now=t0 + HOLD * 4 + timedelta(seconds=1))
    assert not OtlpTrace.objects.exists()


def test_a_release_that_fails_keeps_its_held_spans(ingest, monkeypatch):
    t0 = timezone.now()
    ingest(spans=[pending("0a" * 16, "5" * 16)], now=t0)

    def crash(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(otlp_ingest, "usage_events_store", crash)
    with pytest.raises(RuntimeError):
        otlp_holds_release(now=t0 + HOLD)
    assert OtlpHeldSpan.objects.count() == 1  # rolled back with the failed store


def test_the_tokens_spans_are_counted(ingest):
    ingest(spans=[pending("1b" * 16, "6" * 16)], ignored=3)
    ingest(ignored=2)
    counts = OtlpTokenCount.objects.get(token=ingest.token)
    assert (counts.genai_spans, counts.ignored_spans) == (1, 5)


def test_the_every_minute_task_releases_due_holds(ingest):
    ingest(spans=[pending("2c" * 16, "7" * 16)], now=timezone.now() - HOLD - timedelta(minutes=1))
    ingest(spans=[pending("3d" * 16, "8" * 16)])  # not due yet
    assert release_otlp_holds() == 1
    assert OtlpHeldSpan.objects.count() == 1
    entry = settings.CELERY_BEAT_SCHEDULE["release-otlp-holds"]
    assert entry == {"task": "rollout.tasks.release_otlp_holds", "schedule": timedelta(minutes=1)}
    assert UsageEvent.objects.get().event_id == event_id("2c" * 16, "7" * 16, "invocation")
    assert isinstance(UsageEvent.objects.get().event_id, uuid.UUID)

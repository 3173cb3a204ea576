"""Figures: a change notice to FANOUT people (in-app and email) delivered by the real Celery
workers and the real sender to a local SMTP sink (bench/sink.py), against plain smtplib.

Each round, in alternating order:
* product, one worker: the harness schedules the notice to publish now (the service the web form
  calls); the clock runs from that call until every email has arrived at the sink and every
  delivery row (in-app and email) is marked sent. When the in-app rows all landed is reported too.
* product, two workers: the same with a second worker process consuming the queue.
* smtplib, one connection: the same number of messages — copies of the product's own message, so
  the same size — sent one after another over one SMTP connection to the same sink.
* smtplib, two connections in parallel: the bound when the sink itself is the limit.

Targets: the product at >= 0.80 of one smtplib connection; two workers >= 1.7 x one worker, or,
when two smtplib connections are themselves less than 1.7 x one (the sink is the limit),
>= 0.90 of two smtplib connections. The line says which bound applied.
"""

import smtplib
import threading
import time
from datetime import timedelta

from bench import paired, procs
from bench.report import emit, log

TARGET_VS_SMTPLIB = 0.80
TARGET_TWO_WORKERS = 1.7
TARGET_VS_TWO_SMTPLIB = 0.90
POLL = 0.05
LIMIT = 900.0  # seconds a side may take before the run gives up on it
TITLE = "Model update {n:04d}: the reply drafts now use the 2026-10 model"
BODY = (
    "From the date below, reply drafts for tier-1 tickets come from the 2026-10 model. It writes "
    "shorter first replies, keeps the customer's language and cites the help-centre article it "
    "used. Nothing changes in how you accept, edit or override a draft; the Edited and Overridden "
    "buttons stay where they are. If a draft reads worse than before, override it and add a note: "
    "the notes are what the owner reviews at the end of each week of the roll-out."
)


class _Notices:
    """Publishing the round's notices and watching them land."""

    def __init__(self, world: dict, sink) -> None:
        from accounts.models import User
        from rollout.models import Workflow

        self.world, self.sink = world, sink
        self.workflow = Workflow.objects.get(pk=world["workflow_id"])
        self.owner = User.objects.get(pk=world["owner_id"])
        self.n = 0

    def publish(self, cohort_id: int):
        from django.utils import timezone

        from rollout.services.notices import notice_create_scheduled

        self.n += 1
        now = timezone.now()
        return notice_create_scheduled(
            workflow=self.workflow,
            actor=self.owner,
            cohorts=[cohort_id],
            kind="model_change",
            title=TITLE.format(n=self.n),
            body=BODY,
            audience="cohorts",
            include_followers=False,
            publish_at=now,
            effective_at=now + timedelta(days=self.workflow.lead_time_days + 2),
        )

    def sent(self, notice_id: int) -> dict[str, int]:
        from django.db.models import Count

        from rollout.models import DeliveryStatus, NoticeDelivery

        rows = NoticeDelivery.objects.filter(notice_id=notice_id, status=DeliveryStatus.SENT)
        return dict(rows.values_list("channel").annotate(n=Count("pk")).order_by())

    def statuses(self, notice_id: int) -> dict[str, int]:
        from django.db.models import Count

        from rollout.models import NoticeDelivery

        rows = NoticeDelivery.objects.filter(notice_id=notice_id)
        pairs = rows.values_list("channel", "status").annotate(n=Count("pk")).order_by()
        return {f"{channel} {status}": n for channel, status, n in pairs}

    def deliver(self, cohort_id: int, people: int) -> dict:
        """Publishes a notice to the cohort and waits until everything landed. Returns
        {"value": emails/s, "seconds", "in_app_seconds", "emails_at_sink"}."""
        self.sink.reset()
        started = time.time()
        notice = self.publish(cohort_id)
        in_app_at = marked_at = None
        while time.time() - started < LIMIT:
            sent = self.sent(notice.pk)
            now = time.time()
            if in_app_at is None and sent.get("in_app", 0) >= people:
                in_app_at = now
            if sent.get("email", 0) >= people and in_app_at is not None:
                marked_at = now
                break
            time.sleep(POLL)
        if marked_at is None or self.sink.count() < people:
            raise SystemExit(
                f"notice {notice.pk} did not land in {LIMIT:.0f} s: {self.statuses(notice.pk)},"
                f" {self.sink.count()} emails at the sink"
            )
        seconds = max(marked_at, self.sink.last_at()) - started
        return {
            "value": people / seconds,
            "seconds": round(seconds, 2),
            "in_app_seconds": round(in_app_at - started, 2),
            "emails_at_sink": self.sink.count(),
        }


def _copies(sample: tuple[str, str, bytes], people: list[str]) -> list[tuple[str, bytes]]:
    """The product's message, once per person (their address in place of the sample's)."""
    _, rcpt, content = sample
    return [(p, content.replace(rcpt.encode(), p.encode())) for p in people]


def _smtplib(port: int, mail_from: str, messages: list[tuple[str, bytes]], connections: int):
    """Sends `messages` over `connections` SMTP connections in parallel; returns seconds."""
    shares = [messages[i::connections] for i in range(connections)]
    errors: list[BaseException] = []

    def send(share: list[tuple[str, bytes]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                for rcpt, content in share:
                    smtp.sendmail(mail_from, [rcpt], content)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if errors:
        raise SystemExit(f"smtplib baseline failed: {errors[0]!r}")
    return seconds


class _Workers:
    """Worker 1 always consumes the run's queue; worker 2 only while `two()` is in effect."""

    def __init__(self, env: dict) -> None:
        from django.conf import settings

        self.queue = settings.CELERY_TASK_DEFAULT_QUEUE
        self.names = [procs.worker_name(1), procs.worker_name(2)]
        self.procs = [procs.start_worker(env, 1), procs.start_worker(env, 2)]
        procs.wait_workers_ready(self.names)
        self.consuming = True

    def _control(self, add: bool) -> None:
        from celery import current_app

        control = current_app.control
        call = control.add_consumer if add else control.cancel_consumer
        replies = call(self.queue, destination=[self.names[1]], reply=True, timeout=5.0)
        if not replies:
            raise SystemExit(f"worker {self.names[1]} did not answer {call.__name__}")
        self.consuming = add

    def one(self) -> None:
        if self.consuming:
            self._control(add=False)

    def two(self) -> None:
        if not self.consuming:
            self._control(add=True)

    def settle(self, limit: float = 60) -> None:
        """Until neither worker runs a task (the tail of the previous side)."""
        from celery import current_app

        end = time.monotonic() + limit
        while time.monotonic() < end:
            active = current_app.control.inspect(destination=self.names, timeout=1.0).active()
            if active and len(active) == 2 and not any(active.values()):
                return
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs:
            procs.stop(proc)


def bench_fanout(world: dict, env: dict, sink, rounds: int) -> None:
    from celery import current_app

    from rollout.models import CohortMember

    people = world["fanout"]
    # Wake-ups the figures before sent to the run's queue while no worker ran (rollups after the
    # ingestion, done in-process since): not this figure's work.
    purged = current_app.control.purge()
    log(
        f"notice fan-out to {people:,} people (in-app + email): 2 workers, sink on port"
        f" {sink.port}; {purged} stale wake-ups purged from the run's queue"
    )
    workers = _Workers(env)
    notices = _Notices(world, sink)
    try:
        warm_up = world["warm_up_cohort_id"]
        # Warms both workers up (templates, connections); the sink keeps its first message.
        notices.deliver(warm_up, CohortMember.objects.filter(cohort_id=warm_up).count())
        sample = sink.sample()
        if sample is None:
            raise SystemExit("the warm-up notice sent no email")
        addresses = list(
            CohortMember.objects.filter(cohort_id=world["fanout_cohort_id"])
            .order_by("user_id")
            .values_list("user__email", flat=True)
        )
        copies = _copies(sample, addresses)
        smtp_port, mail_from = sink.port, sample[0]
        log(f"  message of {len(sample[2]):,} bytes (the product's own, from the warm-up)")

        def product(two: bool):
            def side() -> dict:
                workers.settle()
                if two:
                    workers.two()
                else:
                    workers.one()
                return notices.deliver(world["fanout_cohort_id"], people)

            return side

        def plain(connections: int):
            def side() -> dict:
                sink.reset()
                seconds = _smtplib(smtp_port, mail_from, copies, connections)
                return {"value": people / seconds, "seconds": round(seconds, 2)}

            return side

        sides = {
            "smtplib": plain(1),
            "one_worker": product(two=False),
            "two_workers": product(two=True),
            "smtplib_two": plain(2),
        }
        results = paired.run_rounds(sides, rounds, log)
    finally:
        workers.stop()
    _emit(results, people, len(copies[0][1]))


def _emit(results: list[dict], people: int, size: int) -> None:
    from django.conf import settings

    lanes = settings.ROLLOUT_NOTICE_EMAIL_LANES
    lanes_text = f"{lanes} SMTP lane{'s' if lanes > 1 else ''} per run"
    vs_smtplib = paired.ratio(results, "one_worker", "smtplib")
    emit(
        {
            "figure": "notice_fanout",
            "title": f"a notice to {people:,} people (in-app + email), one Celery worker"
            f" ({lanes_text}), real sender, local SMTP sink",
            "email_lanes": lanes,
            "unit": "emails/s",
            "measured": paired.side(results, "one_worker", "Rollout, one worker"),
            "baseline": paired.side(
                results, "smtplib", f"plain smtplib, one connection, same {size:,}-byte messages"
            ),
            "ratio": vs_smtplib,
            "target": f"median ratio >= {TARGET_VS_SMTPLIB:.2f}",
            "met": vs_smtplib["median"] >= TARGET_VS_SMTPLIB,
        }
    )
    two_to_one = paired.ratio(results, "two_workers", "one_worker")
    smtplib_two_to_one = paired.ratio(results, "smtplib_two", "smtplib")
    two_to_two = paired.ratio(results, "two_workers", "smtplib_two")
    sink_bound = smtplib_two_to_one["median"] < TARGET_TWO_WORKERS
    line = {
        "figure": "notice_fanout_two_workers",
        "title": f"the same notice with two Celery workers (to {people:,} people, {lanes_text})",
        "email_lanes": lanes,
        "unit": "emails/s",
        "measured": paired.side(results, "two_workers", "Rollout, two workers"),
        "one_worker_ratio": two_to_one,
        "smtplib_two_connections": paired.side(
            results, "smtplib_two", "plain smtplib, two connections in parallel"
        ),
        "smtplib_two_to_one_ratio": smtplib_two_to_one,
        "two_workers_to_two_smtplib_ratio": two_to_two,
    }
    if sink_bound:
        line.update(
            bound="sink: two smtplib connections are less than 1.7x one, so the bound is 0.90 of"
            " two smtplib connections",
            baseline=line["smtplib_two_connections"],
            ratio=two_to_two,
            target=f"median ratio to two smtplib connections >= {TARGET_VS_TWO_SMTPLIB:.2f}",
            met=two_to_two["median"] >= TARGET_VS_TWO_SMTPLIB,
        )
    else:
        line.update(
            bound="workers: two smtplib connections reach 1.7x one, so the bound is 1.7x one"
            " worker",
            baseline=paired.side(results, "one_worker", "Rollout, one worker"),
            ratio=two_to_one,
            target=f"median ratio to one worker >= {TARGET_TWO_WORKERS:.2f}",
            met=two_to_one["median"] >= TARGET_TWO_WORKERS,
        )
    emit(line)

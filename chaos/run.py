"""`make chaos`: Rollout under faults, with its own processes, printing one JSON line per fault.

Starts, under var/chaos/ and on free loopback ports, its OWN PostgreSQL cluster (initdb, then the
`postgres` server as the `postgres` user when run as root), its own `redis-server` (--save ''
--appendonly no; broker and cache), an SMTP sink (aiosmtpd in a thread, counting messages per
recipient and subject), gunicorn (2 workers), a Celery worker and beat, with
DJANGO_SETTINGS_MODULE=config.settings.chaos (production's settings over plain HTTP, see that
module). The machine's shared PostgreSQL (5432) and Redis (6379) are never touched. Every wait has
a limit, the whole run a deadline, and every process group is killed at the end, even on failure.

Faults (each prints {"fault", "sent", "stored", "delivered_once", "lost", "duplicated",
"in_doubt", "5xx", "seconds", ...}):

* events_64_clients: CHAOS_CLIENTS clients post batches with retries (same event_ids on retry);
  lost = sent − stored distinct, duplicated = rows beyond distinct event_ids.
* redis_down: Redis killed for CHAOS_REDIS_DOWN seconds during API traffic (decision and events,
  with retries) and a notice publish; 5xx counted, events stored vs sent, the notice's deliveries.
* postgres_terminate: pg_terminate_backend on every backend but the harness's, a few times, from a
  separate admin connection, during ingestion and during the delivery of a notice.
* worker_sigkill: the Celery worker SIGKILLed three times mid fan-out of a notice to CHAOS_MEMBERS
  people (restarted each time); after the sweep, in-app delivered exactly once, emails at the sink
  (at most once; rows left `sending` or failed "interrupted" are reported in doubt).
* poison_notice: a notice whose title has CR/LF (written directly in the database) ahead of a
  normal one: does the normal one complete, does the poison one fail alone?

Knobs (environment): CHAOS_MEMBERS (600), CHAOS_CLIENTS (64), CHAOS_BATCHES (10 per client),
CHAOS_BATCH_SIZE (10 events), CHAOS_REDIS_DOWN (30 s), CHAOS_SWEEP_SECONDS (10: the notice sweep's
period in this run), CHAOS_SETTLE (90 s: the most to wait for deliveries to finish), CHAOS_DEADLINE
(570 s for the whole run). A client retries a batch for CHAOS_REDIS_DOWN + 30 s before giving
up (counted in batches_given_up).

Output: the JSON lines on stdout; progress ("# ...") and the product's own warnings on stderr; each
process's log in var/chaos/<name>.log. A notice's "lost" counts what was not delivered when the
fault stopped waiting (CHAOS_SETTLE), so a stuck sender shows as lost. "5xx" is null where the
fault makes no HTTP calls. The publish "during the Redis outage" is the harness calling the
notice service (as the web form does) while Redis is down; the sending follows when it is back.
"""

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "chaos"
MEMBERS = int(os.environ.get("CHAOS_MEMBERS", "600"))
CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "64"))
BATCHES = int(os.environ.get("CHAOS_BATCHES", "10"))
BATCH_SIZE = int(os.environ.get("CHAOS_BATCH_SIZE", "10"))
REDIS_DOWN = float(os.environ.get("CHAOS_REDIS_DOWN", "30"))
SWEEP_SECONDS = int(os.environ.get("CHAOS_SWEEP_SECONDS", "10"))
SETTLE = float(os.environ.get("CHAOS_SETTLE", "90"))
RETRY_BUDGET = REDIS_DOWN + 30  # how long a client retries one batch
DEADLINE = time.monotonic() + float(os.environ.get("CHAOS_DEADLINE", "570"))
HARNESS_APP = "chaos-harness"  # application_name of the harness's own connections: never killed
SMALL = max(50, MEMBERS // 3)  # members of the cohorts used by the other notices


class OutOfTime(Exception):
    pass


def log(message: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def emit(fault: str, started: float, **figures: object) -> None:
    line = {"fault": fault}
    for key in ("sent", "stored", "delivered_once", "lost", "duplicated", "in_doubt", "5xx"):
        line[key] = figures.pop(key, None)
    line["seconds"] = round(time.monotonic() - started, 1)
    line.update(figures)
    print(json.dumps(line), flush=True)


def wait_until(condition, what: str, limit: float, poll: float = 0.2):
    """Poll `condition` until true; raise after `limit` seconds or at the run's deadline."""
    end = min(time.monotonic() + limit, DEADLINE)
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > end:
            if time.monotonic() > DEADLINE:
                raise OutOfTime(what)
            return result
        time.sleep(poll)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- processes -----------------------------------------------------------------------------------

PROCS: list[subprocess.Popen] = []


def spawn(argv: list[str], name: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """Start a process in its own session (process group), its output in var/chaos/<name>.log."""
    out = open(VAR / f"{name}.log", "ab")  # noqa: SIM115 — kept open for the process's life
    proc = subprocess.Popen(  # noqa: S603 — fixed arguments
        argv,
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **kwargs,
    )
    PROCS.append(proc)
    return proc


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def kill_all() -> None:
    for proc in reversed(PROCS):
        kill_group(proc)


def as_postgres(argv: list[str]) -> list[str]:
    """initdb refuses root: run PostgreSQL's programs as the `postgres` user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def pg_bin(name: str) -> str:
    for candidate in [
        shutil.which(name),
        *sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")),
    ]:
        if candidate and Path(candidate).exists():
            return str(candidate)
    sys.exit(f"make chaos needs PostgreSQL's {name} (initdb/pg_ctl)")


def start_postgres() -> int:
    data = VAR / "pg"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(  # noqa: S603
        as_postgres([pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-N"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    spawn(
        as_postgres(
            [
                pg_bin("postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                "",
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ]
        ),
        "postgres",
    )
    import psycopg

    def ready():
        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2
            ) as c:
                c.autocommit = True
                c.execute("CREATE DATABASE rollout")
            return True
        except psycopg.OperationalError:
            return False

    if not wait_until(ready, "postgres", 60):
        sys.exit("PostgreSQL did not start (var/chaos/postgres.log)")
    return port


def start_redis(port: int) -> subprocess.Popen:
    proc = spawn(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        "redis",
    )
    import redis

    def ready():
        try:
            return redis.Redis(port=port, host="127.0.0.1", socket_connect_timeout=1).ping()
        except redis.RedisError:
            return False

    if not wait_until(ready, "redis", 30):
        sys.exit("redis-server did not start")
    return proc


class Sink:
    """aiosmtpd's handler: counts messages per (recipient, subject)."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        from email import message_from_bytes

        subject = str(message_from_bytes(envelope.content).get("Subject", ""))
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.counts[(rcpt, subject)] += 1
        return "250 OK"

    def per_recipient(self, title: str) -> Counter:
        with self.lock:
            return Counter(
                {rcpt: n for (rcpt, subject), n in self.counts.items() if title in subject}
            )

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())


class Supervisor(threading.Thread):
    """Restarts the Celery worker when it exits on its own, as systemd's Restart=always or a
    Kubernetes Deployment would, and counts each restart (with the exit code) so a fault can
    report it. Paused while a fault kills the worker on purpose."""

    def __init__(self, env: dict, worker: list) -> None:
        super().__init__(daemon=True)
        self.env, self.worker = env, worker
        self.lock = threading.Lock()
        self.active = True
        self.restarts: list[int | None] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            with self.lock:
                code = self.worker[0].poll()
                if self.active and code is not None:
                    log(f"the worker exited on its own (code {code}): restarting it")
                    self.restarts.append(code)
                    self.worker[0] = start_worker(self.env)

    def take_restarts(self) -> list[int | None]:
        with self.lock:
            taken, self.restarts = self.restarts, []
            return taken


def start_worker(env: dict) -> subprocess.Popen:
    celery = str(Path(sys.executable).parent / "celery")
    return spawn(
        [celery, "-A", "config", "worker", "--concurrency", "2", "--loglevel", "WARNING"],
        "worker",
        env,
    )


# --- HTTP ----------------------------------------------------------------------------------------

PORT = 0


def request(method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Traffic:
    """Clients posting event batches with retries (the same batch, so the same event_ids) and,
    optionally, decision calls; counts answers by class."""

    def __init__(self, world: dict, clients: int, batches: int, decisions: bool = False) -> None:
        self.world, self.clients, self.batches, self.decisions = world, clients, batches, decisions
        self.sent: set[str] = set()
        self.status = Counter()
        self.gave_up = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,)) for i in range(clients)]

    def auth(self) -> dict:
        return {
            "Authorization": f"Bearer {self.world['token']}",
            "Content-Type": "application/json",
        }

    def post(self, body: bytes) -> bool:
        """Post until 200, retrying the same body for up to RETRY_BUDGET seconds (longer than
        the Redis outage), backing off up to 4 s; a batch given up on is counted."""
        give_up = time.monotonic() + RETRY_BUDGET
        attempt = 0
        while True:
            try:
                status, _ = request("POST", "/api/v1/events", body, self.auth())
            except OSError:
                status = "error"
            with self.lock:
                self.status[("events", status)] += 1
            if status == 200:
                return True
            if time.monotonic() > give_up or DEADLINE - time.monotonic() < 20:
                break
            time.sleep(min(4.0, 0.5 * 2**attempt))
            attempt += 1
        with self.lock:
            self.gave_up += 1
        return False

    def client(self, i: int) -> None:
        from django.utils import timezone

        users = self.world["users"]
        n = 0
        while not self.stop.is_set() and (self.batches == 0 or n < self.batches):
            now = timezone.now()
            events = [
                {
                    "event_id": str(uuid.uuid4()),
                    "user_ref": users[(i * 31 + n * 7 + k) % len(users)],
                    "kind": "invocation",
                    "occurred_at": (now - timedelta(seconds=k)).isoformat(),
                    "latency_ms": 400 + k,
                    "attrs": {"chaos": True},
                }
                for k in range(BATCH_SIZE)
            ]
            with self.lock:
                self.sent.update(e["event_id"] for e in events)
            self.post(json.dumps({"events": events}).encode())
            if self.decisions:
                user = users[(i + n) % len(users)]
                path = f"/api/v1/decision?workflow={self.world['slug']}&user={user}"
                try:
                    status, _ = request("GET", path, headers=self.auth())
                except OSError:
                    status = "error"
                with self.lock:
                    self.status[("decision", status)] += 1
            n += 1
            if self.batches == 0:
                time.sleep(0.2)

    def start(self) -> "Traffic":
        for t in self.threads:
            t.start()
        return self

    def join(self, limit: float = 120) -> None:
        end = min(time.monotonic() + limit, DEADLINE)
        for t in self.threads:
            t.join(timeout=max(0.1, end - time.monotonic()))
        self.stop.set()

    def five_xx(self) -> int:
        return sum(n for (_, s), n in self.status.items() if isinstance(s, int) and s >= 500)

    def figures(self) -> dict:
        from django.db import connection

        ids = list(self.sent)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM rollout_usageevent"
                " WHERE event_id = ANY(%s::uuid[])",
                [ids],
            )
            rows, distinct = cursor.fetchone()
        return {
            "sent": len(ids),
            "stored": distinct,
            "lost": len(ids) - distinct,
            "duplicated": rows - distinct,
            "5xx": self.five_xx(),
            "answers": {f"{k[0]} {k[1]}": v for k, v in sorted(self.status.items(), key=str)},
            "batches_given_up": self.gave_up,
        }


# --- data ----------------------------------------------------------------------------------------


def make_world() -> dict:
    """Users, a workflow in its limited phase, cohorts and an API token, through the services."""
    from django.utils import timezone

    from accounts.models import User
    from rollout.models import Cohort, CohortMember, Phase, PhaseStatus
    from rollout.services.api_tokens import api_token_create
    from tests.factories import make_workflow, ops_leader_user

    ops = ops_leader_user(email="ops@chaos.example", display_name="Chaos Ops")
    owner = User.objects.create_user("owner@chaos.example", "chaos", display_name="Chaos Owner")
    now = timezone.now()
    workflow = make_workflow(
        owner=owner,
        actor=ops,
        name="Chaos workflow",
        slug="chaos-workflow",
        plan_start_date=timezone.localdate(now) - timedelta(days=200),
    )
    for phase in Phase.objects.filter(workflow=workflow):  # set-up, not a product path
        if phase.kind in ("audit", "shadow"):
            phase.status, phase.actual_start = PhaseStatus.COMPLETED, now - timedelta(days=200)
            phase.actual_end = now - timedelta(days=190)
        elif phase.kind == "limited":
            phase.status, phase.actual_start = PhaseStatus.ACTIVE, now - timedelta(days=190)
        phase.save()
    sizes = {"fan-out": MEMBERS, "redis": SMALL, "postgres": SMALL, "poison": SMALL}
    cohorts, emails = {}, []
    for name, size in sizes.items():
        cohort = Cohort.objects.create(workflow=workflow, name=name, enrolled_phase="limited")
        users = User.objects.bulk_create(
            [
                User(email=f"{name}-{i}@chaos.example", display_name=f"{name} {i}")
                for i in range(size)
            ]
        )
        CohortMember.objects.bulk_create([CohortMember(cohort=cohort, user=u) for u in users])
        cohorts[name] = cohort.pk
        emails += [u.email for u in users]
    _, token = api_token_create(workflow=workflow, actor=owner, name="chaos")
    return {
        "token": token,
        "slug": workflow.slug,
        "workflow_id": workflow.pk,
        "users": emails,
        "cohorts": cohorts,
        "owner_id": owner.pk,
    }


def publish_notice(world: dict, cohort: str, title: str):
    from django.utils import timezone

    from accounts.models import User
    from rollout.models import Workflow
    from rollout.services.notices import notice_create_scheduled

    workflow = Workflow.objects.get(pk=world["workflow_id"])
    now = timezone.now()
    return notice_create_scheduled(
        workflow=workflow,
        actor=User.objects.get(pk=world["owner_id"]),
        cohorts=[world["cohorts"][cohort]],
        kind="model_change",
        title=title,
        body="Chaos run.",
        audience="cohorts",
        include_followers=False,
        publish_at=now,
        effective_at=now + timedelta(days=workflow.lead_time_days + 2),
    )


def delivery_figures(notice_id: int, title: str, sink: Sink, expected: int) -> dict:
    """In-app: delivered once = sent rows (a unique constraint allows one row per person and
    channel). Email, row by row against the sink: delivered once (exactly one message), duplicated
    (messages beyond one), in doubt (row left `sending` or failed "interrupted"; those whose
    message did reach the sink are counted again in in_doubt_but_delivered), lost (no message and
    not in doubt: still pending, failed, or never created) at the time of counting."""
    from rollout.models import DeliveryStatus, NoticeDelivery
    from rollout.services.notice_delivery import MSG_INTERRUPTED

    rows = NoticeDelivery.objects.filter(notice_id=notice_id)
    in_app = rows.filter(channel="in_app")
    in_app_sent = in_app.filter(status=DeliveryStatus.SENT).count()
    at_sink = sink.per_recipient(title)
    once = extra = in_doubt = doubt_delivered = lost = 0
    email_rows = list(
        rows.filter(channel="email").values_list("recipient__email", "status", "last_error")
    )
    for address, status, error in email_rows:
        n = at_sink.get(address, 0)
        doubt = status == DeliveryStatus.SENDING or (
            status == DeliveryStatus.FAILED and error == MSG_INTERRUPTED
        )
        once += n == 1
        extra += max(0, n - 1)
        in_doubt += doubt
        doubt_delivered += doubt and n > 0
        lost += n == 0 and not doubt
    lost += max(0, expected - len(email_rows))
    return {
        "sent": expected * 2,
        "stored": in_app.count() + len(email_rows),
        "delivered_once": in_app_sent + once,
        "lost": (expected - in_app_sent) + lost,
        "duplicated": extra,
        "in_doubt": in_doubt,
        "in_app": {
            "expected": expected,
            "delivered_once": in_app_sent,
            **Counter(in_app.values_list("status", flat=True)),
        },
        "email": {
            "expected": expected,
            "delivered_once": once,
            "duplicated": extra,
            "lost": lost,
            "in_doubt": in_doubt,
            "in_doubt_but_delivered": doubt_delivered,
            "rows": dict(Counter(status for _, status, _ in email_rows)),
        },
    }


def settled(notice_id: int, expected: int, quiet: float = 5.0):
    """True once every row of the notice exists, none is pending or queued (claimed; a killed
    worker's are due again after a minute) or due for a retry, and the rows' statuses have not
    changed for `quiet` seconds: only a row a sender leaves `sending` (a worker killed mid-send)
    is in doubt."""
    from django.db.models import Count

    from rollout.models import ChangeNotice, NoticeDelivery

    last: dict[str, object] = {"counts": None, "since": 0.0}

    def check():
        if ChangeNotice.objects.get(pk=notice_id).status != "published":
            return False
        rows = NoticeDelivery.objects.filter(notice_id=notice_id)
        counts = dict(rows.values_list("status").annotate(n=Count("pk")).order_by())
        if sum(counts.values()) < expected * 2 or counts.get("pending") or counts.get("queued"):
            last["counts"] = None
            return False
        now = time.monotonic()
        if counts != last["counts"]:
            last["counts"], last["since"] = counts, now
            return False
        return now - last["since"] >= quiet

    return check


# --- faults --------------------------------------------------------------------------------------


def fault_clients(world: dict) -> None:
    started = time.monotonic()
    log(f"64 clients: {CLIENTS} clients x {BATCHES} batches of {BATCH_SIZE} events, with retries")
    traffic = Traffic(world, CLIENTS, BATCHES).start()
    traffic.join(180)
    emit("events_64_clients", started, **traffic.figures())


def fault_redis(
    world: dict, redis_port: int, redis_proc: list, sink: Sink, supervisor: "Supervisor"
) -> None:
    started = time.monotonic()
    log(f"redis down {REDIS_DOWN:.0f} s during decision + events traffic and a publish")
    traffic = Traffic(world, 8, 0, decisions=True).start()
    time.sleep(3)
    kill_group(redis_proc[0])
    time.sleep(2)
    title = f"Chaos redis {secrets.token_hex(3)}"
    publish_error = ""
    try:
        notice = publish_notice(world, "redis", title)
    except Exception as exc:  # noqa: BLE001 — reported, not raised
        publish_error, notice = repr(exc)[:200], None
    time.sleep(max(0.0, REDIS_DOWN / 2 - 2))
    try:
        healthz = request("GET", "/healthz")
        health_during = f"{healthz[0]} {healthz[1][:80].decode(errors='replace')}"
    except OSError as exc:
        health_during = repr(exc)
    time.sleep(REDIS_DOWN / 2)
    during = traffic.five_xx()
    redis_proc[0] = start_redis(redis_port)
    time.sleep(5)
    traffic.stop.set()
    traffic.join(90)
    figures = traffic.figures()
    figures["5xx_during_outage"] = during
    figures["healthz_during_outage"] = health_during
    if notice is not None:
        wait_until(settled(notice.pk, SMALL), "redis notice", SETTLE)
        figures["notice"] = delivery_figures(notice.pk, title, sink, SMALL)
    else:
        figures["notice"] = {"publish_error": publish_error}
    figures["worker_exits_restarted"] = supervisor.take_restarts()
    emit("redis_down", started, **figures)


def terminate_backends(admin, times: int, every: float) -> int:
    killed = 0
    for _ in range(times):
        time.sleep(every)
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = 'rollout' AND pid <> pg_backend_pid()"
            " AND application_name <> %s",
            [HARNESS_APP],
        ).fetchall()
        killed += len(rows)
    return killed


def fault_postgres(world: dict, pg_port: int, sink: Sink, supervisor: "Supervisor") -> None:
    import psycopg

    started = time.monotonic()
    log("postgres backends terminated during ingestion and during delivery")
    admin = psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
        autocommit=True,
        application_name=HARNESS_APP,
    )
    traffic = Traffic(world, 8, 0).start()
    killed = terminate_backends(admin, 3, 2.0)
    traffic.stop.set()
    traffic.join(90)
    figures = traffic.figures()
    title = f"Chaos postgres {secrets.token_hex(3)}"
    notice = publish_notice(world, "postgres", title)
    from rollout.models import NoticeDelivery

    rows = NoticeDelivery.objects.filter(notice_id=notice.pk)
    wait_until(lambda: rows.exists(), "postgres notice published", 60, 0.05)
    during_delivery = 0
    while during_delivery < 12 and rows.filter(status="pending").exists():
        during_delivery += terminate_backends(admin, 1, 0.2)
    killed += during_delivery
    admin.close()
    wait_until(settled(notice.pk, SMALL), "postgres notice", SETTLE)
    figures["terminated_during_delivery"] = during_delivery
    figures["notice"] = delivery_figures(notice.pk, title, sink, SMALL)
    figures["backends_terminated"] = killed
    figures["worker_exits_restarted"] = supervisor.take_restarts()
    emit("postgres_terminate", started, **figures)


def fault_sigkill(
    world: dict, env: dict, worker: list, sink: Sink, supervisor: "Supervisor"
) -> None:
    from rollout.models import NoticeDelivery

    started = time.monotonic()
    log(f"worker SIGKILLed 3 times mid fan-out to {MEMBERS}")
    title = f"Chaos fan-out {secrets.token_hex(3)}"
    notice = publish_notice(world, "fan-out", title)
    step = max(1, MEMBERS // 5)
    kills = []
    last = 0

    def emails() -> int:
        return sum(sink.per_recipient(title).values())

    with supervisor.lock:
        supervisor.active = False  # these kills are the fault; the fault restarts the worker
    for _ in range(3):
        target = last + step
        reached = bool(wait_until(lambda t=target: emails() >= t, "fan-out progress", 60, 0.02))
        done = NoticeDelivery.objects.filter(notice_id=notice.pk).exclude(status="pending").count()
        kill_group(worker[0])
        last = emails()
        kills.append({"emails_at_sink": last, "rows_done": done, "reached": reached})
        worker[0] = start_worker(env)
    with supervisor.lock:
        supervisor.active = True
    wait_until(settled(notice.pk, MEMBERS), "fan-out settles", SETTLE)
    emit(
        "worker_sigkill",
        started,
        **delivery_figures(notice.pk, title, sink, MEMBERS),
        kills=kills,
    )


def fault_poison(world: dict, sink: Sink) -> None:
    from rollout.models import ChangeNotice, NoticeDelivery

    started = time.monotonic()
    log("poison notice (CR/LF title) ahead of a normal one")
    poison_title = f"Chaos poison {secrets.token_hex(3)}"
    normal_title = f"Chaos normal {secrets.token_hex(3)}"
    # Drafted through the service with a clean title, then the title broken directly in the
    # database (as an old row or another path might have it), then both published.
    poison = publish_notice(world, "poison", poison_title)
    ChangeNotice.objects.filter(pk=poison.pk).update(title=poison_title + "\r\nBcc: x@evil.example")
    normal = publish_notice(world, "poison", normal_title)
    wait_until(settled(normal.pk, SMALL), "normal notice completes", SETTLE)
    figures = delivery_figures(normal.pk, normal_title, sink, SMALL)
    poison_rows = NoticeDelivery.objects.filter(notice_id=poison.pk, channel="email")
    figures["poison"] = {
        **Counter(poison_rows.values_list("status", flat=True)),
        "errors": sorted({e[:80] for e in poison_rows.values_list("last_error", flat=True) if e}),
        "at_sink": sum(sink.per_recipient(poison_title).values()),
    }
    figures["normal_completed"] = figures["delivered_once"] == 2 * SMALL
    poison_statuses = set(figures["poison"]) - {"errors", "at_sink"}
    figures["poison_failed_alone"] = figures["normal_completed"] and poison_statuses <= {"failed"}
    emit("poison_notice", started, **figures)


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    global PORT
    from aiosmtpd.controller import Controller

    shutil.rmtree(VAR, ignore_errors=True)
    (VAR / "run").mkdir(parents=True)
    controller = None
    supervisor: Supervisor | None = None
    try:
        log("starting PostgreSQL, Redis, SMTP sink")
        pg_port = start_postgres()
        redis_port = free_port()
        redis_proc = [start_redis(redis_port)]
        sink = Sink()
        smtp_port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=smtp_port, ready_timeout=60)
        controller.start()
        PORT = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{pg_port}/rollout",
            DJANGO_SETTINGS_MODULE="config.settings.chaos",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            ROLLOUT_VAR_DIR=str(VAR / "run"),
            CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
            CACHE_URL=f"redis://127.0.0.1:{redis_port}/1",
            EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
            CHAOS_SWEEP_SECONDS=str(SWEEP_SECONDS),
            LOG_LEVEL="WARNING",
        )
        log("migrating")
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=240,
        )
        os.environ.update(env)
        os.environ["PGAPPNAME"] = HARNESS_APP  # libpq: the harness's connections are spared
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        world = make_world()
        log("starting gunicorn, worker, beat")
        bin_dir = Path(sys.executable).parent
        spawn(
            [
                str(bin_dir / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            "gunicorn",
            env,
        )
        worker = [start_worker(env)]
        supervisor = Supervisor(env, worker)
        supervisor.start()
        spawn(
            [
                str(bin_dir / "celery"),
                "-A",
                "config",
                "beat",
                "-s",
                str(VAR / "run" / "beat-schedule"),
                "--loglevel",
                "WARNING",
            ],
            "beat",
            env,
        )

        def up():
            try:
                return request("GET", "/healthz")[0] == 200
            except OSError:
                return False

        if not wait_until(up, "gunicorn", 90):
            sys.exit("gunicorn did not answer /healthz (var/chaos/gunicorn.log)")
        fault_clients(world)
        fault_redis(world, redis_port, redis_proc, sink, supervisor)
        fault_postgres(world, pg_port, sink, supervisor)
        fault_sigkill(world, env, worker, sink, supervisor)
        fault_poison(world, sink)
    except OutOfTime as exc:
        log(f"out of time waiting for {exc}; the faults not printed did not finish")
        sys.exit(2)
    finally:
        if supervisor is not None:
            supervisor.done.set()  # no restart while everything is being stopped
            with supervisor.lock:
                supervisor.active = False
        if controller is not None:
            controller.stop()
        kill_all()
        log("all processes killed")


if __name__ == "__main__":
    main()

"""`make run`: the whole product in one terminal — web, Celery worker and scheduler.

Migrates, seeds the demo data into an empty database, then starts `runserver` and
`celery worker -B` as child processes and watches them. Ctrl-C (or SIGTERM) stops every process it
started and exits 0. A worker that exits on its own is restarted, as a supervisor would: Celery's
Redis transport can give up for good when the broker disappears mid-task (kombu's "'NoneType' object
has no attribute 'hostname'"), and nothing durable lives in the worker — the rows wait in the
database. A worker that keeps dying (RESTART_LIMIT exits within RESTART_WINDOW seconds), or a web
server that dies, stops everything and the exit is non-zero.
Embedded defaults come from the settings (SQLite, filesystem broker and mail under var/);
DATABASE_URL and CELERY_BROKER_URL switch to real services.

The terminal keeps what a person needs: the banner comes last at start (once the web server
answers and the worker is ready), the worker's and scheduler's chatter goes to var/log/worker.log,
and only their warnings and errors, and a one-line summary of each email sent, are shown too.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import connection

from accounts.mail import SUMMARY_MARK, FileAndConsoleEmailBackend
from accounts.models import User
from rollout.management.commands.seed_demo import DEMO_LOGINS, DEMO_PASSWORD, DemoUser

DEFAULT_PORT = 8000
GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2
RESTARTABLE = frozenset({"worker"})
RESTART_LIMIT = 5  # exits of a restartable child within RESTART_WINDOW before giving up
RESTART_WINDOW = 600.0  # seconds
# The banner waits for the worker to say it is ready, but not longer than this: a worker slow to
# start (a broker far away) must not hide the address.
READY_PATIENCE = 120.0
LOGGED = "worker"  # the child whose output goes to var/log/ (it embeds the scheduler)
LOUD_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
# A Celery log line: "[2026-12-06 16:00:00,123: WARNING/MainProcess] message".
_CELERY_RECORD = re.compile(r"\[\d{4}-\d\d-\d\d [\d:,.]+: (?P<level>[A-Z]+)/[^\]]*\] ?(?P<text>.*)")
_READY = re.compile(r"celery@\S+ ready\.")


def log_path() -> Path:
    return Path(settings.VAR_DIR) / "log" / f"{LOGGED}.log"


class WorkerOutput:
    """Which lines of the worker's output (Celery's log, the scheduler's with it) also go to the
    terminal: warnings, errors and what follows them (a traceback's lines), and the one-line
    summary of an email (written to stdout, which Celery logs as a warning: shown without its
    log prefix). Everything is in the log file anyway. Also notes when the worker is ready."""

    def __init__(self) -> None:
        self.showing = False
        self.ready = threading.Event()

    def to_terminal(self, line: str) -> str | None:
        record = _CELERY_RECORD.match(line)
        if record is None:
            if line.startswith(SUMMARY_MARK):
                self.showing = False
                return line
            return line if self.showing else None  # a line of the record before it
        text = record["text"]
        if _READY.search(text):
            self.ready.set()
        if text.startswith(SUMMARY_MARK):
            self.showing = False
            return text
        self.showing = record["level"] in LOUD_LEVELS
        return line if self.showing else None


def pump_output(
    child: "Child", router: WorkerOutput, log: Path, show: Callable[[str], None]
) -> threading.Thread:
    """Copy a child's output to `log` line by line, and `show` the lines the router picks, until
    the child closes it. A daemon thread: it ends with the child's output."""

    def run() -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as file:
            for raw in iter(child.process.stdout.readline, b""):
                file.write(raw)
                file.flush()
                shown = router.to_terminal(raw.decode(errors="replace").rstrip("\r\n"))
                if shown is not None:
                    show(shown)

    thread = threading.Thread(target=run, name=f"{child.name} output", daemon=True)
    thread.start()
    return thread


def should_seed() -> bool:
    """Seed only an empty database: demo users never appear beside real ones."""
    return not User.objects.exists()


def prepare_database(stdout: OutputWrapper) -> bool:
    """Apply migrations, then seed the demo if the database has no user. True if it seeded."""
    call_command("migrate", interactive=False, verbosity=1, stdout=stdout)
    if not should_seed():
        stdout.write("The database already has users: keeping its data, no demo seeding.")
        return False
    stdout.write("Empty database: adding the demo data.")
    call_command("seed_demo", stdout=stdout)
    return True


def parse_port(value: str | None) -> int:
    try:
        port = int(value) if value else DEFAULT_PORT
    except ValueError:
        raise CommandError(f"PORT must be a number between 1 and 65535, not {value!r}.") from None
    if not 0 < port < 65536:
        raise CommandError(f"PORT must be a number between 1 and 65535, not {value!r}.")
    return port


def check_port_free(host: str, port: int) -> None:
    """Fail early with advice, rather than let runserver die and take the worker with it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # runserver binds with SO_REUSEADDR too, so a port in TIME_WAIT is not "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise CommandError(
                f"Port {port} is already in use. Stop what is using it, or pick another port: "
                f"PORT={port + 1} make run"
            ) from None


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def public_url(host: str, port: int) -> str:
    """The address to open: "localhost" for a loopback or wildcard bind, as a newcomer expects."""
    name = "localhost" if host in ("127.0.0.1", "0.0.0.0", "localhost") else host  # noqa: S104
    return f"http://{name}:{port}/"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def describe_database() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite, {db['NAME']}"
    where = db.get("HOST") or "local socket"
    if db.get("PORT"):
        where += f":{db['PORT']}"
    return f"{connection.display_name}, {where}/{db['NAME']}"


def describe_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).parent
        return f"filesystem://, {folder}"
    return _without_password(url)


def describe_mail() -> str:
    mailer = settings.MAILERS["default"]
    if mailer["BACKEND"] == f"{FileAndConsoleEmailBackend.__module__}.FileAndConsoleEmailBackend":
        return f"written whole to {mailer['OPTIONS']['file_path']}, one line each shown below"
    options = mailer.get("OPTIONS", {})
    return f"sent through {options.get('host', mailer['BACKEND'])}"


def render_banner(
    *,
    url: str,
    logins: Sequence[DemoUser],
    database: str,
    broker: str,
    mail: str,
    logs: str = "",
) -> str:
    """The block printed once the web server answers: where to go and how to sign in."""
    rule = "─" * 72
    lines = [rule, f"  Rollout is running at {url}", ""]
    if logins:
        lines.append(f"  Demo logins (password: {DEMO_PASSWORD})")
        email = max(len(u.email) for u in logins)
        name = max(len(u.display_name) for u in logins)
        lines += [
            f"    {u.email:<{email}}  {u.display_name:<{name}}  {u.login_hint}" for u in logins
        ]
    else:
        lines.append("  No demo logins: this database had users already.")
        lines.append("  Add them with: python manage.py seed_demo")
    lines += [
        "",
        f"  Database  {database}",
        f"  Broker    {broker}",
        f"  Emails    {mail}",
        *([f"  Logs      {logs}"] if logs else []),
        f"  Health    {url}healthz",
        "",
        "  Press Ctrl-C to stop the web server, the worker and the scheduler.",
        rule,
    ]
    return "\n".join(lines)


def existing_demo_logins() -> list[DemoUser]:
    present = set(
        User.objects.filter(email__in=[u.email for u in DEMO_LOGINS], is_active=True).values_list(
            "email", flat=True
        )
    )
    return [u for u in DEMO_LOGINS if u.email in present]


def child_commands(host: str, port: int) -> dict[str, list[str]]:
    """What runs beside this command, by the name used in messages."""
    return {
        "web server": [
            sys.executable,
            str(settings.BASE_DIR / "manage.py"),
            "runserver",
            f"{host}:{port}",
            "--noreload",
        ],
        # --beat embeds the scheduler: right for one machine; production runs exactly one beat.
        "worker": [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "config",
            "worker",
            "--beat",
            "--loglevel=INFO",
            "--concurrency=2",
        ],
    }


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    def signal_group(self, signum: int) -> None:
        # Each child leads its own process group, so this also reaches what it started
        # (Celery's pool processes).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


def start_child(
    name: str, argv: Sequence[str], *, env: dict[str, str], cwd: Path, capture: bool = False
) -> Child:
    """Start a child; with `capture`, its output (stdout and stderr) comes to this process
    (`child.process.stdout`) instead of the terminal."""
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT} if capture else {}
    # A new session: the terminal's Ctrl-C reaches only this command, which then stops the
    # children in order, instead of every process receiving SIGINT at once.
    process = subprocess.Popen(  # noqa: S603 — argv is built here, never from user input
        list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, start_new_session=True, **output
    )
    return Child(name, process)


def first_exited(children: Sequence[Child]) -> Child | None:
    return next((c for c in children if c.process.poll() is not None), None)


@dataclass
class RestartBudget:
    """How often a child that exits on its own may be started again: `limit` exits within
    `window` seconds, so a crash loop (a wrong setting, a missing module) still stops the run."""

    limit: int
    window: float
    exits: list[float] = field(default_factory=list)

    def allows_restart(self, now: float) -> bool:
        self.exits = [t for t in self.exits if now - t < self.window]
        self.exits.append(now)
        return len(self.exits) <= self.limit


def stop_children(
    children: Sequence[Child],
    *,
    grace: float = GRACE_SECONDS,
    hurry: Callable[[], bool] = lambda: False,
) -> None:
    """Ask every child to stop (SIGTERM); after `grace` seconds, or at once when `hurry()` turns
    true (a second Ctrl-C), SIGKILL whatever is left of each child's process group."""
    for child in children:
        # Only the leader: Celery's main process stops its own pool in order, which a signal to
        # the whole group would cut short.
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not hurry():
        if all(c.process.poll() is not None for c in children):
            break
        time.sleep(0.05)
    for child in children:
        # Also when the leader has exited: its group may still hold orphaned pool processes.
        child.signal_group(signal.SIGKILL)
        child.process.wait()


class Command(BaseCommand):
    help = (
        "Run Rollout on this machine: migrate, seed the demo into an empty database, then run "
        "the web server, the Celery worker and the scheduler until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            help="Address to bind the web server to (default 127.0.0.1, this machine only).",
        )
        parser.add_argument(
            "--port",
            default=None,
            help=f"Port of the web server (default: $PORT, else {DEFAULT_PORT}).",
        )

    def handle(self, *args: object, host: str, port: str | None, **options: object) -> None:
        port_number = parse_port(port or os.environ.get("PORT"))
        check_port_free(host, port_number)
        url = public_url(host, port_number)

        prepare_database(self.stdout)
        banner = render_banner(
            url=url,
            logins=existing_demo_logins(),
            database=describe_database(),
            broker=describe_broker(),
            mail=describe_mail(),
            logs=f"worker and scheduler in {log_path()} (warnings and errors also here)",
        )
        # Children must not hold this process's connection (and SQLite's lock) while they run.
        connection.close()

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        # Links in emails (invitations, notices) must point at this server.
        env.setdefault("ROLLOUT_SITE_URL", url.rstrip("/"))
        commands = child_commands(host, port_number)

        signals: list[int] = []

        def request_stop(signum: int, frame: object) -> None:
            signals.append(signum)

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        children: list[Child] = []
        died: Child | None = None
        budgets = {name: RestartBudget(RESTART_LIMIT, RESTART_WINDOW) for name in RESTARTABLE}
        cwd = Path(settings.BASE_DIR)
        router = WorkerOutput()
        lock = threading.Lock()

        def show(line: str) -> None:
            with lock:
                self.stdout.write(line)

        def start(name: str) -> Child:
            child = start_child(name, commands[name], env=env, cwd=cwd, capture=name == LOGGED)
            if name == LOGGED:
                pump_output(child, router, log_path(), show)
            return child

        try:
            for name in commands:
                children.append(start(name))
            started = time.monotonic()
            banner_shown = False
            while not signals:
                died = first_exited(children)
                if (
                    died
                    and died.name in budgets
                    and budgets[died.name].allows_restart(time.monotonic())
                ):
                    self.stderr.write(
                        f"The {died.name} stopped unexpectedly (exit code "
                        f"{died.process.returncode}); starting it again. Its output above says why."
                    )
                    died.signal_group(signal.SIGKILL)  # what is left of its pool, if anything
                    children[children.index(died)] = start(died.name)
                    died = None
                    continue
                if died:
                    break
                # Last on screen at start: after the worker's own start (its warnings, if any).
                worker_ready = router.ready.is_set() or (
                    time.monotonic() - started > READY_PATIENCE
                )
                if not banner_shown and worker_ready and port_answers(host, port_number):
                    show(banner)
                    banner_shown = True
                time.sleep(POLL_SECONDS)
        finally:
            if children:
                self.stdout.write("Stopping the web server, the worker and the scheduler…")
                stop_children(children, hurry=lambda: len(signals) > 1)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if died:
            again = (
                f" {RESTART_LIMIT + 1} times in {RESTART_WINDOW / 60:.0f} minutes"
                if died.name in budgets
                else ""
            )
            raise CommandError(
                f"The {died.name} stopped unexpectedly{again} (exit code "
                f"{died.process.returncode}), so the other processes were stopped too. Its output "
                "above says why."
            )
        self.stdout.write("Stopped.")

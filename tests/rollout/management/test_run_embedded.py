import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.test import override_settings

from accounts.models import User
from rollout.management.commands import run_embedded
from rollout.management.commands.run_embedded import (
    Child,
    check_port_free,
    describe_broker,
    existing_demo_logins,
    first_exited,
    parse_port,
    prepare_database,
    public_url,
    render_banner,
    should_seed,
    start_child,
    stop_children,
)
from rollout.management.commands.seed_demo import DEMO_LOGINS, DEMO_PASSWORD
from rollout.models import Workflow
from tests.factories import UserFactory
from tests.waiting import PATIENCE, POLL, explain, read, run, wait_until

BASE_DIR = Path(settings.BASE_DIR)


# --- Pieces, in-process ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_should_seed_only_an_empty_database() -> None:
    assert should_seed()
    UserFactory()
    assert not should_seed()


@pytest.mark.django_db
def test_prepare_database_seeds_an_empty_database_once() -> None:
    out = StringIO()

    assert prepare_database(OutputWrapper(out)) is True
    users, workflows = User.objects.count(), Workflow.objects.count()
    assert "Empty database: adding the demo data." in out.getvalue()
    # 20 demo people, and at least the 40 + 24 agents and lawyers of the two outcome studies
    # (more when the holdout hash leaves an arm short: rollout.management.demo.outcomes).
    assert users >= 84 and workflows == 4

    out = StringIO()
    assert prepare_database(OutputWrapper(out)) is False
    assert (User.objects.count(), Workflow.objects.count()) == (users, workflows)
    assert "keeping its data, no demo seeding" in out.getvalue()


@pytest.mark.django_db
def test_prepare_database_never_adds_demo_users_beside_real_ones() -> None:
    UserFactory(email="first.customer@example.com")

    assert prepare_database(OutputWrapper(StringIO())) is False

    assert list(User.objects.values_list("email", flat=True)) == ["first.customer@example.com"]
    assert existing_demo_logins() == []


def test_banner_gives_the_address_and_the_four_demo_logins() -> None:
    banner = render_banner(
        url="http://localhost:8123/",
        logins=DEMO_LOGINS,
        database="SQLite, /srv/var/db.sqlite3",
        broker="filesystem://, /srv/var/broker",
        mail="written whole to /srv/var/mail, one line each shown below",
        logs="worker and scheduler in /srv/var/log/worker.log (warnings and errors also here)",
    )

    assert "Rollout is running at http://localhost:8123/" in banner
    assert f"Demo logins (password: {DEMO_PASSWORD})" in banner
    assert [u.email for u in DEMO_LOGINS] == [
        "ops@example.com",
        "owner@example.com",
        "member@example.com",
        "exec@example.com",
    ]
    for login in DEMO_LOGINS:
        line = rf"^    {re.escape(login.email)} +{login.display_name} +{login.login_hint}$"
        assert re.search(line, banner, re.M)
    assert "Database  SQLite, /srv/var/db.sqlite3" in banner
    assert "Emails    written whole to /srv/var/mail, one line each shown below" in banner
    assert (
        "Logs      worker and scheduler in /srv/var/log/worker.log (warnings and errors also here)"
    ) in banner
    assert "Health    http://localhost:8123/healthz" in banner
    assert "Press Ctrl-C to stop" in banner


def test_banner_without_demo_users_says_how_to_add_them() -> None:
    banner = render_banner(url="http://localhost:8000/", logins=[], database="", broker="", mail="")

    assert "Demo logins" not in banner
    assert "No demo logins: this database had users already." in banner
    assert "python manage.py seed_demo" in banner


@pytest.mark.django_db
def test_banner_lists_only_the_demo_logins_that_exist() -> None:
    UserFactory(email="exec@example.com")
    UserFactory(email="ops@example.com", is_active=False)

    assert [u.email for u in existing_demo_logins()] == ["exec@example.com"]


@pytest.mark.parametrize(
    ("value", "port"), [(None, 8000), ("", 8000), ("8123", 8123), ("65535", 65535)]
)
def test_port_comes_from_the_environment_with_8000_by_default(value: str | None, port: int) -> None:
    assert parse_port(value) == port


@pytest.mark.parametrize("value", ["eighty", "0", "70000", "-1"])
def test_a_bad_port_is_refused_with_a_clear_message(value: str) -> None:
    with pytest.raises(CommandError, match="PORT must be a number between 1 and 65535"):
        parse_port(value)


def test_a_port_in_use_is_refused_before_anything_starts() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=rf"Port {port} is already in use.*PORT={port + 1}"):
            check_port_free("127.0.0.1", port)


def test_the_address_printed_is_localhost_for_a_local_bind() -> None:
    assert public_url("127.0.0.1", 8000) == "http://localhost:8000/"
    assert public_url("0.0.0.0", 9000) == "http://localhost:9000/"  # noqa: S104
    assert public_url("10.1.2.3", 8000) == "http://10.1.2.3:8000/"


@override_settings(CELERY_BROKER_URL="redis://:s3cret@cache.internal:6380/2")
def test_the_broker_is_described_without_its_password() -> None:
    assert describe_broker() == "redis://:***@cache.internal:6380/2"


# --- Supervising child processes ------------------------------------------------------------------
# Each stand-in child announces that it is ready by creating a file, and the test waits for that
# file rather than for a guessed number of seconds; the `start` fixture kills whatever a test
# started, also when it fails halfway.


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _announce(path: Path, value: str = "os.getpid()") -> str:
    """Code for a child: write `value` to `path` all at once (a reader never sees half of it)."""
    tmp = f"{path}.tmp"
    return (
        f"import os; open({tmp!r}, 'w').write(str({value})); os.replace({tmp!r}, {str(path)!r})\n"
    )


def _sleep_forever() -> str:
    return f"import time; time.sleep({PATIENCE})\n"


@pytest.fixture
def start() -> Iterator[Callable[[str], Child]]:
    """Start a child running `code`; every child started is killed at the end of the test."""
    started: list[Child] = []

    def start_code(code: str) -> Child:
        child = start_child("test child", _python(code), env=dict(os.environ), cwd=BASE_DIR)
        started.append(child)
        return child

    yield start_code
    for child in started:
        child.signal_group(signal.SIGKILL)
        child.process.wait()


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has stopped running


def _ignoring_sigterm(start: Callable[[str], Child], tmp_path: Path) -> Child:
    """A child that ignores SIGTERM, once it has said its handler is in place."""
    ready = tmp_path / "handler-installed"
    child = start(
        "import signal\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + _announce(ready) + _sleep_forever()
    )
    wait_until(ready.exists, "The child to install its SIGTERM handler")
    return child


def test_each_child_leads_its_own_process_group(start) -> None:
    child = start(_sleep_forever())

    assert os.getpgid(child.process.pid) == child.process.pid != os.getpgid(0)


def test_first_exited_finds_the_child_that_died(start) -> None:
    sleeper = start(_sleep_forever())
    crasher = start("raise SystemExit(3)")

    crasher.process.wait(timeout=PATIENCE)

    assert first_exited([sleeper, crasher]) is crasher
    assert crasher.process.returncode == 3
    stop_children([sleeper, crasher], grace=PATIENCE)  # returns as soon as both have stopped
    assert sleeper.process.returncode == -signal.SIGTERM
    assert first_exited([sleeper]) is sleeper


def test_stop_kills_a_child_that_ignores_sigterm_after_the_grace_period(
    start, tmp_path: Path
) -> None:
    stubborn = _ignoring_sigterm(start, tmp_path)
    started = time.monotonic()

    stop_children([stubborn], grace=1)

    # Killed once the grace period was over: not before it, and not left to sleep for minutes.
    assert 1 <= time.monotonic() - started < PATIENCE / 2
    assert stubborn.process.returncode == -signal.SIGKILL


def test_stop_also_ends_what_a_child_started(start, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    parent = start(
        "import subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-c', {_sleep_forever()!r}])\n"
        + _announce(pid_file, "p.pid")
        + _sleep_forever()
    )
    grandchild = int(wait_until(lambda: read(pid_file), "The child to start a grandchild"))
    assert not _gone(grandchild)

    stop_children([parent], grace=PATIENCE)

    wait_until(lambda: _gone(grandchild), "The grandchild to stop")


def test_a_second_ctrl_c_stops_at_once(start, tmp_path: Path) -> None:
    stubborn = _ignoring_sigterm(start, tmp_path)
    started = time.monotonic()

    stop_children([stubborn], grace=PATIENCE, hurry=lambda: True)

    # Far sooner than the grace period it would otherwise have been given.
    assert time.monotonic() - started < PATIENCE / 2
    assert stubborn.process.returncode == -signal.SIGKILL


# --- The command's own loop, in-process, with stand-in children ---------------------------------


@pytest.fixture
def stand_in_children(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run `run_embedded` with the given child programs instead of runserver and Celery."""
    monkeypatch.setattr(run_embedded, "prepare_database", lambda stdout: False)
    monkeypatch.setattr(run_embedded, "existing_demo_logins", lambda: [])
    monkeypatch.setattr(run_embedded, "log_path", lambda: tmp_path / "log" / "worker.log")

    def use(**programs: str) -> None:
        monkeypatch.setattr(
            run_embedded,
            "child_commands",
            lambda host, port: {name: _python(code) for name, code in programs.items()},
        )

    return use


def _dies_once_exists(path: Path, code: int = 3) -> str:
    """Code for a child that exits with `code` once `path` exists, however long that takes."""
    return (
        "import os, time\n"
        f"deadline = time.monotonic() + {PATIENCE}\n"
        f"while not os.path.exists({str(path)!r}) and time.monotonic() < deadline:\n"
        f"    time.sleep({POLL})\n"
        f"raise SystemExit({code})"
    )


def test_when_the_web_server_dies_the_others_are_stopped_and_the_exit_is_an_error(
    stand_in_children, tmp_path: Path
) -> None:
    pid_file = tmp_path / "worker.pid"
    stand_in_children(
        **{
            # Dies once the worker is up (there is one to stop).
            "web server": _dies_once_exists(pid_file),
            "worker": _announce(pid_file) + _sleep_forever(),
        }
    )
    out = StringIO()

    with pytest.raises(CommandError) as error:
        call_command("run_embedded", port=str(_free_port()), stdout=out)

    assert str(error.value) == (
        "The web server stopped unexpectedly (exit code 3), so the other processes were stopped "
        "too. Its output above says why."
    )
    assert _gone(int(pid_file.read_text()))
    assert "Stopping the web server, the worker and the scheduler…" in out.getvalue()


def test_a_worker_that_exits_on_its_own_is_started_again(stand_in_children, tmp_path: Path) -> None:
    """As after a broker outage that made Celery give up: the next worker carries on, the web
    server is left alone, and the run still stops cleanly."""
    starts = tmp_path / "starts"
    starts.mkdir()
    web_pid = tmp_path / "web.pid"
    stand_in_children(
        **{
            "web server": _announce(web_pid) + _sleep_forever(),
            # The first worker exits with 1 once the web server is up; the second stays.
            "worker": f"import os; starts = sorted(os.listdir({str(starts)!r}))\n"
            f"open({str(starts)!r} + f'/{{len(starts)}}', 'w')\n"
            "if not starts:\n"
            + "".join(f"    {line}\n" for line in _dies_once_exists(web_pid, 1).splitlines())
            + _sleep_forever(),
        }
    )
    handler_before = signal.getsignal(signal.SIGTERM)
    finished = threading.Event()

    def terminate_when_restarted() -> None:
        while len(list(starts.iterdir())) < 2:
            if finished.wait(POLL):
                return
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_restarted, daemon=True).start()
    out, err = StringIO(), StringIO()
    try:
        call_command("run_embedded", port=str(_free_port()), stdout=out, stderr=err)
    finally:
        finished.set()
        signal.signal(signal.SIGTERM, handler_before)

    assert sorted(p.name for p in starts.iterdir()) == ["0", "1"]
    assert "The worker stopped unexpectedly (exit code 1); starting it again." in err.getvalue()
    assert out.getvalue().rstrip().endswith("Stopped.")
    assert _gone(int(web_pid.read_text()))


def test_a_worker_that_keeps_dying_stops_the_run(
    stand_in_children, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(run_embedded, "RESTART_LIMIT", 2)
    web_pid = tmp_path / "web.pid"
    stand_in_children(
        **{
            "web server": _announce(web_pid) + _sleep_forever(),
            "worker": "raise SystemExit(7)",
        }
    )
    err = StringIO()

    with pytest.raises(CommandError) as error:
        call_command("run_embedded", port=str(_free_port()), stdout=StringIO(), stderr=err)

    assert str(error.value) == (
        "The worker stopped unexpectedly 3 times in 10 minutes (exit code 7), so the other "
        "processes were stopped too. Its output above says why."
    )
    assert err.getvalue().count("starting it again") == 2


# --- The terminal: the worker's chatter in var/log/, its warnings and emails on screen -----------


def test_the_worker_router_shows_warnings_errors_their_tracebacks_and_email_lines() -> None:
    router = run_embedded.WorkerOutput()
    lines = [
        "[2026-12-06 16:00:00,001: INFO/MainProcess] Connected to filesystem://localhost//",
        "[2026-12-06 16:00:00,002: INFO/Beat] Scheduler: Sending due task deliver-notices",
        "[2026-12-06 16:00:01,003: INFO/MainProcess] celery@box ready.",
        "[2026-12-06 16:00:02,004: WARNING/MainProcess] Could not email notification 4",
        "[2026-12-06 16:00:03,005: ERROR/ForkPoolWorker-1] Task rollout.tasks.x raised",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ValueError: boom",
        "[2026-12-06 16:00:04,006: INFO/ForkPoolWorker-1] Task rollout.tasks.x succeeded",
        "  a continued info line",
        "[2026-12-06 16:00:05,007: WARNING/ForkPoolWorker-2] Email to amy@example.com · "
        "[Rollout] New prompt · http://localhost:8000/inbox/3/ (whole message in var/mail/a.log)",
        "Email to ben@example.com · [Rollout] Hi (whole message in var/mail/a.log)",
        "  after an email line",
    ]
    shown = [router.to_terminal(line) for line in lines]

    assert [line for line in shown if line is not None] == [
        "[2026-12-06 16:00:02,004: WARNING/MainProcess] Could not email notification 4",
        "[2026-12-06 16:00:03,005: ERROR/ForkPoolWorker-1] Task rollout.tasks.x raised",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ValueError: boom",
        "Email to amy@example.com · [Rollout] New prompt · http://localhost:8000/inbox/3/ "
        "(whole message in var/mail/a.log)",
        "Email to ben@example.com · [Rollout] Hi (whole message in var/mail/a.log)",
    ]
    assert router.ready.is_set()


def test_the_worker_is_not_ready_until_celery_says_so() -> None:
    router = run_embedded.WorkerOutput()
    router.to_terminal(
        "[2026-12-06 16:00:00,001: INFO/MainProcess] mingle: searching for neighbors"
    )
    assert not router.ready.is_set()


def test_a_childs_output_goes_to_its_log_file_and_the_chosen_lines_to_the_terminal(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log" / "worker.log"
    log.parent.mkdir()
    log.write_bytes(b"from an earlier run\n")
    code = (
        "import sys\n"
        "print('[2026-12-06 16:00:00,001: INFO/MainProcess] chatter')\n"
        "print('[2026-12-06 16:00:00,002: ERROR/MainProcess] it broke', file=sys.stderr)\n"
        "print('Email to amy@example.com · [Rollout] Hi · http://x/ (whole message in m.log)')\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # as run_embedded gives its children
    child = start_child("worker", _python(code), env=env, cwd=BASE_DIR, capture=True)
    shown: list[str] = []
    thread = run_embedded.pump_output(child, run_embedded.WorkerOutput(), log, shown.append)
    child.process.wait(timeout=PATIENCE)
    thread.join(timeout=PATIENCE)

    assert log.read_text().splitlines() == [
        "from an earlier run",  # appended to, never emptied
        "[2026-12-06 16:00:00,001: INFO/MainProcess] chatter",
        "[2026-12-06 16:00:00,002: ERROR/MainProcess] it broke",
        "Email to amy@example.com · [Rollout] Hi · http://x/ (whole message in m.log)",
    ]
    assert shown == [
        "[2026-12-06 16:00:00,002: ERROR/MainProcess] it broke",
        "Email to amy@example.com · [Rollout] Hi · http://x/ (whole message in m.log)",
    ]


def test_restart_budget_forgets_exits_older_than_its_window() -> None:
    budget = run_embedded.RestartBudget(limit=2, window=60)

    assert budget.allows_restart(0) and budget.allows_restart(10)
    assert not budget.allows_restart(20)  # a third exit within a minute
    assert budget.allows_restart(75)  # the exits at 0 and 10 s are forgotten


def test_sigterm_stops_every_child_and_exits_cleanly(stand_in_children, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    code = f"import os; open({str(pids)!r} + f'/{{os.getpid()}}', 'w')\n" + _sleep_forever()
    stand_in_children(**{"web server": code, "worker": code})
    finished = threading.Event()

    def terminate_when_started() -> None:
        # Both children have started once both have written their file; never signal this
        # process after the command has returned (the test failing otherwise).
        while len(list(pids.iterdir())) < 2:
            if finished.wait(POLL):
                return
        os.kill(os.getpid(), signal.SIGTERM)

    handler_before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=terminate_when_started, daemon=True).start()
    out = StringIO()

    try:
        call_command("run_embedded", port=str(_free_port()), stdout=out)
    finally:
        finished.set()

    assert out.getvalue().endswith("Stopped.\n")
    assert all(_gone(int(pid.name)) for pid in pids.iterdir())
    assert signal.getsignal(signal.SIGTERM) is handler_before


# --- The real thing: `manage.py run_embedded` in a subprocess -------------------------------------
# Starting migrates a new database and seeds the whole demo (tens of thousands of usage events)
# before the web server and the worker start: under half a minute on an idle machine, several
# minutes on a loaded one. The tests wait for the signs that it is up, however long that takes.
STARTUP_PATIENCE = 10 * 60.0
# What the test run itself may be given (CI: PostgreSQL, Redis): left out, so that the command
# runs on `make run`'s embedded defaults under a var/ directory of the test's own.
SERVICES = {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "ROLLOUT_SITE_URL"}


def _embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SERVICES}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", ROLLOUT_VAR_DIR=str(var_dir))
    return env | extra


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _identities(pids: set[int]) -> dict[int, str]:
    """Each running process's start time, which tells it from a later one given the same pid."""
    found = {}
    for pid in pids:
        try:
            found[pid] = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _kill_everything(command: subprocess.Popen[bytes], seen: dict[int, str]) -> None:
    """SIGKILL the command and what it started that still runs, with their process groups (each
    child leads one; Celery's pool processes are in the worker's). Only processes seen under the
    command, and still the same ones: a pid reused by someone else's process is left alone."""
    seen = {**seen, **_identities(_descendants(command.pid))}
    now = _identities(set(seen))
    for pid, identity in seen.items():
        if now.get(pid) != identity or _gone(pid):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(command.pid, signal.SIGKILL)  # not reaped yet, so still this command's group
    command.wait(timeout=PATIENCE)


def _get(url: str, opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str]:
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=PATIENCE) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_make_run_serves_the_product_and_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    port = _free_port()
    env = _embedded_env(tmp_path / "var", PORT=str(port))
    log_path = tmp_path / "run.log"
    base = f"http://localhost:{port}/"
    with log_path.open("w") as log:
        command = subprocess.Popen(
            [sys.executable, "manage.py", "run_embedded"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    seen: dict[int, str] = {}  # every process the command started, for the clean-up
    worker_log = tmp_path / "var" / "log" / "worker.log"
    at_start: list[str] = []
    try:

        def up() -> tuple[int, str] | None:
            """/healthz's answer once the banner is out, the worker ready and /healthz says 200."""
            assert command.poll() is None, f"run_embedded exited early:\n{read(log_path)}"
            seen.update(_identities(_descendants(command.pid)))
            output = read(log_path)
            # The banner comes once the web server answers and the worker (its log says) is ready.
            if f"running at {base}" not in output or output.count("─" * 72) < 2:
                return None  # not yet, or the banner half written
            at_start.append(output)  # before this test's own requests add to it
            assert re.search(r"celery@\S+ ready\.", read(worker_log)), read(worker_log)
            try:
                health = _get(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                return None
            return health if health[0] == 200 else None

        health = wait_until(
            up,
            "Rollout up (banner printed, worker ready, /healthz 200)",
            limit=STARTUP_PATIENCE,
            poll=0.2,
            details=lambda: read(log_path),
        )

        assert '"database": "ok"' in health[1] and '"broker": "ok"' in health[1]
        # The banner is the last thing on screen at start; the worker's chatter is in its log.
        assert at_start[0].rstrip().endswith("─" * 72), at_start[0]
        assert f"Logs      worker and scheduler in {worker_log}" in at_start[0]
        assert "celery@" not in at_start[0] and "celery@" in read(worker_log)
        output = log_path.read_text()
        assert "Empty database: adding the demo data." in output
        for login in DEMO_LOGINS:
            assert login.email in output
        assert (tmp_path / "var" / "db.sqlite3").exists()

        # A demo login works through the real login page.
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect
        )
        status, page = _get(f"http://127.0.0.1:{port}/accounts/login/", opener)
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1),
                "username": "ops@example.com",
                "password": DEMO_PASSWORD,
            }
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/accounts/login/",
            data=form,
            headers={"Referer": f"http://127.0.0.1:{port}/accounts/login/"},
        )
        try:
            opener.open(request, timeout=PATIENCE)
            pytest.fail("Signing in with a demo login did not redirect")
        except urllib.error.HTTPError as exc:
            assert exc.code == 302, exc.read().decode()
            assert "/accounts/login/" not in exc.headers["Location"]

        started = _descendants(command.pid)
        seen.update(_identities(started))
        names = [_cmdline(pid) for pid in started]
        assert any(b"runserver" in name for name in names)
        # Celery's main process, its embedded beat process and its two pool processes.
        assert sum(b"celery" in name for name in names) == 4, names

        command.send_signal(signal.SIGINT)
        assert command.wait(timeout=PATIENCE) == 0, read(log_path)
        assert [pid for pid in started if not _gone(pid)] == []
        assert read(log_path).rstrip().endswith("Stopped.")
    finally:
        _kill_everything(command, seen)


def test_a_second_run_keeps_the_data(tmp_path: Path) -> None:
    """What `make run` does on start, twice over the same var/ directory."""
    env = _embedded_env(tmp_path)
    code = (
        "import django; django.setup()\n"
        "from django.core.management.base import OutputWrapper\n"
        "import sys\n"
        "from rollout.management.commands.run_embedded import prepare_database\n"
        "from accounts.models import User\n"
        "print(prepare_database(OutputWrapper(sys.stderr)), User.objects.count())\n"
    )
    runs = []
    for _ in range(2):
        result = run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, limit=STARTUP_PATIENCE)
        assert result.returncode == 0, explain(result)
        runs.append(result.stdout.split())

    (seeded, users), (again, kept) = runs
    # At least 84 people (see above), and the same ones on the second run.
    assert (seeded, again) == ("True", "False") and int(users) >= 84 and kept == users

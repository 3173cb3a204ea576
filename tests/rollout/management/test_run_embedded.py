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
    assert users == 20 and workflows == 4

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
        mail="written to /srv/var/mail and shown below",
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
    assert "Emails    written to /srv/var/mail and shown below" in banner
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


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _start(code: str) -> Child:
    return start_child("test child", _python(code), env=dict(os.environ), cwd=BASE_DIR)


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has stopped running


def test_each_child_leads_its_own_process_group() -> None:
    child = _start("import time; time.sleep(30)")
    try:
        assert os.getpgid(child.process.pid) == child.process.pid != os.getpgid(0)
    finally:
        stop_children([child], grace=1)


def test_first_exited_finds_the_child_that_died() -> None:
    sleeper = _start("import time; time.sleep(30)")
    crasher = _start("raise SystemExit(3)")
    try:
        crasher.process.wait(timeout=10)
        assert first_exited([sleeper, crasher]) is crasher
        assert crasher.process.returncode == 3
    finally:
        stop_children([sleeper, crasher], grace=5)
    assert sleeper.process.returncode == -signal.SIGTERM
    assert first_exited([sleeper]) is sleeper


def test_stop_kills_a_child_that_ignores_sigterm_after_the_grace_period() -> None:
    stubborn = _start(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)"
    )
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()

    stop_children([stubborn], grace=1)

    assert 1 <= time.monotonic() - started < 5
    assert stubborn.process.returncode == -signal.SIGKILL


def test_stop_also_ends_what_a_child_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    parent = _start(
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)"
    )
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert not _gone(grandchild)

    stop_children([parent], grace=5)

    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild)


def test_a_second_ctrl_c_stops_at_once() -> None:
    stubborn = _start(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)"
    )
    time.sleep(0.5)
    started = time.monotonic()

    stop_children([stubborn], grace=30, hurry=lambda: True)

    assert time.monotonic() - started < 3
    assert stubborn.process.returncode == -signal.SIGKILL


# --- The command's own loop, in-process, with stand-in children ---------------------------------


@pytest.fixture
def stand_in_children(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run `run_embedded` with the given child programs instead of runserver and Celery."""
    monkeypatch.setattr(run_embedded, "prepare_database", lambda stdout: False)
    monkeypatch.setattr(run_embedded, "existing_demo_logins", lambda: [])

    def use(**programs: str) -> None:
        monkeypatch.setattr(
            run_embedded,
            "child_commands",
            lambda host, port: {name: _python(code) for name, code in programs.items()},
        )

    return use


def test_when_a_child_dies_the_others_are_stopped_and_the_exit_is_an_error(
    stand_in_children, tmp_path: Path
) -> None:
    pid_file = tmp_path / "web.pid"
    stand_in_children(
        **{
            "web server": f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid()));"
            " time.sleep(60)",
            "worker": "import time; time.sleep(1); raise SystemExit(3)",
        }
    )
    out = StringIO()

    with pytest.raises(CommandError) as error:
        call_command("run_embedded", port=str(_free_port()), stdout=out)

    assert str(error.value) == (
        "The worker stopped unexpectedly (exit code 3), so the other processes were stopped "
        "too. Its output above says why."
    )
    assert _gone(int(pid_file.read_text()))
    assert "Stopping the web server, the worker and the scheduler…" in out.getvalue()


def test_sigterm_stops_every_child_and_exits_cleanly(stand_in_children, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    code = f"import os, time; open({str(pids)!r} + f'/{{os.getpid()}}', 'w'); time.sleep(60)"
    stand_in_children(**{"web server": code, "worker": code})

    def terminate_when_started() -> None:
        deadline = time.monotonic() + 20
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    handler_before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=terminate_when_started, daemon=True).start()
    out = StringIO()

    call_command("run_embedded", port=str(_free_port()), stdout=out)

    assert out.getvalue().endswith("Stopped.\n")
    assert all(_gone(int(pid.name)) for pid in pids.iterdir())
    assert signal.getsignal(signal.SIGTERM) is handler_before


# --- The real thing: `manage.py run_embedded` in a subprocess -------------------------------------


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


def _get(url: str, opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str]:
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_make_run_serves_the_product_and_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # The embedded defaults, whatever services the test run itself uses.
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL", "ROLLOUT_SITE_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        ROLLOUT_VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
    )
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
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 45
        health: tuple[int, str] = (0, "")
        while time.monotonic() < deadline:
            assert command.poll() is None, log_path.read_text()
            output = log_path.read_text()
            try:
                health = _get(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                health = (0, "")
            worker_ready = re.search(r"celery@\S+ ready\.", output)
            if health[0] == 200 and worker_ready and f"running at {base}" in output:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"Not up within 45 s (health {health}):\n{log_path.read_text()}")

        assert '"database": "ok"' in health[1] and '"broker": "ok"' in health[1]
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
            opener.open(request, timeout=5)
            pytest.fail("Signing in with a demo login did not redirect")
        except urllib.error.HTTPError as exc:
            assert exc.code == 302, exc.read().decode()
            assert "/accounts/login/" not in exc.headers["Location"]

        started = _descendants(command.pid)
        names = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in started]
        assert any(b"runserver" in name for name in names)
        # Celery's main process, its embedded beat process and its two pool processes.
        assert sum(b"celery" in name for name in names) == 4

        command.send_signal(signal.SIGINT)
        assert command.wait(timeout=20) == 0, log_path.read_text()
        assert [pid for pid in started if not _gone(pid)] == []
        assert log_path.read_text().rstrip().endswith("Stopped.")
    finally:
        for pid in {command.pid} | started:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
        command.wait(timeout=5)


def test_a_second_run_keeps_the_data(tmp_path: Path) -> None:
    """What `make run` does on start, twice over the same var/ directory."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", ROLLOUT_VAR_DIR=str(tmp_path))
    code = (
        "import django; django.setup()\n"
        "from django.core.management.base import OutputWrapper\n"
        "import sys\n"
        "from rollout.management.commands.run_embedded import prepare_database\n"
        "from accounts.models import User\n"
        "print(prepare_database(OutputWrapper(sys.stderr)), User.objects.count())\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs == [["True", "20"], ["False", "20"]]

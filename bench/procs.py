"""The run's processes: gunicorn, Celery workers. Each in its own process group with its log under
var/bench/<run id>/, and every one of them stopped at the end of the run (`stop_all`)."""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.client import get_status
from bench.resources import PREFIX, ROOT, VAR

BIN = Path(sys.executable).parent
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>
_procs: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in the child
except (OSError, AttributeError):  # not Linux: a killed run may leave its servers behind
    _prctl = None


def _terminated_with_the_harness() -> None:
    """In the child, before exec: SIGTERM when the harness dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG), so that no server of a killed run stays behind."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(argv: list[str], name: str, env: dict) -> subprocess.Popen:
    VAR.mkdir(parents=True, exist_ok=True)
    out = open(VAR / f"{name}.log", "ab")  # noqa: SIM115 — kept open for the process's life
    proc = subprocess.Popen(  # noqa: S603 — fixed arguments
        argv,
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_terminated_with_the_harness,  # noqa: PLW1509 — one C call, no lock taken
    )
    _procs.append(proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to its group (a warm shutdown), SIGKILL after 20 s."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if proc in _procs:
        _procs.remove(proc)


def stop_all() -> None:
    for proc in reversed(list(_procs)):
        stop(proc)


def start_gunicorn(env: dict, port: int, workers: int) -> subprocess.Popen:
    argv = [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--log-level", "warning", "--timeout", "120"]
    proc = spawn(argv, "gunicorn", env)
    for _ in range(150):
        try:
            if get_status(port, "/healthz") in (200, 503):
                return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    sys.exit(f"gunicorn did not start ({VAR / 'gunicorn.log'})")


def cpu_seconds(parent: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by the children of `parent` (gunicorn's workers):
    unlike requests/s, hardly moved by what else the machine runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == parent.pid:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def worker_name(n: int) -> str:
    return f"{PREFIX}-{n}@{socket.gethostname()}"


def start_worker(env: dict, n: int) -> subprocess.Popen:
    """One Celery worker process (concurrency 1) on the run's own queue. No gossip, mingle or
    heartbeat: they broadcast to every worker on the broker, and start-up waits for mingle."""
    argv = [str(BIN / "celery"), "-A", "config", "worker", "--concurrency", "1"]
    argv += ["-n", worker_name(n), "--without-gossip", "--without-mingle", "--without-heartbeat"]
    argv += ["--loglevel", "WARNING"]
    return spawn(argv, f"worker-{n}", env)


def wait_workers_ready(names: list[str], limit: float = 60) -> None:
    """Until every named worker answers a ping on the run's control exchange."""
    from celery import current_app

    end = time.monotonic() + limit
    while time.monotonic() < end:
        replies = current_app.control.ping(destination=names, timeout=1.0) or []
        if {name for reply in replies for name in reply} >= set(names):
            return
    sys.exit(f"Celery workers {names} did not answer ({VAR}/worker-*.log)")

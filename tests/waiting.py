"""Waiting in tests: on a readiness signal, with limits in minutes, polling often.

A loaded machine (CI on two cores, a parallel test run) can be many times slower than an idle
one, so no test bets on how long something takes. A test waits for the thing itself — a line the
process prints, a file appearing, a port or /healthz answering, a process ending — and the limit
only stops a test that would otherwise hang: it is generous, and the poll is short, so on an idle
machine each wait still ends as soon as what it waits for has happened.
"""

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

# The most any single wait may take before the test fails, in seconds.
PATIENCE = 5 * 60.0
POLL = 0.05


def wait_until[T](
    condition: Callable[[], T],
    what: str,
    *,
    limit: float = PATIENCE,
    poll: float = POLL,
    details: Callable[[], str] = lambda: "",
) -> T:
    """Call `condition` every `poll` seconds until it returns something true, and return that;
    fail the test, saying `what` did not happen and showing `details()`, after `limit` seconds."""
    started = time.monotonic()
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() - started > limit:
            pytest.fail(f"{what}: not within {limit:.0f} s.\n{details()}".rstrip())
        time.sleep(poll)


def run(
    argv: Sequence[str], *, limit: float = PATIENCE, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run` with text output captured and a limit in minutes: a process still running
    after `limit` seconds is killed and the test fails showing what it wrote so far."""
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=limit, **kwargs)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{' '.join(map(str, argv))[:200]} still running after {limit:.0f} s.\n"
            f"stdout:\n{_text(exc.stdout)}\nstderr:\n{_text(exc.stderr)}"
        )


def explain(result: subprocess.CompletedProcess[str], tail: int = 60) -> str:
    """A failed process's exit code and the end of what it wrote, for an assertion message."""
    return (
        f"exit code {result.returncode}\n"
        f"stdout:\n{_last_lines(result.stdout, tail)}\n"
        f"stderr:\n{_last_lines(result.stderr, tail)}"
    )


def read(path: Path) -> str:
    """The text of a file a process writes to, or "" before it appears."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    return _last_lines(output or "", 60)


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])

"""Running one piece of work in several threads at once, as several workers would."""

import threading
from collections.abc import Callable

from django.db import connection

from tests.waiting import PATIENCE


def at_once[T](work: Callable[[], T], n: int = 2) -> list[T]:
    """Run `work` in `n` threads (named worker-0, worker-1, …) released together by a barrier;
    each closes its own database connection. Returns their results; raises the first error one
    of them raised, and fails when one is still running after PATIENCE."""
    start = threading.Barrier(n)
    results: list[T] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 — raised again in the calling thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PATIENCE)
    assert not any(thread.is_alive() for thread in threads), "A worker still running"
    if errors:
        raise errors[0]
    return results

"""A local SMTP sink in a process of its own (aiosmtpd), counting what arrives.

Its own process, so that it neither shares the harness's interpreter lock nor slows the harness's
polling: the figure is the time until the last message arrives, read from the time the sink itself
stamped on it. The count and that time live in shared memory; `reset()` starts a new count. The
first message that arrives is kept (`sample()`): the baseline sends copies of the product's own
message, so both sides move the same bytes.
"""

import base64
import json
import multiprocessing
import os
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path


class _Counting:
    """aiosmtpd's handler: one count per accepted message (each message has one recipient)."""

    def __init__(self, count: Synchronized, last_at: Synchronized, sample: Path) -> None:
        self.count, self.last_at, self.sample = count, last_at, sample

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        if not self.sample.exists():
            self.sample.write_text(
                json.dumps(
                    {
                        "mail_from": envelope.mail_from,
                        "rcpt_to": envelope.rcpt_tos[0],
                        "content": base64.b64encode(envelope.original_content).decode(),
                    }
                )
            )
        with self.count.get_lock():
            self.count.value += 1
            self.last_at.value = time.time()
        return "250 OK"


def _serve(port: int, count: Synchronized, last_at: Synchronized, sample: Path, ready) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(
        _Counting(count, last_at, sample), hostname="127.0.0.1", port=port, ready_timeout=60
    )
    controller.start()
    ready.set()
    harness = os.getppid()
    while os.getppid() == harness:  # ends with the harness, even one killed outright
        time.sleep(1)
    controller.stop()


class Sink:
    def __init__(self, port: int, sample: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.port, self.sample_path = port, sample
        self._count = context.Value("q", 0)
        self._last_at = context.Value("d", 0.0)
        ready = context.Event()
        self.process = context.Process(
            target=_serve, args=(port, self._count, self._last_at, sample, ready), daemon=True
        )
        self.process.start()
        if not ready.wait(60):
            self.stop()
            raise RuntimeError("the SMTP sink did not start")

    def reset(self) -> None:
        with self._count.get_lock():
            self._count.value = 0
            self._last_at.value = 0.0

    def count(self) -> int:
        return self._count.value

    def last_at(self) -> float:
        """time.time() at which the latest message arrived."""
        return self._last_at.value

    def sample(self) -> tuple[str, str, bytes] | None:
        """(mail from, recipient, content) of the first message that arrived, if any."""
        if not self.sample_path.exists():
            return None
        kept = json.loads(self.sample_path.read_text())
        return kept["mail_from"], kept["rcpt_to"], base64.b64decode(kept["content"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)

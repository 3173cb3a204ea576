"""A redis-server of the test's own, on a free port, that a test can take down and bring back.

Never the machine's Redis: each server listens on a port the kernel picked, keeps its dump in the
test's tmp_path and is stopped by the handle that started it. `stop()` saves the data and closes
the port (a real outage: connections are refused); `start()` again loads that dump, so the server
comes back with its old data, as a restarted production Redis does.
"""

import contextlib
import socket
import subprocess
from pathlib import Path

import redis

from tests.waiting import PATIENCE, wait_until

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def _answers(self) -> bool:
        try:
            return bool(self._client().ping())
        except redis.exceptions.ConnectionError:
            return False

    def _log(self) -> str:
        log = self.directory / "redis.log"
        return log.read_text()[-3000:] if log.exists() else ""

    def start(self) -> None:
        # --save '' turns periodic snapshots off; SHUTDOWN SAVE still writes the dump, and a
        # start finds it in --dir and loads it.
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--dbfilename", "dump.rdb",
                "--logfile", str(self.directory / "redis.log"),
            ],
        )  # fmt: skip
        wait_until(self._answers, f"redis-server on port {self.port} answering", details=self._log)

    def stop(self) -> None:
        """Save the data and exit: from now on the port refuses connections."""
        assert self.process is not None
        # The server may close the connection as it exits, before it answers.
        with contextlib.suppress(redis.exceptions.ConnectionError):
            self._client().shutdown(save=True)
        self.process.wait(timeout=PATIENCE)
        self.process = None
        assert (self.directory / "dump.rdb").exists(), self._log()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=PATIENCE)
            self.process = None

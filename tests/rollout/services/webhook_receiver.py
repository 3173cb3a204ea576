"""A real HTTP receiver for the webhook tests, and an activity entry to send to it."""

import threading
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, HTTPServer

from accounts.models import User
from rollout.models import ActivityEntry, Workflow
from rollout.services.activity import activity_record


class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread, answering each POST with `status` and
    `answer_headers`; a webhook's receiver or a chat platform's (a local sink)."""

    def __init__(self) -> None:
        self.status = 204
        self.answer_headers: dict[str, str] = {}
        # The headers as received (an HTTPMessage: names match whatever their case).
        self.requests: list[tuple[HTTPMessage, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 — http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))
                self.send_response(receiver.status)
                for name, value in receiver.answer_headers.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def record(workflow: Workflow, actor: User | None = None, verb: str = "paused") -> ActivityEntry:
    return activity_record(
        workflow=workflow,
        actor=actor,
        verb=verb,
        target="Shadow mode",
        changes={"Status": ["Active", "Paused"]},
        note="Too many wrong replies",
    )

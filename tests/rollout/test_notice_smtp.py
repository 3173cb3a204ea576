"""A real SMTP conversation: the notice sender talks to a local aiosmtpd server, one connection
for the batch, one message per recipient with a text and an HTML part."""

import re
import socket
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from rollout.models import DeliveryStatus, NoticeDelivery
from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
from tests.rollout.notice_fixtures import make_notice, make_scene
from tests.waiting import PATIENCE

pytestmark = pytest.mark.django_db


class Recorder:
    """Keeps every message and counts the SMTP sessions (connections)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.sessions: set[int] = set()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        self.sessions.add(id(session))
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    # start() returns once the server answers; the limit only matters on a loaded machine.
    controller = Controller(
        recorder, hostname="127.0.0.1", port=_free_port(), ready_timeout=PATIENCE
    )
    controller.start()
    yield controller, recorder
    controller.stop()


def test_notice_emails_go_over_one_smtp_connection_with_text_and_html(smtp_server):
    controller, recorder = smtp_server
    scene = make_scene()
    notice = make_notice(scene)
    notices_publish_due()
    mailers = {
        "default": {
            "BACKEND": "core.mail.SMTPBackend",
            "OPTIONS": {
                "host": controller.hostname,
                "port": controller.port,
                "timeout": PATIENCE,
            },
        }
    }

    with override_settings(MAILERS=mailers, SITE_URL="https://rollout.example.com"):
        assert notice_deliveries_send() == 5

    assert sorted(to for to, _ in recorder.messages) == [
        ["amy@example.com"],
        ["cat@example.com"],
    ]
    assert len(recorder.sessions) == 1
    for _, raw in recorder.messages:
        message = message_from_bytes(raw)
        assert message["Subject"] == "[Rollout] New reply prompt from Monday"
        # As the mail server got it: the one-click link on one line, never encoded-words.
        assert re.search(
            rb"\r\nList-Unsubscribe: <http[^>\s]+/email/unsubscribe/[^>\s]+/>\r\n", raw
        )
        assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
        parts = {part.get_content_type(): part for part in message.walk()}
        assert message.get_content_type() == "multipart/alternative"
        text = parts["text/plain"].get_payload(decode=True).decode()
        html = parts["text/html"].get_payload(decode=True).decode()
        assert "https://rollout.example.com/inbox/" in text
        assert "<strong>shorten</strong>" in html
    assert set(
        NoticeDelivery.objects.filter(notice=notice, channel="email").values_list(
            "status", flat=True
        )
    ) == {DeliveryStatus.SENT}


def test_an_unreachable_server_fails_the_email_and_keeps_the_rest_pending():
    scene = make_scene()
    notice = make_notice(scene)
    notices_publish_due()
    mailers = {
        "default": {
            "BACKEND": "core.mail.SMTPBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _free_port(), "timeout": 2},
        }
    }

    with override_settings(MAILERS=mailers):
        assert notice_deliveries_send() == 3  # the in-app ones

    emails = NoticeDelivery.objects.filter(notice=notice, channel="email").order_by("pk")
    statuses = [(d.status, d.attempts) for d in emails]
    assert statuses == [(DeliveryStatus.FAILED, 1), (DeliveryStatus.PENDING, 0)]
    assert emails[0].last_error.startswith("ConnectionRefusedError")

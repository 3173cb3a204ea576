"""A real SMTP conversation: the notice sender talks to a local aiosmtpd server, one connection
for the batch, one message per recipient with a text and an HTML part."""

import re
import socket
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from rollout.models import DeliveryStatus, NoticeDelivery
from rollout.services import notice_delivery as delivery_service
from rollout.services.notice_delivery import (
    MAX_ATTEMPTS,
    notice_deliveries_send,
    notices_publish_due,
)
from tests.db_faults import postgres_only, terminate_backend
from tests.rollout.notice_fixtures import claimed_group, make_notice, make_scene
from tests.threads import at_once
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


# --- Over SMTP on PostgreSQL: each message's mark on its way while the server reads the envelope --


class Refusing(Recorder):
    """Records what it accepts; refuses one recipient for good (550) and counts the messages
    whose end it never got (a client that dropped the connection mid-message)."""

    def __init__(self, refused: str = "") -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == self.refused:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server():
    recorder = Refusing(refused="agent7@example.com")
    controller = Controller(
        recorder, hostname="127.0.0.1", port=_free_port(), ready_timeout=PATIENCE
    )
    controller.start()
    yield controller, recorder
    controller.stop()


def _smtp(controller) -> dict:
    return {
        "default": {
            "BACKEND": "core.mail.SMTPBackend",
            "OPTIONS": {"host": controller.hostname, "port": controller.port, "timeout": PATIENCE},
        }
    }


def _audience(scene, count: int) -> None:
    from accounts.models import User
    from rollout.services.cohorts import cohort_members_add

    many = User.objects.bulk_create(
        [User(email=f"agent{i}@example.com", display_name=f"Agent {i}") for i in range(count)]
    )
    cohort_members_add(cohort=scene.uk, users=many, actor=scene.owner)


def _counting_overlaps(monkeypatch) -> list[int]:
    """Records the deliveries whose mark went to the database without waiting (_advance_send)."""
    real = delivery_service._advance_send
    overlapped: list[int] = []

    def counting(sent, next_up, now):
        overlapped.append(next_up.pk)
        return real(sent, next_up, now)

    monkeypatch.setattr(delivery_service, "_advance_send", counting)
    return overlapped


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_over_smtp_each_mark_overlaps_the_envelope_and_each_email_goes_once(
    refusing_server, monkeypatch
):
    """Over SMTP on PostgreSQL the statement that marks a message sent and begins the next one is
    on its way while the server answers the next message's envelope: every email arrives once,
    every row ends sent, and the address the server refuses for good fails alone (never retried),
    with the rest of its group sent after it."""
    controller, recorder = refusing_server
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    overlapped = _counting_overlaps(monkeypatch)
    scene = make_scene()
    _audience(scene, 150)  # with Amy and Cat: 152 emails, two groups
    notice = make_notice(scene)
    notices_publish_due()

    with override_settings(MAILERS=_smtp(controller)):
        notice_deliveries_send()

    emails = NoticeDelivery.objects.filter(notice=notice, channel="email")
    assert len(overlapped) == emails.count() == 152
    recipients = [to[0] for to, _ in recorder.messages]
    assert len(recipients) == len(set(recipients)) == 151
    refused = emails.get(recipient__email="agent7@example.com")
    assert (refused.status, refused.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert refused.last_error.startswith("SMTPRecipientsRefused")
    assert set(emails.exclude(pk=refused.pk).values_list("status", "attempts")) == {
        (DeliveryStatus.SENT, 1)
    }
    assert len(recorder.sessions) == 1  # a refused address does not cost the connection


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_over_smtp_a_connection_lost_under_an_overlapped_mark_reconnects_and_marks(
    smtp_server, monkeypatch
):
    """The database connection dies with a mark on its way (its backend terminated just after the
    statement was sent): the sender reconnects and runs it again before the next message goes
    out. Nothing is left in doubt and nothing is sent twice."""
    from django.db import connection

    controller, recorder = smtp_server
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    real = delivery_service._advance_send
    cut: list[int] = []

    def send_then_lose(sent, next_up, now):
        pgconn = real(sent, next_up, now)
        if sent is not None and len(cut) < 2:  # twice, in the middle of the group
            cut.append(sent.pk)
            terminate_backend(connection)
        return pgconn

    monkeypatch.setattr(delivery_service, "_advance_send", send_then_lose)
    scene = make_scene()
    _audience(scene, 8)
    notice = make_notice(scene)
    notices_publish_due()

    try:
        with override_settings(MAILERS=_smtp(controller)):
            notice_deliveries_send()
    finally:
        if connection.connection is not None and not connection.is_usable():
            connection.close()

    assert len(cut) == 2
    emails = NoticeDelivery.objects.filter(notice=notice, channel="email")
    assert set(emails.values_list("status", "attempts", "last_error")) == {
        (DeliveryStatus.SENT, 1, "")
    }
    recipients = [to[0] for to, _ in recorder.messages]
    assert len(recipients) == len(set(recipients)) == emails.count() == 10


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_over_smtp_a_sender_whose_claim_went_stale_delivers_none_of_it(smtp_server, monkeypatch):
    """A sender so slow that another run took its claimed rows: over SMTP it learns so only after
    each envelope, and then drops the message before its end, so the server delivers nothing of
    it. Each email arrives once, from the run that took it."""
    from django.utils import timezone

    controller, recorder = smtp_server
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    scene = make_scene()
    _audience(scene, 3)  # with Amy and Cat: five emails, one group
    notice = make_notice(scene)
    now = timezone.now()
    slow_group = claimed_group(now)

    with override_settings(MAILERS=_smtp(controller)):
        assert notice_deliveries_send(now=now + timedelta(minutes=2)) == 5  # another run
        outbox = delivery_service._Outbox()
        assert outbox.overlaps
        try:
            assert delivery_service._send_emails(slow_group, outbox) == (0, False)
        finally:
            outbox.close()

    recipients = [to[0] for to, _ in recorder.messages]
    assert len(recipients) == len(set(recipients)) == 5
    emails = NoticeDelivery.objects.filter(notice=notice, channel="email")
    assert set(emails.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_over_smtp_two_workers_on_one_notice_send_each_email_once_and_leave_none_unsent(
    smtp_server, monkeypatch
):
    """Two sender runs at once, each with its own database and SMTP connections, on a notice to
    250 people: every email arrives exactly once, both share the work, every row ends sent."""

    from django.db import connection as main_connection

    controller, recorder = smtp_server
    monkeypatch.setattr(delivery_service, "wake_sender", lambda *senders: None)
    monkeypatch.setattr(delivery_service, "EMAIL_GROUP", 20)  # several groups for each
    scene = make_scene()
    _audience(scene, 247)  # with Amy, Ben and Cat: 250 people, 249 emails
    notice = make_notice(scene)
    notices_publish_due()
    with override_settings(MAILERS=_smtp(controller)):
        counts = at_once(notice_deliveries_send)
    main_connection.close()
    rows = NoticeDelivery.objects.filter(notice=notice)
    assert sum(counts) == rows.count() == 250 + 249
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    recipients = [to[0] for to, _ in recorder.messages]
    assert len(recipients) == len(set(recipients)) == 249, "an email sent twice, or not at all"
    assert len(recorder.sessions) == 2, "one worker did everything"


def test_send_when_sends_a_message_only_once_told_to(smtp_server):
    """core.mail.SMTPBackend.send_when: the message goes only after ready() says yes; a no, or an
    error raised by ready(), drops the connection before the message's end, so the server
    delivers nothing; meanwhile() runs before the server's answer is read."""
    from django.core.mail import mailers

    from core.mail import MailStencil

    controller, recorder = smtp_server
    stencil = MailStencil(subject="[Rollout] Hello")
    calls: list[str] = []

    def message(to: str):
        return stencil.email(to=to, text="Hello", html="<p>Hello</p>")

    with override_settings(MAILERS=_smtp(controller)):
        backend = mailers.default
        backend.open()
        assert backend.send_when(message("no@example.com"), lambda: False) is False
        assert backend.connection is None  # dropped mid-message
        backend.open()

        def broken() -> bool:
            raise RuntimeError("the database is gone")

        with pytest.raises(RuntimeError):
            backend.send_when(message("broken@example.com"), broken)
        assert backend.connection is None
        backend.open()
        went = backend.send_when(
            message("yes@example.com"),
            lambda: calls.append("ready") or True,
            lambda: calls.append("meanwhile"),
        )
        backend.close()

    assert went is True
    assert calls == ["ready", "meanwhile"]
    assert [to for to, _ in recorder.messages] == [["yes@example.com"]]

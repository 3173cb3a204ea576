"""Email helpers the senders share: telling an email that failed for good from one worth trying
again, and a message class that builds the same bytes with less work (for fan-outs)."""

import binascii
import email
import email.policy
import functools
import re
import secrets
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.utils import DNS_NAME
from django.utils.timezone import get_current_timezone

SUBJECT_PREFIX = "[Rollout] "


def email_subject(title: str) -> str:
    """The one rule for every subject Rollout writes: "[Rollout] " and what the email is about,
    said once — the title of the notice or notification, the action asked of the reader. Nothing
    is put in front of the title, so no subject adds the workflow's name: the email's first line
    names the workflow, and a title names it only where the workflow is what happened to
    ("Support reply drafting paused: error rate breached")."""
    return SUBJECT_PREFIX + title


def smtp_refused_for_good(exc: BaseException) -> bool:
    """An SMTP answer that will be the same next time: every recipient refused with a 5xx code,
    or the message itself refused with one. A 4xx answer, a dropped connection or a timeout is
    worth another try."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def failure_reason(exc: BaseException) -> str:
    """What is recorded on the row: the error's type and message, cut to fit."""
    return f"{type(exc).__name__}: {exc}"[:1000]


# Headers whose value is one or more <URL>s (RFC 2369), never to be split by encoded-words.
ONE_LINE_HEADERS = ("list-unsubscribe", "list-unsubscribe-post")
_MAX_LINE = 998  # RFC 5322's hard limit on a line, its end excluded


class _OneLineHeader(UnstructuredHeader):
    """A List-Unsubscribe header written as it is, on one line. Python's email package folds a
    header longer than 78 characters that has no space to fold at (a signed URL) into RFC 2047
    encoded-words; Gmail and others then ignore the header, and one-click unsubscribe breaks.
    RFC 5322 allows lines up to 998 characters; the parsed value is the same either way."""

    def fold(self, *, policy):
        line = f"{self.name}: {self}"
        if not line.isascii() or len(line) > _MAX_LINE:
            return super().fold(policy=policy)
        return line + policy.linesep


class _RememberingHeaders(HeaderRegistry):
    """Python's header registry parses every header of every message afresh, and makes a new
    class (type()) for each: most of the cost of building a message. Here each kind of header
    gets one class, and a header made before from the same name and text is handed out again —
    header objects are immutable values (a message replaces a header, never alters one), so the
    same name and text give the same header. Neither is part of the registry's contract: parsed
    state lives on the instances. The memory is emptied when it fills: dates, message ids and
    multipart boundaries never repeat, subjects and content types do."""

    SIZE = 256

    def __init__(self) -> None:
        super().__init__()
        for name in ONE_LINE_HEADERS:
            self.map_to_type(name, _OneLineHeader)
        self._classes: dict[type, type] = {}
        self._made: dict[tuple[str, str], object] = {}

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        made = self._classes.get(kind)
        if made is None:
            made = self._classes[kind] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value):
        if type(value) is not str:  # a datetime for Date: equal instants may differ in zone
            return super().__call__(name, value)
        header = self._made.get((name, value))
        if header is None:
            if len(self._made) >= self.SIZE:
                self._made.clear()
            header = self._made[(name, value)] = super().__call__(name, value)
        return header


@functools.cache
def _remembering_headers(policy: EmailPolicy) -> EmailPolicy:
    return policy.clone(header_factory=_RememberingHeaders())


class FanOutEmail(EmailMultiAlternatives):
    """An EmailMultiAlternatives whose message() is the same, byte for byte, built in about half
    the time: for a sender that builds thousands (tests/core/test_mail.py compares). One
    deliberate difference: List-Unsubscribe headers are written on one line (_OneLineHeader),
    where Django would split a long one into encoded-words that mail clients ignore; parsed,
    the header is the same."""

    def message(self, *, policy: EmailPolicy = email.policy.default):
        return super().message(policy=_remembering_headers(policy))


# A plain ASCII addr-spec: written into the To header as it is. Anything else (a display name,
# a non-ASCII address) goes through Django's own message(), which encodes it.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_CRLF = b"\r\n"


def _quoted_printable(text: str) -> bytes:
    """A text part's body as quoted-printable with CRLF line ends, ending in a line end, as
    Python's email package writes it (line ends normalised; the decoded text is the same)."""
    lines = text.splitlines()
    body = binascii.b2a_qp("\n".join(lines).encode(), istext=True)
    return body.replace(b"\n", _CRLF) + _CRLF


class _BuiltMessage:
    """What EmailMessage.message() returns for a stencil-built email: the bytes as they go to the
    SMTP server, and, for anyone who asks for more (the console or file backends), the message
    parsed from them."""

    def __init__(self, raw: bytes, policy: EmailPolicy) -> None:
        self.raw, self.policy = raw, policy

    def as_bytes(self, unixfrom: bool = False, policy: EmailPolicy | None = None) -> bytes:
        return self.raw

    def __bytes__(self) -> bytes:
        return self.raw

    def __getattr__(self, name: str):
        return getattr(self.parsed, name)

    @functools.cached_property
    def parsed(self):
        return email.message_from_bytes(self.raw, policy=self.policy)


class _StencilEmail(FanOutEmail):
    def __init__(self, *, raw: bytes, **kwargs) -> None:
        super().__init__(**kwargs)
        self._raw = raw

    def message(self, *, policy: EmailPolicy = email.policy.default):
        return _BuiltMessage(self._raw, policy)


class MailStencil:
    """A fan-out email (a text part and an HTML alternative) whose headers are built once, by
    Django, and whose MIME message is then put together per recipient from them: only the To,
    Date and Message-ID headers and the two quoted-printable bodies are made per message. The same
    message, header for header and part for part, as Django builds for each recipient
    (tests/core/test_mail.py compares), at a small part of the cost: a fan-out of thousands spends
    its time at the mail server, not in Python's email package.

    Raises what Django's message() raises for a header it refuses (a subject with a line break),
    when the stencil is made."""

    def __init__(self, *, subject: str, from_email: str | None = None) -> None:
        probe = FanOutEmail(subject=subject, body="", from_email=from_email, to=["a@b.invalid"])
        probe.attach_alternative("", "text/html")
        head = probe.message(policy=email.policy.SMTP).as_bytes().split(_CRLF * 2, 1)[0]
        kept = _header_lines(head, {b"subject", b"from"})
        self.subject, self.from_email = probe.subject, probe.from_email
        # "=_" never occurs in a quoted-printable body: no body can contain the boundary.
        self.boundary = f"=_rollout_{secrets.token_hex(12)}".encode()
        self._head = (
            b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="'
            + self.boundary
            + b'"\r\n'
            + kept
        )
        part = (
            b'Content-Type: text/%s; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        # The line end before a boundary belongs to it (RFC 2046): each body keeps its own.
        self._text_part = b"\r\n--" + self.boundary + b"\r\n" + part % b"plain"
        self._html_part = b"\r\n--" + self.boundary + b"\r\n" + part % b"html"
        self._end = b"\r\n--" + self.boundary + b"--\r\n"

    def email(
        self, *, to: str, text: str, html: str, headers: dict[str, str] | None = None
    ) -> FanOutEmail:
        """The email to `to` with these bodies and these extra headers of its own (say, a
        List-Unsubscribe link for this recipient), ready for any mail backend. The extra headers
        come after Message-ID, in the order given, as Django writes them (a List-Unsubscribe
        header on one line, as FanOutEmail writes it)."""
        headers = headers or {}
        extra = _extra_header_lines(headers)
        if extra is None or not _PLAIN_ADDRESS.fullmatch(to):
            message = FanOutEmail(
                subject=self.subject,
                body=text,
                from_email=self.from_email,
                to=[to],
                headers=headers,
            )
            message.attach_alternative(html, "text/html")
            return message
        zone = get_current_timezone() if settings.EMAIL_USE_LOCALTIME else UTC
        raw = b"".join(
            (
                self._head,
                b"To: ",
                to.encode(),
                b"\r\nDate: ",
                format_datetime(datetime.now(zone)).encode(),
                b"\r\nMessage-ID: ",
                make_msgid(domain=DNS_NAME).encode(),
                b"\r\n",
                extra,
                self._text_part,
                _quoted_printable(text),
                self._html_part,
                _quoted_printable(html),
                self._end,
            )
        )
        message = _StencilEmail(
            raw=raw,
            subject=self.subject,
            body=text,
            from_email=self.from_email,
            to=[to],
            headers=headers,
        )
        message.attach_alternative(html, "text/html")
        return message


_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322: printable ASCII but the colon
# Headers the stencil writes itself, or that Django treats specially: left to Django.
_STENCIL_HEADERS = {
    "bcc", "cc", "content-transfer-encoding", "content-type", "date", "from", "message-id",
    "mime-version", "reply-to", "subject", "to",
}  # fmt: skip


def _extra_header_lines(headers: dict[str, str]) -> bytes | None:
    """The extra headers as lines, when each is one the stencil writes as Django would: a
    List-Unsubscribe header (one line, see _OneLineHeader), or any header whose line is short
    plain ASCII (Django leaves it as it is). None for anything else, which Django then builds
    (or refuses: a line break in a value)."""
    lines = []
    for name, value in headers.items():
        line = f"{name}: {value}"
        if (
            not _HEADER_NAME.fullmatch(name)
            or name.lower() in _STENCIL_HEADERS
            or not line.isascii()
            or "\r" in line
            or "\n" in line
            or value != value.strip()
            or "  " in value
            or len(line) > (_MAX_LINE if name.lower() in ONE_LINE_HEADERS else 78)
        ):
            return None
        lines.append(line.encode() + _CRLF)
    return b"".join(lines)


def _header_lines(head: bytes, names: set[bytes]) -> bytes:
    """The lines (with their folded continuations) of the headers `names` in a header block."""
    kept: list[bytes] = []
    keep = False
    for line in head.split(_CRLF):
        if not line[:1].isspace():
            keep = line.split(b":", 1)[0].lower() in names
        if keep:
            kept.append(line + _CRLF)
    return b"".join(kept)


_LEADING_DOT = re.compile(rb"(?m)^\.")


class SMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend, minus most of the cost of preparing envelope addresses: Python's
    address parser takes longer than a local mail server takes to accept a message. An address
    of plain ASCII (_PLAIN_ADDRESS) is its own addr-spec; any other goes through Django's
    prep_address once per backend (the sender's, for one, is the same on every message).

    And one message at a time with a say before it is accepted (send_when): for a sender that
    must record that a message is about to go out, and can record it while the mail server
    answers the envelope."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._prepared: dict[tuple[str, bool], str] = {}
        self._in_data = False  # the server has said 354: what we send now is the message

    def send_when(
        self,
        message: EmailMessage,
        ready: Callable[[], bool],
        meanwhile: Callable[[], object] | None = None,
    ) -> bool:
        """Send one message over the open connection (see open()) as smtplib's sendmail() does,
        but ask `ready()` after the envelope (MAIL FROM, RCPT TO, DATA) and before the message
        itself: a server accepts a message only once it has had all of it, so until then nothing
        has been delivered. Returns True once the server accepted it; False, without sending
        it, when `ready()` said no (the connection is then dropped: after DATA's 354 a client
        can abandon a message only so). Raises what send_messages() raises for a message the
        server refuses (SMTPSenderRefused, SMTPRecipientsRefused, SMTPDataError) or a
        connection that breaks; whatever `ready()` raises is raised after the connection is
        dropped, so nothing half sent is ever completed.

        The point is what `ready()` costs: a sender that must commit "this one is going out"
        before each message can commit it during the three round trips of the envelope instead
        of before them. And `meanwhile()`, if given, is called while the server reads the message,
        before its answer is awaited: the sender's next piece of work (building the next message)
        costs no time of its own either."""
        with self._lock:
            smtp_connection = self.connection
            if smtp_connection is None:
                raise smtplib.SMTPServerDisconnected("Not connected: call open() first.")
            from_email = self.prep_address(message.from_email)
            recipients = [self.prep_address(address) for address in message.recipients()]
            raw = message.message(policy=email.policy.SMTP).as_bytes()
            if not recipients:
                raise smtplib.SMTPRecipientsRefused({})
            smtp_connection.ehlo_or_helo_if_needed()
            options = []
            if smtp_connection.does_esmtp and smtp_connection.has_extn("size"):
                options.append(f"size={len(raw)}")
            code, answer = smtp_connection.mail(from_email, options)
            if code != 250:
                self._reset(code)
                raise smtplib.SMTPSenderRefused(code, answer, from_email)
            refused = {}
            for recipient in recipients:
                code, answer = smtp_connection.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = (code, answer)
                if code == 421:
                    self._reset(code)
                    raise smtplib.SMTPRecipientsRefused(refused)
            if len(refused) == len(recipients):
                self._reset(code)
                raise smtplib.SMTPRecipientsRefused(refused)
            code, answer = smtp_connection.docmd("data")
            if code != 354:
                self._reset(code)
                raise smtplib.SMTPDataError(code, answer)
            self._in_data = True
            try:
                go = ready()
            except BaseException:
                self.abandon()
                raise
            if not go:
                self.abandon()
                return False
            body = _LEADING_DOT.sub(b"..", raw)
            if not body.endswith(_CRLF):
                body += _CRLF
            try:
                smtp_connection.send(body + b"." + _CRLF)
                if meanwhile is not None:
                    meanwhile()
                code, answer = smtp_connection.getreply()
            except BaseException:
                self.abandon()  # the end of the message may not have gone: drop it
                raise
            self._in_data = False
            if code != 250:
                self._reset(code)
                raise smtplib.SMTPDataError(code, answer)
            return True

    def _reset(self, code: int) -> None:
        """After a refusal, as sendmail() does: a 421 closes the connection, anything else
        resets the transaction (the connection goes on)."""
        if code == 421:
            self.abandon()
            return
        try:
            self.connection.rset()
        except smtplib.SMTPServerDisconnected:
            self.abandon()

    def abandon(self) -> None:
        """Drop the connection without a word: in the middle of a message a QUIT would be read
        as part of it, and the server discards a message whose end it never got."""
        self._in_data = False
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None

    def close(self) -> None:
        if self._in_data:
            self.abandon()
            return
        super().close()

    def prep_address(self, address, force_ascii=True):
        if type(address) is not str:
            return super().prep_address(address, force_ascii)
        if _PLAIN_ADDRESS.fullmatch(address):
            return address
        key = (address, force_ascii)
        prepared = self._prepared.get(key)
        if prepared is None:  # an invalid address raises here, every time
            if len(self._prepared) >= 256:
                self._prepared.clear()
            prepared = self._prepared[key] = super().prep_address(address, force_ascii)
        return prepared

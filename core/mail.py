"""Email helpers the senders share: telling an email that failed for good from one worth trying
again, and a message class that builds the same bytes with less work (for fan-outs)."""

import email.policy
import functools
import smtplib
from email.headerregistry import HeaderRegistry
from email.policy import EmailPolicy

from django.core.mail import EmailMultiAlternatives


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
    the time: for a sender that builds thousands (tests/core/test_mail.py compares)."""

    def message(self, *, policy: EmailPolicy = email.policy.default):
        return super().message(policy=_remembering_headers(policy))

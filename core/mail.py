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


class _ReusedHeaderClasses(HeaderRegistry):
    """Python's header registry makes a new class (type()) for every header of every message it
    builds, the largest single cost of building one; the same class each time gives the same
    header. (A class per call is no part of its contract: parsed state lives on the instances.)"""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[type, type] = {}

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        made = self._made.get(kind)
        if made is None:
            made = self._made[kind] = super().__getitem__(name)
        return made


@functools.cache
def _reusing_header_classes(policy: EmailPolicy) -> EmailPolicy:
    return policy.clone(header_factory=_ReusedHeaderClasses())


class FanOutEmail(EmailMultiAlternatives):
    """An EmailMultiAlternatives whose message() is the same, byte for byte, built faster: for a
    sender that builds thousands (tests/core/test_mail.py compares)."""

    def message(self, *, policy: EmailPolicy = email.policy.default):
        return super().message(policy=_reusing_header_classes(policy))

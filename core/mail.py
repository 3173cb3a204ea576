"""Telling an email that failed for good from one worth trying again."""

import smtplib


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

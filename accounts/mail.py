"""Embedded-default email: every message is written whole as a file under var/mail/, and a
one-line summary of it (to, subject, the link it carries) goes to the console."""

import re
import sys
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.filebased import EmailBackend as FileBackend

# How a summary line begins: `make run` (rollout.management.commands.run_embedded) shows the
# worker's summary lines in the terminal by it, among the worker's log lines that it does not.
SUMMARY_MARK = "Email to "
_LINK = re.compile(r"https?://[^\s<>\"')]+")


def email_summary(message: EmailMessage, where: str) -> str:
    """ "Email to amy@example.com · [Rollout] Subject · http://…/inbox/12/ (whole message in …)":
    the first link of the text (not the unsubscribe link, which is in a header)."""
    parts = [f"{SUMMARY_MARK}{', '.join(message.recipients())}", str(message.subject)]
    link = _LINK.search(str(message.body))
    if link:
        parts.append(link.group(0))
    return " · ".join(parts) + f" (whole message in {where})"


class FileAndConsoleEmailBackend(FileBackend):
    def __init__(self, *args, stream=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.console = stream

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        console = self.console or sys.stdout  # read now: a test or Celery may have replaced it
        for message in email_messages:
            if message.recipients():
                console.write(email_summary(message, self._fname) + "\n")
        console.flush()
        return sent

import email.policy
import re
import smtplib
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from django.core.mail import EmailMultiAlternatives

from core.mail import FanOutEmail, _RememberingHeaders, smtp_refused_for_good


def _raw(cls, policy, i: int = 0) -> bytes:
    """Message `i` of a fan-out: its own recipient, date and id, the subject of one of a few
    notices, long and non-ASCII headers, a text and an HTML part."""
    message = cls(
        subject=f"[Rollout] Zoë's workflow: Fish & <chips> — notice {i % 3}, a subject long "
        "enough to be folded over more than one line of the header block",
        body=f"Plain · text\n{'a long line ' * 20}\nhttps://rollout.example.com/inbox/{i}/",
        to=[f"Zoë Agent {i} <zoe{i}@example.com>"],
        cc=["cat@example.com"] if i % 2 else [],
        reply_to=["owner@example.com"],
        headers={
            "Date": f"Sun, 06 Dec 2026 12:{i % 60:02d}:00 +0000",
            "Message-ID": f"<{i}@rollout.example.com>",
        },
    )
    message.attach_alternative(f"<p>Plain &middot; <strong>html</strong> {i}</p>" * 20, "text/html")
    raw = message.message(policy=policy).as_bytes()
    boundary = re.search(rb'boundary="([^"]+)"', raw).group(1)  # random per message
    return raw.replace(boundary, b"BOUNDARY")


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP])
def test_a_fan_out_email_is_byte_for_byte_the_same_message(policy):
    # More messages than the remembered headers hold, so the memory also empties on the way.
    for i in range(_RememberingHeaders.SIZE + 20):
        assert _raw(FanOutEmail, policy, i) == _raw(EmailMultiAlternatives, policy, i)


def test_a_date_given_as_a_datetime_keeps_its_zone():
    utc = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))  # the same instant, equal in Python
    for when in (utc, paris):
        message = FanOutEmail(subject="s", body="b", to=["a@b.c"], headers={"Date": when})
        assert message.message()["Date"] == format_datetime(when)


def test_a_fan_out_email_refuses_the_headers_django_refuses():
    message = FanOutEmail(subject="Bad\r\nBcc: everyone@example.com", body="x", to=["a@b.c"])
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        message.message()


@pytest.mark.parametrize(
    ("error", "for_good"),
    [
        (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"No such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"Try later")}), False),
        (smtplib.SMTPDataError(554, b"Rejected"), True),
        (smtplib.SMTPServerDisconnected("gone"), False),
    ],
)
def test_only_a_5xx_answer_is_a_failure_for_good(error, for_good):
    assert smtp_refused_for_good(error) is for_good

import email.policy
import re
import smtplib

import pytest
from django.core.mail import EmailMultiAlternatives

from core.mail import FanOutEmail, smtp_refused_for_good

FIXED = {"Date": "Sun, 06 Dec 2026 12:00:00 +0000", "Message-ID": "<1@rollout.example.com>"}


def _raw(cls, policy) -> bytes:
    message = cls(
        subject="[Rollout] Zoë's workflow: Fish & <chips> — a subject long enough to be folded "
        "over more than one line of the header block",
        body="Plain · text\n" + "a long line " * 20 + "\nhttps://rollout.example.com/inbox/7/",
        to=["Zoë Agent <zoe@example.com>", "amy@example.com"],
        cc=["cat@example.com"],
        reply_to=["owner@example.com"],
        headers=FIXED,
    )
    message.attach_alternative("<p>Plain &middot; <strong>html</strong></p>" * 20, "text/html")
    raw = message.message(policy=policy).as_bytes()
    boundary = re.search(rb'boundary="([^"]+)"', raw).group(1)  # random per message
    return raw.replace(boundary, b"BOUNDARY")


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP])
def test_a_fan_out_email_is_byte_for_byte_the_same_message(policy):
    assert _raw(FanOutEmail, policy) == _raw(EmailMultiAlternatives, policy)


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

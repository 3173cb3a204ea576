import email.policy
import re
import smtplib
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from django.core.mail import EmailMultiAlternatives

from core.mail import (
    FanOutEmail,
    MailStencil,
    SMTPBackend,
    _RememberingHeaders,
    smtp_refused_for_good,
)


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


_BODIES = [
    ("Plain text\nhttps://rollout.example.com/inbox/1/", "<p>Plain</p>"),
    (
        "Zoë · naïve — “quoted”\n" + "a long line = with equals " * 12 + "\nend",
        "<p>Plain &middot; <strong>html</strong></p>" * 20,
    ),
    (". a dot first\nFrom the start\ntrailing spaces   \n\n\nblank lines\ttab\t", "<p>\t</p>\n"),
    ("Windows\r\nline ends\rand old Mac ones\r\n", "=3D is not an escape here =\n"),
]


# A one-click unsubscribe link as long as a real one: longer than a line may be, no space in it.
_UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://rollout.example.com/email/unsubscribe/eyJ1c2VyIjoxMiwiY2F0ZWdvcnki"
    "OiJub3RpY2VzIn0:0T_FbnFfw47LJddK8Xqc__MO6AEmNHTgODfIf7B33Qo/>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def _parsed(raw: bytes):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert not message.defects
    return message


@pytest.mark.parametrize(("text", "html"), _BODIES)
@pytest.mark.parametrize(
    "subject",
    [
        "[Rollout] Support reply drafting: New reply prompt from Monday",
        "[Rollout] Zoë's workflow: Fish & <chips> — a subject long enough to be folded over "
        "more than one line of the header block",
    ],
)
@pytest.mark.parametrize("headers", [{}, _UNSUBSCRIBE])
def test_a_stencil_email_is_the_message_django_builds(subject, text, html, headers):
    stencil = MailStencil(subject=subject)
    built = stencil.email(to="amy.agent+eu@example.com", text=text, html=html, headers=headers)
    django_email = EmailMultiAlternatives(subject=subject, body=text, to=built.to, headers=headers)
    django_email.attach_alternative(html, "text/html")

    ours = _parsed(built.message(policy=email.policy.SMTP).as_bytes())
    theirs = _parsed(django_email.message(policy=email.policy.SMTP).as_bytes())
    for header in ("Subject", "From", "To", "MIME-Version", *headers):
        assert ours[header] == theirs[header]
    assert list(ours.keys()) == list(theirs.keys())  # the same headers, in the same order
    assert ours.get_content_type() == theirs.get_content_type() == "multipart/alternative"
    assert ours["Date"].datetime.tzinfo is not None
    assert (
        ours["Message-ID"]
        != _parsed(stencil.email(to="a@b.c", text="", html="").message().as_bytes())["Message-ID"]
    )

    def parts(message):
        return [
            (part.get_content_type(), part.get_content_charset(), part.get_content())
            for part in message.iter_parts()
        ]

    assert parts(ours) == parts(theirs)
    raw = built.message().as_bytes()
    assert all(
        len(line) <= 78 for line in raw.split(b"\r\n") if not line.startswith(b"List-Unsubscribe:")
    )
    for name, value in headers.items():  # one line each, never encoded-words
        assert f"\r\n{name}: {value}\r\n".encode() in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    assert (built.subject, built.body, built.alternatives[0].content) == (subject, text, html)


def test_a_stencil_hands_an_address_it_does_not_write_itself_to_django():
    stencil = MailStencil(subject="Notice")
    for to in ("Zoë Agent <zoe@example.com>", "zoë@example.com", "a@bücher.example"):
        built = stencil.email(to=to, text="t", html="<p>h</p>")
        assert type(built) is FanOutEmail
        assert built.to == [to]


def test_a_stencil_refuses_the_headers_django_refuses():
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        MailStencil(subject="Bad\r\nBcc: everyone@example.com")


def test_a_stencil_leaves_extra_headers_it_does_not_write_itself_to_django():
    stencil = MailStencil(subject="Notice")
    built = stencil.email(to="amy@example.com", text="t", html="<p/>", headers={"X-Note": "Zoë"})
    assert type(built) is FanOutEmail
    assert built.message()["X-Note"] == "Zoë"
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        stencil.email(
            to="amy@example.com", text="t", html="<p/>", headers={"X-Note": "a\r\nBcc: b@c.d"}
        ).message()


def test_a_fan_out_email_writes_list_unsubscribe_on_one_line_where_django_encodes_it():
    raw = (
        FanOutEmail(subject="s", body="b", to=["a@b.c"], headers=_UNSUBSCRIBE)
        .message(policy=email.policy.SMTP)
        .as_bytes()
    )
    django_raw = EmailMultiAlternatives(subject="s", body="b", to=["a@b.c"], headers=_UNSUBSCRIBE)
    django_raw = django_raw.message(policy=email.policy.SMTP).as_bytes()
    assert b"=?utf-8?q?" in django_raw  # the encoded-words mail clients ignore
    line = f"List-Unsubscribe: {_UNSUBSCRIBE['List-Unsubscribe']}\r\n".encode()
    assert line in raw
    assert _parsed(raw)["List-Unsubscribe"] == _parsed(django_raw)["List-Unsubscribe"]


def test_a_stencil_email_goes_through_any_mail_backend(capsys):
    from django.core.mail.backends.console import EmailBackend

    built = MailStencil(subject="Notice").email(to="amy@example.com", text="Hello ·", html="<p/>")
    assert EmailBackend().send_messages([built]) == 1
    assert "To: amy@example.com" in capsys.readouterr().out


def test_the_smtp_backend_prepares_envelope_addresses_as_django_does():
    from django.core.mail import mailers
    from django.core.mail.backends.smtp import EmailBackend
    from django.test import override_settings

    options = {"host": "127.0.0.1", "port": 25}
    configured = {
        "ours": {"BACKEND": "core.mail.SMTPBackend", "OPTIONS": options},
        "django": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options},
    }
    with override_settings(MAILERS=configured):
        ours, django_backend = mailers["ours"], mailers["django"]
    assert (type(ours), type(django_backend)) == (SMTPBackend, EmailBackend)
    for address in (
        "amy.agent+eu@example.com",
        "Rollout <rollout@localhost>",
        "Zoë Agent <zoe@bücher.example>",
        "rollout@localhost",
    ):
        for _ in range(2):  # the second time from its memory
            assert ours.prep_address(address) == django_backend.prep_address(address)
    for bad in ("a@b.c\nBcc: everyone@example.com", "not an address <", "a@b.c, d@e.f"):
        for _ in range(2):
            with pytest.raises(ValueError):
                ours.prep_address(bad)

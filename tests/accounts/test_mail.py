"""The embedded mail backend: each email whole in a file under var/mail/, one line on screen."""

from io import StringIO
from pathlib import Path

from django.core.mail import EmailMessage

from accounts.mail import FileAndConsoleEmailBackend
from core.mail import MailStencil


def test_each_email_is_one_readable_line_on_screen_and_whole_in_a_file(tmp_path: Path):
    screen = StringIO()
    backend = FileAndConsoleEmailBackend(file_path=str(tmp_path), stream=screen)
    notice = MailStencil(subject="[Rollout] New reply prompt from Monday").email(
        to="amy@example.com",
        text="Support reply drafting · Prompt change\n\nRead it in your inbox:\n"
        "http://localhost:8000/inbox/12/\n\nhttps://example.com/second-link",
        html="<p>Notice</p>",
        headers={"List-Unsubscribe": "<http://localhost:8000/email/unsubscribe/t/>"},
    )
    invite = EmailMessage(subject="[Rollout] You have been invited", body="Hello", to=["b@c.d"])

    assert backend.send_messages([notice, invite]) == 2

    (file,) = tmp_path.iterdir()
    assert screen.getvalue().splitlines() == [
        "Email to amy@example.com · [Rollout] New reply prompt from Monday · "
        f"http://localhost:8000/inbox/12/ (whole message in {file})",
        f"Email to b@c.d · [Rollout] You have been invited (whole message in {file})",
    ]
    whole = file.read_text()
    assert "Subject: [Rollout] New reply prompt from Monday" in whole
    assert "List-Unsubscribe: <http://localhost:8000/email/unsubscribe/t/>" in whole
    assert "Subject: [Rollout] You have been invited" in whole


def test_without_a_stream_it_writes_to_standard_output(tmp_path: Path, capsys):
    backend = FileAndConsoleEmailBackend(file_path=str(tmp_path))
    backend.send_messages([EmailMessage(subject="Hi", body="x", to=["a@b.c"])])
    assert capsys.readouterr().out.startswith("Email to a@b.c · Hi (whole message in ")

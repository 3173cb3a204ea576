"""Telling one person something: in the app always, by email once when they chose it."""

import pytest
from django.core import mail

from accounts.models import EmailCategory, User
from rollout.models import Notification
from rollout.services.notifications import (
    notification_email,
    notification_mark_read,
    notification_send,
)
from rollout.tasks import email_notification
from tests.factories import NO_EMAIL, UserFactory

pytestmark = pytest.mark.django_db


def send(recipient: User, workflow=None, **fields) -> Notification:
    values = {
        "title": "Support reply drafting paused",
        "body": "Error rate 9%.",
        "url": "/x/",
        "email": EmailCategory.UPDATES,
    }
    values.update(fields)
    return notification_send(recipient=recipient, workflow=workflow, **values)


def test_stored_for_the_recipient(workflow, workflow_owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        note = send(workflow_owner, workflow)
    note.refresh_from_db()
    assert (note.recipient, note.workflow, note.title, note.body, note.url) == (
        workflow_owner,
        workflow,
        "Support reply drafting paused",
        "Error rate 9%.",
        "/x/",
    )
    assert (note.read_at, note.emailed_at) == (None, None)
    assert len(callbacks) == 1  # the email, after commit
    assert mail.outbox == []


def test_emailed_after_commit(workflow_owner, django_capture_on_commit_callbacks, settings):
    settings.SITE_URL = "https://rollout.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        note = send(workflow_owner)
    (email,) = mail.outbox
    assert email.to == ["owner@example.com"]
    assert email.subject == "[Rollout] Support reply drafting paused"
    assert email.body == "Error rate 9%.\n\nhttps://rollout.example.com/x/\n"
    note.refresh_from_db()
    assert note.emailed_at is not None


def test_the_email_names_its_workflow_first(workflow, workflow_owner, settings):
    settings.SITE_URL = "https://rollout.example.com"
    note = send(workflow_owner, workflow, title="Error rate breached")
    assert notification_email(notification_id=note.pk) is True
    (email,) = mail.outbox
    assert email.subject == "[Rollout] Error rate breached"
    assert email.body == (
        "Support reply drafting\n\nError rate 9%.\n\nhttps://rollout.example.com/x/\n"
    )


def test_without_a_url_the_email_links_to_the_site(workflow_owner, settings):
    settings.SITE_URL = "https://rollout.example.com"
    note = send(workflow_owner, url="")
    assert notification_email(notification_id=note.pk) is True
    assert mail.outbox[0].body == "Error rate 9%.\n\nhttps://rollout.example.com\n"


def test_the_email_goes_once_however_often_the_task_runs(workflow_owner):
    note = send(workflow_owner)
    assert email_notification.delay(note.pk).get() is True
    assert email_notification.delay(note.pk).get() is False
    assert notification_email(notification_id=note.pk) is False
    assert len(mail.outbox) == 1


def test_no_email_for_people_who_chose_the_app_only(django_capture_on_commit_callbacks):
    quiet = UserFactory(**NO_EMAIL)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = send(quiet)
    assert callbacks == []
    assert mail.outbox == []
    assert Notification.objects.filter(pk=note.pk).exists()


def test_no_email_for_a_deactivated_person(django_capture_on_commit_callbacks):
    gone = UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send(gone)
    assert callbacks == []
    assert mail.outbox == []


def test_deactivated_before_the_task_ran_gets_no_email(workflow_owner):
    note = send(workflow_owner)
    User.objects.filter(pk=workflow_owner.pk).update(is_active=False)
    assert notification_email(notification_id=note.pk) is False
    assert mail.outbox == []


def test_an_unknown_notification_is_nothing_to_send(db):
    assert notification_email(notification_id=999_999) is False


def test_long_titles_and_bodies_are_cut_to_fit(workflow_owner):
    note = send(workflow_owner, title="t" * 500, body="b" * 5000)
    note.refresh_from_db()
    assert (len(note.title), len(note.body)) == (200, 4000)


def test_mark_read_only_for_the_recipient(workflow_owner, other_user):
    note = send(workflow_owner)
    notification_mark_read(recipient=other_user, notification_id=note.pk)
    note.refresh_from_db()
    assert note.read_at is None
    notification_mark_read(recipient=workflow_owner, notification_id=note.pk)
    note.refresh_from_db()
    first_read = note.read_at
    assert first_read is not None
    notification_mark_read(recipient=workflow_owner, notification_id=note.pk)
    note.refresh_from_db()
    assert note.read_at == first_read


def test_a_notification_whose_title_breaks_the_header_fails_alone_and_the_sweep_goes_on():
    """Issue 13, item 1: a title with CR/LF (stored before validation existed) makes Django refuse
    the subject. That email is given up with the reason, never tried again; the sweep sends the
    others, each once."""
    from datetime import timedelta

    from django.utils import timezone

    from rollout.services.notifications import notifications_email_pending

    people = [UserFactory(email=f"agent{i}@example.com") for i in range(5)]
    for person in people:
        Notification.objects.create(
            recipient=person, title="Support reply drafting paused", email_category="updates"
        )
    bad = Notification.objects.create(
        recipient=people[0], title="Bad\r\nBcc: all@example.com", email_category="updates"
    )
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    Notification.objects.filter(pk=bad.pk).update(created_at=timezone.now() - timedelta(minutes=2))

    assert notifications_email_pending() == 5
    assert notifications_email_pending() == 0

    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)
    bad.refresh_from_db()
    assert bad.emailed_at is None
    assert "linefeed or carriage return" in bad.email_error


def test_an_address_refused_for_good_is_given_up_and_one_refused_for_now_waits(monkeypatch):
    import smtplib
    from datetime import timedelta

    from django.utils import timezone

    from rollout.services import notifications as service

    gone = UserFactory(email="gone@example.com")
    busy = UserFactory(email="busy@example.com")
    fine = UserFactory(email="fine@example.com")
    for person in (gone, busy, fine):
        Notification.objects.create(recipient=person, title="Paused", email_category="updates")
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=5))

    class Server(service.FanOutEmail):
        def send(self, fail_silently=False):
            codes = {"gone@example.com": 550, "busy@example.com": 450}
            if self.to[0] in codes:
                raise smtplib.SMTPRecipientsRefused({self.to[0]: (codes[self.to[0]], b"No")})
            return super().send(fail_silently)

    monkeypatch.setattr(service, "FanOutEmail", Server)

    assert service.notifications_email_pending() == 1
    assert [m.to for m in mail.outbox] == [["fine@example.com"]]
    given_up = Notification.objects.get(recipient=gone)
    assert given_up.email_error.startswith("SMTPRecipientsRefused: ")
    waiting = Notification.objects.get(recipient=busy)
    assert (waiting.emailed_at, waiting.email_error) == (None, "")
    monkeypatch.undo()
    assert service.notifications_email_pending() == 1  # busy's, at the next sweep
    assert sorted(m.to[0] for m in mail.outbox) == ["busy@example.com", "fine@example.com"]


def test_a_title_made_from_stored_text_becomes_one_line(workflow_owner):
    """Notification titles are built from other records (a feedback's words, an escalation's
    title) that may predate validation: they are stored as one line, never refused."""
    note = send(workflow_owner, title="Escalated:\r\nBcc: all@example.com\x00")
    note.refresh_from_db()
    assert note.title == "Escalated: Bcc: all@example.com"


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_when_marking_an_email_sent_still_marks_it_once(workflow_owner):
    """Issue 13, item 7, for notification emails: the email went out, then the connection died
    under the UPDATE that records it. The sender reconnects and records it, so neither the task
    nor the sweep sends it again."""
    from datetime import timedelta

    from django.db import OperationalError, connection
    from django.utils import timezone

    from rollout.services.notifications import notifications_email_pending

    note = Notification.objects.create(
        recipient=workflow_owner, title="Paused", email_category="updates"
    )
    cut: list[str] = []

    def lose_connection(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and "emailed_at" in sql and not cut:
            cut.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(lose_connection):
        assert notification_email(notification_id=note.pk) is True

    assert cut
    note.refresh_from_db()
    assert note.emailed_at is not None
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert notifications_email_pending() == 0
    assert len(mail.outbox) == 1


def test_a_category_turned_off_is_in_the_app_only(django_capture_on_commit_callbacks):
    person = UserFactory(email_updates=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = send(person)
    assert (callbacks, mail.outbox) == ([], [])
    note.refresh_from_db()
    assert note.email_category == ""
    with django_capture_on_commit_callbacks(execute=True):
        send(person, email=EmailCategory.FEEDBACK)  # another category, still on
    assert [m.to for m in mail.outbox] == [[person.email]]


def test_asking_for_email_on_one_case_emails_it_whatever_the_category(
    django_capture_on_commit_callbacks,
):
    person = UserFactory(**NO_EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        send(person, email=EmailCategory.FEEDBACK, asked_for_email=True)
    assert [m.to for m in mail.outbox] == [[person.email]]


@pytest.mark.parametrize("category", [EmailCategory.ESCALATIONS, EmailCategory.APPROVALS])
def test_pages_and_approval_requests_are_emailed_whatever_the_preferences(
    category, django_capture_on_commit_callbacks
):
    person = UserFactory(**NO_EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        send(person, email=category)
    (email,) = mail.outbox
    assert email.to == [person.email]
    assert "List-Unsubscribe" not in email.message()  # nothing to unsubscribe from


def test_an_email_that_can_be_turned_off_carries_its_one_click_link(workflow_owner, settings):
    from accounts.unsubscribe import unsubscribe_token_read

    settings.SITE_URL = "https://rollout.example.com"
    note = send(workflow_owner, email=EmailCategory.FEEDBACK)
    assert notification_email(notification_id=note.pk) is True
    message = mail.outbox[0].message()
    link = message["List-Unsubscribe"]
    assert link.startswith("<https://rollout.example.com/email/unsubscribe/") and link[-1] == ">"
    token = link.removeprefix("<https://rollout.example.com/email/unsubscribe/")[:-2]
    assert unsubscribe_token_read(token) == (workflow_owner.pk, EmailCategory.FEEDBACK)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_turning_a_category_on_later_sends_no_old_notification(workflow_owner):
    from datetime import timedelta

    from django.utils import timezone

    from rollout.services.notifications import notifications_email_pending

    User.objects.filter(pk=workflow_owner.pk).update(email_updates=False)
    workflow_owner.refresh_from_db()
    send(workflow_owner)
    User.objects.filter(pk=workflow_owner.pk).update(email_updates=True)
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert notifications_email_pending() == 0
    assert mail.outbox == []

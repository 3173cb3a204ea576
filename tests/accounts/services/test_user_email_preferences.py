import pytest

from accounts.models import EmailCategory, User
from accounts.services import (
    MSG_UNKNOWN_EMAIL_CATEGORY,
    user_email_preferences_update,
    user_email_unsubscribe,
)
from core.errors import ApplicationError
from rollout.models import Feedback, FeedbackVote
from tests.factories import UserFactory

CATEGORIES = ("email_notices", "email_reminders", "email_feedback", "email_updates")


def prefs(user: User) -> dict[str, bool]:
    return User.objects.values(*CATEGORIES).get(pk=user.pk)


def test_each_category_is_saved_on_or_off(other_user):
    user_email_preferences_update(
        user=other_user, wanted=[EmailCategory.NOTICES, EmailCategory.UPDATES]
    )
    assert prefs(other_user) == {
        "email_notices": True,
        "email_reminders": False,
        "email_feedback": False,
        "email_updates": True,
    }


def test_an_unknown_or_required_category_is_refused_and_nothing_changes(other_user):
    for wrong in ("digests", EmailCategory.ESCALATIONS):
        with pytest.raises(ApplicationError) as raised:
            user_email_preferences_update(user=other_user, wanted=[EmailCategory.NOTICES, wrong])
        assert raised.value.message == MSG_UNKNOWN_EMAIL_CATEGORY.format(category=wrong)
    assert prefs(other_user) == dict.fromkeys(CATEGORIES, True)


def test_unsubscribing_turns_off_only_that_category_and_twice_is_the_same(other_user):
    for _ in range(2):
        user_email_unsubscribe(user_id=other_user.pk, category=EmailCategory.REMINDERS)
        assert prefs(other_user) == {**dict.fromkeys(CATEGORIES, True), "email_reminders": False}


def test_unsubscribing_a_gone_account_changes_nothing(db):
    assert user_email_unsubscribe(user_id=999_999, category=EmailCategory.NOTICES) is None


def test_feedback_off_withdraws_the_email_asked_for_on_single_reports(workflow, other_user):
    mine = Feedback.objects.create(
        workflow=workflow, author=other_user, rating="helpful", category="praise"
    )
    theirs = Feedback.objects.create(
        workflow=workflow, author=UserFactory(), rating="helpful", category="praise"
    )
    FeedbackVote.objects.create(feedback=theirs, user=other_user, notify_by_email=True)

    user_email_unsubscribe(user_id=other_user.pk, category=EmailCategory.FEEDBACK)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.notify_by_email is False
    assert theirs.notify_by_email is True  # someone else's choice
    assert FeedbackVote.objects.get(user=other_user).notify_by_email is False

from accounts.services import user_profile_update


def test_profile_update_saves_name_and_email_preference(other_user):
    user = user_profile_update(user=other_user, display_name="  Sam S.  ", notify_by_email=False)

    other_user.refresh_from_db()
    assert other_user.display_name == user.display_name == "Sam S."
    assert other_user.notify_by_email is False
    assert other_user.email == "stranger@example.com"

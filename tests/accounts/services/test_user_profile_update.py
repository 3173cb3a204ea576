from accounts.services import user_profile_update


def test_profile_update_saves_the_name(other_user):
    user = user_profile_update(user=other_user, display_name="  Sam S.  ")

    other_user.refresh_from_db()
    assert other_user.display_name == user.display_name == "Sam S."
    assert other_user.email == "stranger@example.com"

"""The authentication backend: Django's ModelBackend, reading the signed-in person with what
every page needs of the organisation (accounts.selectors.user_get_signed_in)."""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User
from accounts.selectors import user_get_signed_in


class UserBackend(ModelBackend):
    def get_user(self, user_id: object) -> User | None:
        try:
            user = user_get_signed_in(user_id)
        except (User.DoesNotExist, ValueError, TypeError):
            return None
        return user if self.user_can_authenticate(user) else None

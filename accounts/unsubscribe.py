"""One-click unsubscribe links (RFC 8058): a link signed for one person and one category of email.

The signature is the authority — the link is used without a session or a CSRF token, by a mail
client's POST — so it carries only what it may turn off: the user's id and the category. It does
not expire: an old email's link still turns that email's category off."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from accounts.models import OPTIONAL_EMAIL, EmailCategory, User

SALT = "accounts.unsubscribe"


class BadUnsubscribeLink(Exception):
    """The link was not made by us (tampered, truncated), or names no category one can turn off."""


def unsubscribe_token(user: User, category: str) -> str:
    return signing.Signer(salt=SALT).sign_object({"user": user.pk, "category": category})


def unsubscribe_token_read(token: str) -> tuple[int, EmailCategory]:
    """The (user id, category) a token was signed for. Raises BadUnsubscribeLink."""
    try:
        value = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        raise BadUnsubscribeLink from None
    if not isinstance(value, dict) or value.get("category") not in OPTIONAL_EMAIL:
        raise BadUnsubscribeLink
    user_id = value.get("user")
    if type(user_id) is not int:
        raise BadUnsubscribeLink
    return user_id, EmailCategory(value["category"])


def unsubscribe_url(user: User, category: str) -> str:
    path = reverse("email_unsubscribe", kwargs={"token": unsubscribe_token(user, category)})
    return f"{settings.SITE_URL}{path}"


def unsubscribe_headers(user: User, category: str) -> dict[str, str]:
    """The List-Unsubscribe headers of an email of `category` to `user`; none for an email that
    cannot be turned off (an escalation page, an approval request) or has no category."""
    if category not in OPTIONAL_EMAIL:
        return {}
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user, category)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }

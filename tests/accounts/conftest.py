import re

import pytest
from django.core import mail
from django.test import Client
from django.utils.html import escape

from accounts.models import User

LINK = re.compile(r"https?://\S+")


def contains(response, text: str) -> bool:
    """Whether the rendered page shows `text` (as the template's autoescape writes it)."""
    return escape(text) in response.content.decode()


def template_names(response) -> list[str]:
    return [t.name for t in response.templates if t.name]


def last_mail_link() -> str:
    """The one link in the last email sent."""
    links = LINK.findall(mail.outbox[-1].body)
    assert len(links) == 1, links
    return links[0]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def as_user(client: Client):
    """A client signed in as the given user (force_login: axes needs a request for login())."""

    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)

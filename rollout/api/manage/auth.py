"""Bearer authentication of the management API with a person's access token (`rop_…`).

Bearer only: no session cookie is read, so a browser holding a session cannot be made to call
these endpoints (no CSRF surface). The token acts as its person: request.user becomes them, and
every activity entry the request writes notes "via token <name>" (core.acting).
"""

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from core.acting import act_via_token
from rollout.models import PersonalToken
from rollout.services.personal_tokens import (
    personal_token_authenticate,
    personal_token_refusal,
)

MSG_MISSING = "Send a personal access token in the header: Authorization: Bearer <token>."


class PersonalTokenAuth(HttpBearer):
    """`Authorization: Bearer rop_…`: request.auth is the PersonalToken, request.user its person.
    A missing, unknown, revoked or expired token, or one whose person was deactivated, is a 401
    that says which (rollout.services.personal_tokens)."""

    openapi_description = (
        "A personal access token (rop_…), created on your profile page. It acts with your "
        "permissions; a read token cannot change anything."
    )

    def __call__(self, request: HttpRequest) -> PersonalToken | None:
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme or not token.strip():
            raise AuthenticationError(message=MSG_MISSING)
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> PersonalToken | None:
        personal_token = personal_token_authenticate(token)
        if personal_token is None:
            raise AuthenticationError(message=personal_token_refusal(token))
        # The person, not whoever a session cookie might name: permissions are theirs.
        request.user = personal_token.user
        act_via_token(personal_token.name)
        return personal_token

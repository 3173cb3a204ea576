"""Bearer-token authentication for the JSON API."""

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from rollout.models import ApiToken
from rollout.services.api_tokens import (
    MSG_TOKEN_INVALID,
    api_token_authenticate,
    api_token_refusal,
)

MSG_MISSING = "Send an API token in the header: Authorization: Bearer <token>."
MSG_INVALID = MSG_TOKEN_INVALID


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer ro_…`. The authenticated token becomes `request.auth`."""

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme or not token.strip():
            raise AuthenticationError(message=MSG_MISSING)
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = api_token_authenticate(token)
        if api_token is None:
            # Refusals only: says so when the token was rotated and its grace period is over.
            raise AuthenticationError(message=api_token_refusal(token))
        return api_token

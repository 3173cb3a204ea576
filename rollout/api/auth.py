"""Bearer-token authentication for the JSON API."""

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from rollout.models import ApiToken
from rollout.services.api_tokens import api_token_authenticate

MSG_MISSING = "Send an API token in the header: Authorization: Bearer <token>."
MSG_INVALID = "This API token is unknown or has been revoked."


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
            raise AuthenticationError(message=MSG_INVALID)
        return api_token

"""The JSON API at /api/v1/ (PRODUCT.md "JSON API").

Every error is JSON: `{"detail": "..."}`, plus `"errors": [{"field": ..., "message": ...}]` (and
`"index"` for an item of a batch) when the input is invalid; see rollout.api.errors. Every request
is held to the body limit (rollout.api.limits) and every token to its rate
(rollout.api.throttling); rollout.api.base wires both in.

Each endpoint module holds a Router with its operations; they are added here, in the order the
OpenAPI document lists them. No module of the package imports this one.
"""

from ninja.openapi.docs import Swagger

from rollout.api import decision, events, feedback, metrics, otlp, sources
from rollout.api.auth import ApiTokenAuth
from rollout.api.base import RolloutAPI
from rollout.api.errors import MSG_INVALID_INPUT
from rollout.api.limits import MAX_BODY_BYTES
from rollout.api.manage import cohorts as manage_cohorts
from rollout.api.manage import data_sources as manage_data_sources
from rollout.api.manage import escalation_path as manage_escalation_path
from rollout.api.manage import notices as manage_notices
from rollout.api.manage import thresholds as manage_thresholds
from rollout.api.manage import webhooks as manage_webhooks
from rollout.api.manage import workflows as manage_workflows
from rollout.api.ofrep.openapi import add_ofrep_paths

__all__ = ["MAX_BODY_BYTES", "MSG_INVALID_INPUT", "api"]

api = RolloutAPI(
    title="Rollout API",
    version="1",
    urls_namespace="api",
    # Deep links put a link inside each operation's toggle button: nested controls a keyboard or
    # a screen reader cannot tell apart (axe: nested-interactive). The page is short without them.
    docs=Swagger(settings={"deepLinking": False}),
    auth=ApiTokenAuth(),
    description=(
        "Machine access to Rollout. Authenticate with `Authorization: Bearer <token>`; a token "
        "belongs to one workflow and is created on that workflow's API tokens page. A token may "
        "make ROLLOUT_API_RATE_PER_MINUTE requests a minute (429 with Retry-After beyond that); "
        "request bodies are limited to 1 MiB (413). The operations tagged Management take a "
        "person's personal access token instead (rop_…, created on the profile page): it acts "
        "with that person's permissions."
    ),
)
api.add_router("", decision.router)
api.add_router("", events.router)
api.add_router("", feedback.router)
api.add_router("", metrics.router)
api.add_router("", sources.router)
api.add_router("", manage_workflows.router)
api.add_router("", manage_data_sources.router)
api.add_router("", manage_cohorts.router)
api.add_router("", manage_thresholds.router)
api.add_router("", manage_escalation_path.router)
api.add_router("", manage_notices.router)
api.add_router("", manage_webhooks.router)
api.extra_openapi.append(otlp.openapi_paths)
api.extra_openapi.append(add_ofrep_paths)  # OFREP, served at /ofrep/v1/ (config/urls.py)

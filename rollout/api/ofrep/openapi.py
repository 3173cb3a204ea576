"""OFREP's two paths in the API's OpenAPI document (RolloutAPI.extra_openapi), so /api/v1/docs
lists them and schemathesis fuzzes them (tests/rollout/api/test_schema_fuzz.py).

The schemas are OFREP v0.3.0's (service/openapi.yaml, vendored in tests/rollout/api/), narrowed
to what Rollout answers: a string value that is one of live/shadow/off, four reasons, metadata of
primitives. 413 and 503 (the API's edge, `{"detail"}`) are added by add_common_errors.
"""

from typing import Any

from rollout.api.ofrep.answers import MAX_TARGETING_KEY, ErrorCode, Reason

_SCHEMAS = "#/components/schemas/"
SLUG_EXAMPLE = "support-reply-drafting"

# The rules the schema cannot say (the phrase tests/rollout/api/test_schema_fuzz.py looks for).
_INPUT_ERRORS = (ErrorCode.PARSE_ERROR, ErrorCode.TARGETING_KEY_MISSING, ErrorCode.INVALID_CONTEXT)


def _failure(*codes: ErrorCode, key: bool) -> dict[str, Any]:
    """An OFREP error body with these codes: an evaluation's (with its flag key) or the bulk's."""
    properties: dict[str, Any] = {"key": {"type": "string"}} if key else {}
    properties |= {
        "errorCode": {"type": "string", "enum": [str(code) for code in codes]},
        "errorDetails": {"type": "string"},
    }
    return {"type": "object", "required": [*properties], "properties": properties}


RULES = (
    "Rules beyond the schema: a targetingKey that is blank once trimmed is "
    "TARGETING_KEY_MISSING; one holding control characters or lone surrogates is "
    "INVALID_CONTEXT."
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "OfrepEvaluationRequest": {
        "type": "object",
        "required": ["context"],
        "properties": {
            "context": {
                "type": "object",
                "description": "The evaluation context. Attributes other than targetingKey "
                "are accepted and ignored (not stored).",
                "required": ["targetingKey"],
                "properties": {
                    "targetingKey": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_TARGETING_KEY,
                        "pattern": r"^[^\u0000-\u001f\u007f]*$",
                        "description": "The person, as the AI tool knows them: email (any "
                        "case) or external id.",
                        "examples": ["mia.member@example.com"],
                    }
                },
                "additionalProperties": True,
            }
        },
    },
    "OfrepMetadata": {
        "type": "object",
        "description": "Primitives only, none null: `phase`, `cohort`, `bucket` (the person's "
        "percentage bucket, 0–9999, when a percentage was consulted), `config_version`, "
        "`review_level`, `review_sample_rate`, `briefing_url`, and `rollout_reason`, "
        "Rollout's own reason (retired, not_started, audit, paused, shadow, not_enrolled, "
        "outside_percentage, holdout, not_briefed, enrolled).",
        "additionalProperties": {
            "oneOf": [{"type": "boolean"}, {"type": "string"}, {"type": "number"}]
        },
    },
    "OfrepEvaluation": {
        "type": "object",
        "required": ["key", "value", "variant", "reason", "metadata"],
        "properties": {
            "key": {"type": "string", "description": "The flag key: the workflow's slug."},
            "value": {"type": "string", "enum": ["live", "shadow", "off"]},
            "variant": {"type": "string", "enum": ["live", "shadow", "off"]},
            "reason": {
                "type": "string",
                "enum": [str(r) for r in Reason],
                "description": "DISABLED: retired or paused. STATIC: shadow phase, or not in "
                "an enrolled cohort. SPLIT: decided by the percentage or holdout hash. "
                "TARGETING_MATCH: a member of an enrolled cohort at 100 %, or not briefed.",
            },
            "metadata": {"$ref": f"{_SCHEMAS}OfrepMetadata"},
        },
    },
    "OfrepEvaluationFailure": _failure(*_INPUT_ERRORS, key=True),
    "OfrepFlagNotFound": _failure(ErrorCode.FLAG_NOT_FOUND, key=True),
    "OfrepBulkEvaluation": {
        "type": "object",
        "required": ["flags"],
        "properties": {
            "flags": {
                "type": "array",
                "description": "The token's workflow's flag (none if the workflow is gone).",
                "items": {"$ref": f"{_SCHEMAS}OfrepEvaluation"},
                "maxItems": 1,
            }
        },
    },
    "OfrepBulkFailure": _failure(*_INPUT_ERRORS, key=False),
    "OfrepGeneralError": {
        "type": "object",
        "required": ["errorDetails"],
        "properties": {"errorDetails": {"type": "string"}},
    },
}


def _json(description: str, name: str, **extra: Any) -> dict[str, Any]:
    schema = {"$ref": f"{_SCHEMAS}{name}"}
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Whole seconds to wait before the next request.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_SECURITY = [{"ApiTokenAuth": []}, {"OfrepApiKey": []}]
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"$ref": f"{_SCHEMAS}OfrepEvaluationRequest"},
            "example": {"context": {"targetingKey": "mia.member@example.com"}},
        }
    },
}
_COMMON = {
    401: _json("Missing, unknown or revoked API token", "OfrepGeneralError"),
    429: _json("Rate limited", "OfrepGeneralError", headers=_RETRY_AFTER),
}


def single() -> dict[str, Any]:
    return {
        "post": {
            "tags": ["OFREP"],
            "summary": "OFREP: evaluate one flag (a workflow) for one person",
            "operationId": "ofrep_evaluate_flag",
            "description": "The OpenFeature Remote Evaluation Protocol v0.3.0. The flag key is "
            "the workflow's slug; value and variant are the person's mode. Authenticate with "
            "`Authorization: Bearer <token>` or `X-API-Key: <token>`. A key other than the "
            f"token's workflow is FLAG_NOT_FOUND, whether or not it exists.\n\n{RULES}",
            "security": _SECURITY,
            "parameters": [
                {
                    "name": "key",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "example": SLUG_EXAMPLE,
                }
            ],
            "requestBody": _BODY,
            "responses": {
                200: _json("The evaluation", "OfrepEvaluation"),
                400: _json("A body OFREP refuses", "OfrepEvaluationFailure"),
                404: _json("Not this token's flag", "OfrepFlagNotFound"),
                **_COMMON,
            },
        }
    }


def bulk() -> dict[str, Any]:
    return {
        "post": {
            "tags": ["OFREP"],
            "summary": "OFREP: evaluate the token's workflow's flag for one person",
            "operationId": "ofrep_evaluate_flags",
            "description": "OFREP bulk evaluation: the flag of the token's workflow. The ETag "
            "is a strong tag of the exact body; If-None-Match with it (in a list, or `*`) "
            f"answers 304 without a body.\n\n{RULES}",
            "security": _SECURITY,
            "parameters": [
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
                {
                    "name": "flagConfigEtag",
                    "in": "query",
                    "required": False,
                    "description": "Accepted and ignored (Rollout sends no change events).",
                    "schema": {"type": "string"},
                },
                {
                    "name": "flagConfigLastModified",
                    "in": "query",
                    "required": False,
                    "description": "Accepted and ignored if well formed.",
                    "schema": {
                        "oneOf": [
                            {"type": "integer", "minimum": 0},
                            {"type": "string", "format": "date-time"},
                        ]
                    },
                },
            ],
            "requestBody": _BODY,
            "responses": {
                200: _json(
                    "The evaluations",
                    "OfrepBulkEvaluation",
                    headers={"ETag": {"schema": {"type": "string"}}},
                ),
                304: {"description": "Not modified: the ETag matched", "headers": {}},
                400: _json("A body OFREP refuses", "OfrepBulkFailure"),
                **_COMMON,
            },
        }
    }


def add_ofrep_paths(schema: dict[str, Any]) -> None:
    """Adds OFREP's paths, schemas and its X-API-Key scheme to the API's document."""
    schema.setdefault("paths", {}).update(
        {"/ofrep/v1/evaluate/flags/{key}": single(), "/ofrep/v1/evaluate/flags": bulk()}
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(SCHEMAS)
    components.setdefault("securitySchemes", {})["OfrepApiKey"] = {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }

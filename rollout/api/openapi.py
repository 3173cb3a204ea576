"""Touches to the generated OpenAPI schema.

`add_common_errors` documents the errors every operation can answer, so each operation need not
list them. Added to an operation only where it does not document that status itself: 400
(ValidationErrorOut) when it takes parameters or a body, 413 when it takes a body, 401 and 429
(with Retry-After) when it needs a token, and 503 (with Retry-After) everywhere: the database
connection lost under the request.

Statuses are integers, as ninja keys them: a string "400" beside ninja's 400 would be the same key
twice in the JSON, which Swagger UI and client generators refuse.

`examples_as_objects` fixes what ninja copies from a field's JSON Schema `examples` (a list) onto
its parameter, where OpenAPI wants a map of Example Objects.

`hoist_local_defs` makes schemas pasted in through `openapi_extra` (a pydantic
`model_json_schema()`, with its `$defs` and `#/$defs/...` references) valid: in an OpenAPI document
`#` is the document's root, so those references resolve to nothing and clients and schemathesis
see no body schema at all. The definitions move to the components and the references follow —
in a copy of the paths: the pasted schemas are module constants, shared by every build of the
document, and moving their definitions out of them would leave the next build without them.
"""

import copy
from typing import Any

from ninja import Schema

from rollout.api.errors import ErrorOut, ValidationErrorOut

_REF = "#/components/schemas/{model}"
_DEFS_REF = "#/$defs/"
_COMPONENTS_REF = "#/components/schemas/"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _register(schema: dict[str, Any], model: type[Schema]) -> dict[str, str]:
    """Puts `model` (and the models it uses) into the components; returns a $ref to it."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    json_schema = model.model_json_schema(ref_template=_REF)
    components.update(json_schema.pop("$defs", {}))
    components.setdefault(model.__name__, json_schema)
    return {"$ref": _REF.format(model=model.__name__)}


def _response(description: str, ref: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref}}, **extra}


def add_common_errors(schema: dict[str, Any]) -> dict[str, Any]:
    error = _register(schema, ErrorOut)
    invalid = _register(schema, ValidationErrorOut)
    retry_after = {
        "Retry-After": {
            "description": "Seconds to wait before the next request.",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    for path_item in schema.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            common: dict[int, dict[str, Any]] = {}
            if operation.get("parameters") or operation.get("requestBody"):
                common[400] = _response("Invalid input", invalid)
            if operation.get("requestBody"):
                common[413] = _response("The request body is larger than 1 MiB", error)
            if operation.get("security"):
                common[401] = _response("Missing, unknown or revoked API token", error)
                common[429] = _response("Rate limited", error, headers=retry_after)
            common[503] = _response(
                "The database connection was lost while answering: send the request again",
                error,
                headers=retry_after,
            )
            responses = operation.setdefault("responses", {})
            for status, response in common.items():
                responses.setdefault(status, response)
    return schema


def _hoist(node: Any, components: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            components.setdefault(name, definition)
            _hoist(definition, components)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_REF):
            node["$ref"] = _COMPONENTS_REF + ref.removeprefix(_DEFS_REF)
        for value in node.values():
            _hoist(value, components)
    elif isinstance(node, list):
        for value in node:
            _hoist(value, components)


def hoist_local_defs(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    paths = copy.deepcopy(schema.get("paths", {}))
    _hoist(paths, components)
    schema["paths"] = paths
    return schema


def examples_as_objects(schema: dict[str, Any]) -> dict[str, Any]:
    for path_item in schema.get("paths", {}).values():
        for method in _METHODS:
            for parameter in (path_item.get(method) or {}).get("parameters", []):
                examples = parameter.get("examples")
                if isinstance(examples, list):
                    parameter["examples"] = {str(value): {"value": value} for value in examples}
    return schema

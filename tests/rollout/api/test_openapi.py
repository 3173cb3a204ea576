"""The published OpenAPI document (/api/v1/openapi.json) is one that clients can trust (issue 13):
valid OpenAPI 3.1, every $ref resolvable, no key twice, and the limits the API enforces declared.

Fetched twice on purpose: the document is built on every request, and the second build must be
as good as the first.
"""

import json
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

URL = "/api/v1/openapi.json"


def duplicate_keys(text: str) -> list[list[str]]:
    found: list[list[str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if len(keys) != len(set(keys)):
            found.append(keys)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@pytest.fixture(params=["first", "second"])
def text(request) -> str:
    client = Client()
    response = client.get(URL)
    if request.param == "second":
        response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def document(text: str) -> dict[str, Any]:
    return json.loads(text)


def operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for path_item in document["paths"].values():
        for op in path_item.values():
            if op.get("operationId") == operation_id:
                return op
    raise AssertionError(operation_id)


def test_no_object_has_a_key_twice(text):
    # Two "400" keys (ninja's int and a string) make Swagger UI refuse the whole document.
    assert duplicate_keys(text) == []


def test_every_ref_resolves(document):
    missing = []
    for ref in refs(document):
        try:
            resolve(document, ref)
        except KeyError:
            missing.append(ref)
    assert missing == []


def test_it_is_valid_openapi(document):
    validate(document)


def test_metrics_dates_refuse_a_unix_timestamp(document):
    for parameter in operation(document, "metrics")["parameters"]:
        if parameter["name"] in ("from", "to"):
            schema = parameter["schema"]
            assert schema["format"] == "date"
            assert schema["pattern"] == r"^2\d{3}-\d{2}-\d{2}$"


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0", "86400", "1970-01-01", "1999-12-31", "20261201"])
def test_metrics_refuses_a_date_before_2000_or_not_iso(value, api_client, api_token, workflow):
    url = f"/api/v1/workflows/{workflow.slug}/metrics"
    for name in ("to", "from"):
        response = api_client.get(url, {name: value}, headers=api_token.headers)
        assert response.status_code == 400, (name, value)
        assert response.json()["errors"][0]["field"] == name


@pytest.mark.parametrize(
    ("operation_id", "rules"),
    [
        ("events", ["400 days", "an hour", "attrs.input_tokens", "attrs.cost"]),
        ("feedback", ["400 days", "an hour", "event_id"]),
        ("metrics", ["366 days", "`from` on or before `to`"]),
    ],
)
def test_rules_beyond_json_schema_are_described_and_answer_400(document, operation_id, rules):
    op = operation(document, operation_id)
    assert "Rules beyond the schema" in op["description"]  # see test_schema_fuzz
    for rule in rules:
        assert rule in op["description"], rule
    assert "400" in op["responses"]


def test_the_limits_the_api_enforces_are_declared(document):
    schemas = document["components"]["schemas"]
    event = schemas["EventIn"]["properties"]
    assert event["user_ref"]["maxLength"] == 254
    assert event["attrs"]["maxProperties"] == 20
    assert event["latency_ms"]["anyOf"][0]["maximum"] == 24 * 60 * 60 * 1000
    # The cost an event may carry (issue 18): in attrs, with its bounds in words.
    for words in ("`input_tokens`", "`output_tokens`", "`cost`", "100,000,000", "1,000,000"):
        assert words in event["attrs"]["description"], words
    body = operation(document, "events")["requestBody"]["content"]["application/json"]["schema"]
    batch = resolve(document, body["$ref"]) if "$ref" in body else body
    assert batch["properties"]["events"]["maxItems"] == 1000
    metrics = {p["name"]: p for p in operation(document, "metrics")["parameters"]}
    assert metrics["slug"]["schema"]["maxLength"] == 60

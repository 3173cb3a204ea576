"""OFREP's refusals: authentication (both headers, revoked tokens), flags the token may not see,
bad bodies (PARSE_ERROR, TARGETING_KEY_MISSING, INVALID_CONTEXT — always with errorDetails), the
rate limit, and no 500 for any input (issue 19 §1)."""

import json

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollout.api.errors import WWW_AUTHENTICATE
from rollout.api.ofrep import answers
from rollout.api.throttling import WINDOW_SECONDS
from rollout.services.api_tokens import api_token_revoke
from tests.factories import make_workflow
from tests.rollout.api.conftest import IssuedToken, issue_token
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

SLUG = "support-reply-drafting"
URL = f"/ofrep/v1/evaluate/flags/{SLUG}"
BULK = "/ofrep/v1/evaluate/flags"
GOOD = json.dumps({"context": {"targetingKey": "mia.member@example.com"}})


def post(client: Client, url: str, body: str | bytes, headers: dict[str, str] | None = None):
    return client.post(url, body, content_type="application/json", headers=headers or {})


# --- authentication ----------------------------------------------------------------------------


def test_the_token_as_a_bearer_or_as_an_api_key(api_client, api_token: IssuedToken, member):
    bearer = post(api_client, URL, GOOD, api_token.headers)
    api_key = post(api_client, URL, GOOD, {"X-API-Key": api_token.plaintext})
    both = post(api_client, URL, GOOD, {**api_token.headers, "X-API-Key": api_token.plaintext})
    assert bearer.status_code == api_key.status_code == both.status_code == 200
    assert bearer.json() == api_key.json() == both.json()
    # A wrong token beside the right one is refused: whoever sent it holds a wrong one.
    wrong = post(api_client, URL, GOOD, {**api_token.headers, "X-API-Key": "ro_wrong"})
    assert wrong.status_code == 401
    assert wrong.json() == {"errorDetails": answers.MSG_TWO_TOKENS}


@pytest.mark.parametrize("url", [URL, BULK])
@pytest.mark.parametrize(
    ("headers", "details"),
    [
        ({}, answers.MSG_MISSING_TOKEN),
        ({"Authorization": "Basic abc"}, answers.MSG_MISSING_TOKEN),
        ({"Authorization": "Bearer   "}, answers.MSG_MISSING_TOKEN),
        ({"Authorization": "Bearer ro_not-a-token"}, answers.MSG_INVALID_TOKEN),
        ({"X-API-Key": "ro_not-a-token"}, answers.MSG_INVALID_TOKEN),
        ({"X-API-Key": "x" * 10_000}, answers.MSG_INVALID_TOKEN),
        ({"Authorization": "Bearer ro_a", "X-API-Key": "ro_b"}, answers.MSG_TWO_TOKENS),
    ],
)
def test_401_without_a_valid_token(api_client, url, headers, details):
    response = post(api_client, url, GOOD, headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert response.json() == {"errorDetails": details}


@pytest.mark.parametrize("url", [URL, BULK])
def test_a_revoked_token_stops_at_once(
    api_client, api_token, workflow_owner, url, django_capture_on_commit_callbacks
):
    assert post(api_client, url, GOOD, api_token.headers).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        api_token_revoke(token=api_token.token, actor=workflow_owner)
    for headers in (api_token.headers, {"X-API-Key": api_token.plaintext}):
        response = post(api_client, url, GOOD, headers)
        assert response.status_code == 401
        assert response.json() == {"errorDetails": answers.MSG_INVALID_TOKEN}


# --- 404: the same answer for another workflow and a missing one --------------------------------


@pytest.mark.parametrize("key", ["other-workflow", "no-such-workflow", "", "a/b", "x%00y", "ü"])
def test_flag_not_found_for_any_key_but_the_tokens_workflow(
    api_client, api_token, workflow_owner, ops_leader, key
):
    make_workflow(owner=workflow_owner, actor=ops_leader, name="Other", slug="other-workflow")
    response = post(api_client, f"/ofrep/v1/evaluate/flags/{key}", GOOD, api_token.headers)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {
        "key": body["key"],
        "errorCode": "FLAG_NOT_FOUND",
        "errorDetails": answers.MSG_FLAG_NOT_FOUND,
    }


def test_another_workflows_token_gets_the_same_404(api_client, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader, name="Other", slug="other-wf")
    token = issue_token(other, workflow_owner)
    exists = post(api_client, URL, GOOD, token.headers)
    missing = post(api_client, "/ofrep/v1/evaluate/flags/no-such-wf", GOOD, token.headers)
    assert exists.status_code == missing.status_code == 404
    assert exists.json()["errorDetails"] == missing.json()["errorDetails"]


# --- 400 ---------------------------------------------------------------------------------------

BAD_BODIES = [
    (b"", "PARSE_ERROR"),
    (b"{", "PARSE_ERROR"),
    (b"\xff\xfe", "PARSE_ERROR"),
    (b"[]", "PARSE_ERROR"),
    (b'"context"', "PARSE_ERROR"),
    (b"null", "PARSE_ERROR"),
    (b"[" * 100_000, "PARSE_ERROR"),
    (
        json.dumps({"context": {"a": [[[[[]]]]]}} | {"x": [[]] * 3}).encode(),
        "TARGETING_KEY_MISSING",
    ),
    (b"{}", "TARGETING_KEY_MISSING"),
    (b'{"context": {}}', "TARGETING_KEY_MISSING"),
    (b'{"context": {"targetingKey": null}}', "TARGETING_KEY_MISSING"),
    (b'{"context": {"targetingKey": ""}}', "TARGETING_KEY_MISSING"),
    (b'{"context": {"targetingKey": "  \\t "}}', "TARGETING_KEY_MISSING"),
    (b'{"context": []}', "INVALID_CONTEXT"),
    (b'{"context": "mia"}', "INVALID_CONTEXT"),
    (b'{"context": null}', "INVALID_CONTEXT"),
    (b'{"context": {"targetingKey": 7}}', "INVALID_CONTEXT"),
    (b'{"context": {"targetingKey": NaN}}', "INVALID_CONTEXT"),
    (b'{"context": {"targetingKey": ["mia"]}}', "INVALID_CONTEXT"),
    (b'{"context": {"targetingKey": "mia\\u0000"}}', "INVALID_CONTEXT"),
    (b'{"context": {"targetingKey": "mia\\nmember"}}', "INVALID_CONTEXT"),
    (b'{"context": {"targetingKey": "mia\\ud800"}}', "INVALID_CONTEXT"),
    (json.dumps({"context": {"targetingKey": "m" * 255}}).encode(), "INVALID_CONTEXT"),
]


@pytest.mark.parametrize(("body", "code"), BAD_BODIES)
def test_400_with_the_error_code_and_details(api_client, api_token, body, code):
    single = post(api_client, URL, body, api_token.headers)
    assert single.status_code == 400
    assert single["Content-Type"] == "application/json"
    assert single.json()["key"] == SLUG
    assert single.json()["errorCode"] == code
    assert single.json()["errorDetails"]
    bulk = post(api_client, BULK, body, api_token.headers)
    assert bulk.status_code == 400
    assert set(bulk.json()) == {"errorCode", "errorDetails"}
    assert bulk.json()["errorCode"] == code


def test_the_exact_details_of_each_code(api_client, api_token):
    def details(body: bytes) -> str:
        return post(api_client, URL, body, api_token.headers).json()["errorDetails"]

    assert details(b"{") == "The body is not valid JSON."
    assert details(b"[]") == answers.MSG_NOT_AN_OBJECT
    assert details(b"{}") == answers.MSG_NO_CONTEXT
    assert details(b'{"context": {}}') == answers.MSG_NO_TARGETING_KEY
    assert details(b'{"context": 1}') == answers.MSG_CONTEXT_NOT_AN_OBJECT
    assert details(b'{"context": {"targetingKey": 1}}') == answers.MSG_TARGETING_KEY_NOT_TEXT
    assert details(b'{"context": {"targetingKey": "a\\u0001"}}') == (
        answers.MSG_TARGETING_KEY_CONTROL
    )


def test_other_attributes_are_accepted_and_ignored(api_client, api_token, workflow, member):
    make_plan(workflow, current="limited")
    plain = post(api_client, URL, GOOD, api_token.headers).json()
    body = {"context": {"targetingKey": member.email, "plan": "x", "n": 1e999, "o": {"a": [1]}}}
    assert post(api_client, URL, json.dumps(body), api_token.headers).json() == plain


def test_a_body_over_the_limit_is_413(api_client, api_token):
    body = json.dumps({"context": {"targetingKey": "a", "pad": "x" * (1024 * 1024)}})
    assert post(api_client, URL, body, api_token.headers).status_code == 413


@pytest.mark.parametrize("url", [URL, BULK])
def test_only_post(api_client, api_token, url):
    response = api_client.get(url, headers=api_token.headers)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "application/json"


# --- 429 ---------------------------------------------------------------------------------------


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=2)
@pytest.mark.parametrize("url", [URL, BULK])
def test_rate_limited_with_retry_after_in_whole_seconds(api_client, api_token, url, monkeypatch):
    monkeypatch.setattr("rollout.api.throttling.clock", lambda: 1_000_000 * 60 + 17.5)
    assert post(api_client, url, GOOD, api_token.headers).status_code == 200
    assert post(api_client, url, GOOD, {"X-API-Key": api_token.plaintext}).status_code == 200
    response = post(api_client, url, GOOD, api_token.headers)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(WINDOW_SECONDS - 17)  # 42.5 s left: 43 whole seconds
    assert response.json() == {"errorDetails": answers.MSG_RATE_LIMITED}


# --- never a 500 -------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
BODIES = st.one_of(
    st.binary(max_size=200),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["context", "x"]), JSON_VALUES).map(
        lambda v: json.dumps(v).encode()
    ),
    st.fixed_dictionaries(
        {
            "context": st.fixed_dictionaries(
                {"targetingKey": JSON_VALUES}, optional={"a": JSON_VALUES}
            )
        }
    ).map(lambda v: json.dumps(v).encode()),
)
KEYS = st.one_of(st.just(SLUG), st.text(max_size=40))
HEADERS = st.sampled_from(["good", "api-key", "none", "bad"])


# The same cases every run (derandomized, no example database), so a failure is a bug, not luck.
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=BODIES, key=KEYS, auth=HEADERS, if_none_match=st.text(max_size=40))
def test_no_input_makes_a_500(api_client, api_token, body, key, auth, if_none_match):
    headers = {
        "good": api_token.headers,
        "api-key": {"X-API-Key": api_token.plaintext},
        "none": {},
        "bad": {"Authorization": "Bearer ro_x"},
    }[auth]
    path = "/ofrep/v1/evaluate/flags/" + "".join(c for c in key if c not in "?#")
    for url in (path, BULK):
        extra = {"If-None-Match": if_none_match.encode("latin-1", "replace").decode("latin-1")}
        response = post(api_client, url, body, {**headers, **extra})
        assert response.status_code in {200, 304, 400, 401, 404}, (url, body, response.content)
        if response.status_code != 304:
            assert response["Content-Type"] == "application/json"
            json.loads(response.content)

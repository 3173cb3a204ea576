"""OFREP bulk evaluation, POST /ofrep/v1/evaluate/flags: the token's workflow's flag, a strong
ETag that is the hash of the exact body, and If-None-Match answered with a 304 (RFC 9110's
list of tags and `*`)."""

import hashlib
import json

import pytest
from django.test import Client

from rollout.services.phase_control import phase_pause
from tests.rollout.api.conftest import IssuedToken
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

BULK = "/ofrep/v1/evaluate/flags"
SLUG = "support-reply-drafting"


def bulk(client: Client, token: IssuedToken, ref: str, **headers: str):
    body = json.dumps({"context": {"targetingKey": ref}})
    return client.post(
        BULK, body, content_type="application/json", headers={**token.headers, **headers}
    )


def test_the_tokens_workflow_flag_with_a_strong_etag(api_client, api_token, workflow, member):
    make_plan(workflow, current="limited")
    response = bulk(api_client, api_token, member.email)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    single = api_client.post(
        f"{BULK}/{SLUG}",
        json.dumps({"context": {"targetingKey": member.email}}),
        content_type="application/json",
        headers=api_token.headers,
    )
    assert response.json() == {"flags": [single.json()]}
    assert response.json()["flags"][0]["value"] == "live"
    digest = hashlib.sha256(response.content).hexdigest()[:32]
    assert response["ETag"] == f'"{digest}"'  # strong: no W/


def test_the_etag_follows_the_answer(
    api_client, api_token, workflow, member, workflow_owner, django_capture_on_commit_callbacks
):
    make_plan(workflow, current="limited")
    live = bulk(api_client, api_token, member.email)
    assert bulk(api_client, api_token, member.email)["ETag"] == live["ETag"]
    assert bulk(api_client, api_token, "someone@example.com")["ETag"] != live["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="off", reason="Drift")
    paused = bulk(api_client, api_token, member.email, If_None_Match=live["ETag"])
    assert paused.status_code == 200
    assert paused.json()["flags"][0]["reason"] == "DISABLED"
    assert paused["ETag"] != live["ETag"]


@pytest.mark.parametrize(
    "header",
    [
        "{etag}",
        "W/{etag}",
        '"other", {etag}',
        '"a",W/{etag} ,"b"',
        "*",
        " * ",
    ],
)
def test_a_matching_if_none_match_is_304_with_no_body(
    api_client, api_token, workflow, member, header
):
    make_plan(workflow, current="limited")
    etag = bulk(api_client, api_token, member.email)["ETag"]
    response = bulk(api_client, api_token, member.email, If_None_Match=header.format(etag=etag))
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


@pytest.mark.parametrize("header", ['"other"', "", ",", "{bare}", '"a", "b"', "W/"])
def test_a_non_matching_if_none_match_is_answered(api_client, api_token, workflow, member, header):
    make_plan(workflow, current="limited")
    etag = bulk(api_client, api_token, member.email)["ETag"]
    response = bulk(
        api_client, api_token, member.email, If_None_Match=header.format(bare=etag.strip('"'))
    )
    assert response.status_code == 200
    assert response["ETag"] == etag
    assert response.json()["flags"][0]["key"] == SLUG


def test_bulk_warm_path_makes_no_query(
    api_client, api_token, workflow, member, django_assert_num_queries
):
    make_plan(workflow, current="limited")
    etag = bulk(api_client, api_token, member.email)["ETag"]
    with django_assert_num_queries(0):
        assert bulk(api_client, api_token, member.email, If_None_Match=etag).status_code == 304
        assert bulk(api_client, api_token, member.email).status_code == 200


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("flagConfigEtag=abc&flagConfigLastModified=1771622898", 200),
        ("flagConfigLastModified=2026-02-20T21:28:18Z", 200),
        ("flagConfigLastModified=2026-02-20T21:28:18.5%2B01:00", 200),
        ("other=1&flagConfigEtag=", 200),
        ("flagConfigLastModified=", 400),
        ("flagConfigLastModified=-1", 400),
        ("flagConfigLastModified=yesterday", 400),
        ("flagConfigLastModified=2026-02-30T21:28:18Z", 400),
        ("flagConfigLastModified=2026-02-20%2021:28:18Z", 400),
        ("flagConfigLastModified=%FF", 400),
    ],
)
def test_the_change_notification_parameters(api_client, api_token, workflow, member, query, status):
    body = json.dumps({"context": {"targetingKey": member.email}})
    response = api_client.post(
        f"{BULK}?{query}", body, content_type="application/json", headers=api_token.headers
    )
    assert response.status_code == status
    if status == 400:
        assert response.json()["errorCode"] == "PARSE_ERROR"
        assert response.json()["errorDetails"]

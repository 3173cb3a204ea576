import time

import pytest
from django.core import signing

from rollout.lib.approval_links import (
    MAX_AGE,
    SALT,
    ApprovalKind,
    ApprovalLinkPayload,
    BadApprovalLink,
    ExpiredApprovalLink,
    approval_link_read,
    approval_link_token,
)

PAYLOAD = ApprovalLinkPayload(7, ApprovalKind.PROMOTION, 42, "0123456789abcdef")


def test_a_token_reads_back_and_fits_in_a_path():
    token = approval_link_token(PAYLOAD)
    assert approval_link_read(token) == PAYLOAD
    assert "/" not in token and "?" not in token and "#" not in token


@pytest.mark.parametrize("position", [0, 10, -1])
def test_any_changed_character_makes_it_bad(position):
    token = approval_link_token(PAYLOAD)
    index = position % len(token)
    changed = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
    with pytest.raises(BadApprovalLink):
        approval_link_read(changed)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 7, "k": "promotion", "r": 42},  # no version
        {"a": "7", "k": "promotion", "r": 42, "v": "x"},  # id as text
        {"a": True, "k": "promotion", "r": 42, "v": "x"},  # a boolean is no id
        {"a": 7, "k": "feedback", "r": 42, "v": "x"},  # not a kind of request
        [7, "promotion", 42, "x"],
    ],
)
def test_a_good_signature_over_a_wrong_shape_is_bad(value):
    token = signing.TimestampSigner(salt=SALT).sign_object(value)
    with pytest.raises(BadApprovalLink):
        approval_link_read(token)


def test_a_value_signed_for_something_else_is_bad():
    token = signing.TimestampSigner(salt="accounts.unsubscribe").sign_object(
        {"a": 7, "k": "promotion", "r": 42, "v": "0123456789abcdef"}
    )
    with pytest.raises(BadApprovalLink):
        approval_link_read(token)


def test_an_old_token_is_expired_and_still_says_what_it_was_for(monkeypatch):
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - MAX_AGE.total_seconds() - 1)
    token = approval_link_token(PAYLOAD)
    monkeypatch.setattr(signing.time, "time", lambda: now)
    with pytest.raises(ExpiredApprovalLink) as exc:
        approval_link_read(token)
    assert exc.value.payload == PAYLOAD


def test_it_works_for_72_hours():
    assert MAX_AGE.total_seconds() == 72 * 3600

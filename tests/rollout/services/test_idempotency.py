from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from rollout.models import IdempotentRequest, PersonalToken
from rollout.services import idempotency as svc
from rollout.services.personal_tokens import personal_token_create
from rollout.services.retention import retention_apply


@pytest.fixture
def token(workflow_owner: User) -> PersonalToken:
    return personal_token_create(
        user=workflow_owner,
        actor=workflow_owner,
        name="CI",
        scope="write",
        expires_on=timezone.localdate() + timedelta(days=30),
    )[0]


def _begin(token: PersonalToken, body_hash: str = "a" * 64, key: str = "k1") -> svc.Claim:
    return svc.idempotency_begin(
        token=token, method="POST", path="/api/v1/workflows", key=key, body_hash=body_hash
    )


def test_claim_then_in_flight_then_replay(token: PersonalToken) -> None:
    claim = _begin(token)
    assert claim.outcome == svc.Outcome.CLAIMED
    assert _begin(token).outcome == svc.Outcome.IN_FLIGHT
    svc.idempotency_finish(row=claim.row, status=201, response={"slug": "x"})
    replay = _begin(token)
    assert replay.outcome == svc.Outcome.REPLAY
    assert (replay.row.status, replay.row.response) == (201, {"slug": "x"})


def test_another_body_with_the_key(token: PersonalToken) -> None:
    _begin(token)
    assert _begin(token, body_hash="b" * 64).outcome == svc.Outcome.OTHER_BODY


def test_keys_are_per_token_method_path_and_key(token: PersonalToken, ops_leader: User) -> None:
    other = personal_token_create(
        user=ops_leader,
        actor=ops_leader,
        name="CI",
        scope="write",
        expires_on=timezone.localdate() + timedelta(days=30),
    )[0]
    _begin(token)
    assert _begin(other).outcome == svc.Outcome.CLAIMED
    assert _begin(token, key="k2").outcome == svc.Outcome.CLAIMED
    assert (
        svc.idempotency_begin(
            token=token, method="PATCH", path="/api/v1/workflows", key="k1", body_hash="a" * 64
        ).outcome
        == svc.Outcome.CLAIMED
    )


def test_an_abandoned_claim_frees_the_key(token: PersonalToken) -> None:
    claim = _begin(token)
    svc.idempotency_abandon(row=claim.row)
    assert _begin(token, body_hash="c" * 64).outcome == svc.Outcome.CLAIMED


def test_a_day_old_key_is_forgotten_and_a_stuck_claim_taken_over(token: PersonalToken) -> None:
    claim = _begin(token)
    svc.idempotency_finish(row=claim.row, status=201, response={})
    IdempotentRequest.objects.update(created_at=timezone.now() - svc.KEEP)
    assert _begin(token, body_hash="d" * 64).outcome == svc.Outcome.CLAIMED

    stuck = _begin(token, key="stuck")
    IdempotentRequest.objects.filter(pk=stuck.row.pk).update(
        created_at=timezone.now() - svc.IN_FLIGHT_TIMEOUT
    )
    assert _begin(token, key="stuck").outcome == svc.Outcome.CLAIMED


def test_the_nightly_retention_deletes_old_keys(token: PersonalToken) -> None:
    _begin(token, key="old")
    _begin(token, key="new")
    IdempotentRequest.objects.filter(key="old").update(
        created_at=timezone.now() - svc.KEEP - timedelta(minutes=1)
    )
    run = retention_apply()
    assert run.idempotency_keys_deleted == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]

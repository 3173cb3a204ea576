"""OFREP driven by clients nobody on this project wrote: the `openfeature-sdk` with
`openfeature-provider-ofrep`, over real HTTP against the live server (issue 19 "Done when")."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider import ofrep as ofrep_provider
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from rollout.services import cohorts as cohort_svc
from rollout.services.api_tokens import api_token_revoke
from rollout.services.phase_control import phase_pause
from tests.factories import UserFactory, make_workflow
from tests.rollout.api.conftest import IssuedToken, issue_token
from tests.rollout.promotion_fixtures import make_plan

SLUG = "support-reply-drafting"


def of_client(base_url: str, token: IssuedToken, *, api_key: bool = False) -> OpenFeatureClient:
    """An OpenFeature client whose provider sends the token (as a bearer or as X-API-Key)."""
    headers = {"X-API-Key": token.plaintext} if api_key else token.headers
    domain = f"rollout-{token.token.pk}-{api_key}"
    api.set_provider(OFREPProvider(base_url, headers_factory=lambda: headers), domain=domain)
    return api.get_client(domain)


@pytest.fixture(autouse=True)
def _no_providers_left() -> Iterator[None]:
    yield
    api.clear_providers()


def mode(client: OpenFeatureClient, ref: str | None, key: str = SLUG):
    context = None if ref is None else EvaluationContext(targeting_key=ref)
    return client.get_string_details(key, "off", context)


@pytest.fixture
def cohorts(workflow, ops_leader):
    """Mia in "Tier 1" (live in limited, at 100 %), Noah in "Tier 2" (enrolled for broad)."""
    mia = UserFactory(email="mia.member@example.com", external_id="EMP-7")
    noah = UserFactory(email="noah.broad@example.com")
    tier1 = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=tier1, users=[mia], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=tier1, phase="limited", percentage=100, actor=ops_leader)
    tier2 = cohort_svc.cohort_create(workflow=workflow, name="Tier 2", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=tier2, users=[noah], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=tier2, phase="broad", percentage=100, actor=ops_leader)
    make_plan(workflow, current="limited")
    return mia, noah


def test_live_and_off_for_members_of_different_cohorts(live_server, api_token, cohorts):
    mia, noah = cohorts
    client = of_client(live_server.url, api_token)
    live = mode(client, "Mia.Member@example.com")
    assert (live.value, live.variant, live.reason) == ("live", "live", Reason.TARGETING_MATCH)
    assert live.error_code is None
    assert live.flag_metadata["cohort"] == "Tier 1"
    assert live.flag_metadata["review_level"] == "every"
    off = mode(client, noah.email)  # Tier 2 goes live in the broad phase, not yet
    assert (off.value, off.variant, off.reason) == ("off", "off", Reason.STATIC)
    assert off.flag_metadata == {
        "phase": "limited",
        "config_version": 1,
        "rollout_reason": "not_enrolled",
    }
    by_key = of_client(live_server.url, api_token, api_key=True)
    assert mode(by_key, "EMP-7").value == "live"


def test_shadow_for_everyone_in_a_shadow_phase(live_server, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader, name="Triage", slug="triage")
    make_plan(other, current="shadow")
    client = of_client(live_server.url, issue_token(other, workflow_owner))
    details = mode(client, "anyone@example.com", key="triage")
    assert (details.value, details.variant, details.reason) == ("shadow", "shadow", Reason.STATIC)


def test_a_paused_workflow_gives_its_fallback_disabled(
    live_server, api_token, cohorts, workflow, workflow_owner
):
    phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="shadow", reason="Drift")
    details = mode(of_client(live_server.url, api_token), cohorts[0].email)
    assert (details.value, details.reason) == ("shadow", Reason.DISABLED)
    assert details.flag_metadata["rollout_reason"] == "paused"


def test_an_unknown_workflow_gets_the_default_with_reason_error(live_server, api_token, cohorts):
    client = of_client(live_server.url, api_token)
    details = mode(client, cohorts[0].email, key="no-such-workflow")
    assert (details.value, details.reason) == ("off", Reason.ERROR)
    assert details.error_code == ErrorCode.FLAG_NOT_FOUND
    # Any other default the application chose is what it gets.
    assert client.get_string_value("no-such-workflow", "shadow") == "shadow"


def test_no_context_is_targeting_key_missing(live_server, api_token, cohorts):
    """The provider sends `{}` when the application gives no context."""
    details = mode(of_client(live_server.url, api_token), None)
    assert (details.value, details.reason) == ("off", Reason.ERROR)
    assert details.error_code == ErrorCode.TARGETING_KEY_MISSING


def test_a_revoked_token_gets_the_default(live_server, api_token, cohorts, workflow_owner):
    client = of_client(live_server.url, api_token)
    assert mode(client, cohorts[0].email).value == "live"
    api_token_revoke(token=api_token.token, actor=workflow_owner)
    details = mode(client, cohorts[0].email)
    assert (details.value, details.reason) == ("off", Reason.ERROR)
    assert details.error_code == ErrorCode.GENERAL
    assert details.error_message == "unauthorized"


class _Clock:
    """The provider's clock, moved by the test instead of by waiting."""

    now_at = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)

    @classmethod
    def now(cls, tz=None) -> datetime:
        return cls.now_at


def test_the_provider_stops_calling_until_retry_after(
    live_server, api_token, cohorts, settings, monkeypatch
):
    settings.ROLLOUT_API_RATE_PER_MINUTE = 2
    # 42.5 s before the rate window ends: Retry-After says 43.
    monkeypatch.setattr("rollout.api.throttling.clock", lambda: 1_000_000 * 60 + 17.5)
    monkeypatch.setattr(ofrep_provider, "datetime", _Clock)
    client = of_client(live_server.url, api_token)
    provider = api.provider_registry.get_provider(f"rollout-{api_token.token.pk}-False")
    sent: list[str] = []
    post = provider.session.post
    monkeypatch.setattr(
        provider.session, "post", lambda url, **kw: sent.append(url) or post(url, **kw)
    )

    assert mode(client, cohorts[0].email).value == "live"
    assert mode(client, cohorts[0].email).value == "live"
    limited = mode(client, cohorts[0].email)  # the third in the minute: 429
    assert (limited.value, limited.reason, limited.error_code) == (
        "off",
        Reason.ERROR,
        ErrorCode.GENERAL,
    )
    assert provider.retry_after == _Clock.now_at + timedelta(seconds=43)
    assert len(sent) == 3

    _Clock.now_at += timedelta(seconds=42)
    paused = mode(client, cohorts[0].email)
    assert paused.reason == Reason.ERROR and "paused" in paused.error_message
    assert len(sent) == 3  # not called while Retry-After runs

    _Clock.now_at += timedelta(seconds=2)
    monkeypatch.setattr("rollout.api.throttling.clock", lambda: 1_000_001 * 60 + 1.0)
    assert mode(client, cohorts[0].email).value == "live"  # a new window: calling again
    assert len(sent) == 4

"""The defaults of sign-in lockout and the password-reset throttle (before the test settings)."""

from config.settings import base


def test_sign_in_is_limited_per_account_and_far_higher_per_address():
    assert base.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"], "ip_address"]
    assert base.AXES_HANDLER == "accounts.lockout.PerParameterLimitHandler"
    assert base.AXES_FAILURE_LIMIT == 5
    assert base.ROLLOUT_SIGN_IN_FAILURES_PER_IP == 50


def test_the_client_address_is_the_peer_unless_proxies_are_configured():
    assert base.AXES_CLIENT_IP_CALLABLE == "core.client_ip.client_ip"
    assert base.ROLLOUT_TRUSTED_PROXY_COUNT == 0


def test_password_resets_are_throttled_by_default():
    assert base.ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_ADDRESS == 5
    assert base.ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_IP == 20

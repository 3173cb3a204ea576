"""Standard Webhooks signing (rollout.lib.standard_webhooks), checked against the spec's published
test vector and the `standardwebhooks` reference library."""

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from rollout.lib import standard_webhooks as sw

# The spec's test vector (shared/STACK.md; the reference libraries' tests use the same).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_spec_test_vector():
    assert sw.signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )


def test_a_new_secret_is_whsec_and_32_random_bytes():
    first, second = sw.secret_generate(), sw.secret_generate()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert sw.secret_display(first) == first


def test_the_reference_library_verifies_our_headers_and_refuses_tampering():
    secret = sw.secret_generate()
    body = b'{"type":"rollout.paused"}'
    now = int(time.time())
    headers = sw.headers(secrets_in_use=[secret], msg_id="msg_1", timestamp=now, body=body)
    assert Webhook(secret).verify(body, headers) == {"type": "rollout.paused"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"type":"rollout.resumed"}', headers)
    stale = sw.headers(secrets_in_use=[secret], msg_id="msg_1", timestamp=now - 600, body=body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)
    with pytest.raises(WebhookVerificationError):
        Webhook(sw.secret_generate()).verify(body, headers)


def test_during_a_rotation_either_secret_verifies():
    new, old = sw.secret_generate(), sw.secret_generate()
    body = b"{}"
    headers = sw.headers(secrets_in_use=[new, old], msg_id="msg_9", timestamp=int(time.time()),
                         body=body)  # fmt: skip
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers) == {}
    assert Webhook(old).verify(body, headers) == {}


def test_an_old_secret_is_shown_as_whsec_of_its_own_bytes():
    old = "Zr3-legacy_secret_made_by_token_urlsafe_32xx"
    shown = sw.secret_display(old)
    assert shown == "whsec_" + base64.b64encode(old.encode()).decode()
    body = b'{"id":1}'
    headers = sw.headers(secrets_in_use=[old], msg_id="msg_2", timestamp=int(time.time()),
                         body=body)  # fmt: skip
    assert Webhook(shown).verify(body, headers) == {"id": 1}
    # The old header signs with the same key, as before.
    assert sw.legacy_signature(old, body) == (
        "sha256=" + hmac.new(old.encode(), body, hashlib.sha256).hexdigest()
    )

"""The tokens page (issue 19): rotating a token as a named action — the new token shown once,
both listed with their last use, the old one with when it stops and "Stop it now" — refused
for other roles and for bad input without changing anything; and the Connect panel's addresses,
checked with the standards' own client libraries."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from opentelemetry.util.re import parse_env_headers

from rollout.forms.api_tokens import MSG_GRACE_CHOICE, MSG_TOKEN_CHOICE
from rollout.models import ActivityEntry, ApiToken, ApiTokenStatus
from rollout.services import api_tokens as svc
from rollout.views import api_tokens as views
from tests.factories import make_workflow
from tests.rollout.views.conftest import as_user, login_redirect

URL = "/workflows/support-reply-drafting/tokens/"


@pytest.fixture
def issued(workflow, workflow_owner) -> tuple[ApiToken, str]:
    return svc.api_token_create(workflow=workflow, actor=workflow_owner, name="Support tool")


def rotate(client: Client, token_id, grace="86400", **extra):
    return client.post(URL, {"action": "rotate", "token": token_id, "grace": grace, **extra})


def state() -> tuple:
    return (
        list(ApiToken.objects.order_by("pk").values_list("pk", "expires_at", "revoked_at")),
        ActivityEntry.objects.count(),
    )


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_anonymous_is_sent_to_sign_in(client: Client, issued):
    response = rotate(client, issued[0].pk)
    assert response["Location"] == login_redirect(URL)


@pytest.mark.parametrize("role", ["executive", "other_user"])
def test_others_get_a_404_and_change_nothing(role, request, issued):
    before = state()
    assert rotate(as_user(request.getfixturevalue(role)), issued[0].pk).status_code == 404
    assert state() == before


@pytest.mark.parametrize("role", ["workflow_owner", "ops_leader"])
def test_rotating_shows_the_new_token_once_and_lists_both(role, request, issued):
    old, old_plain = issued
    client = as_user(request.getfixturevalue(role))
    response = rotate(client, old.pk)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    new = ApiToken.objects.get(replaces=old)
    plaintext = response.context["plaintext"]
    assert svc.api_token_authenticate(plaintext).pk == new.pk
    body = response.content.decode()
    assert f'id="new-token" class="mono" type="text" value="{plaintext}"' in body
    assert views.MSG_ROTATED.format(name="Support tool") in flashed(response)
    assert f'It replaces <span class="mono">ro_{old.prefix}…</span>, which keeps working' in body
    assert "stops working in 23" in body  # hours (and minutes)
    assert f'Replaced by <span class="mono">ro_{new.prefix}…</span>' in body
    assert f'Replaces <span class="mono">ro_{old.prefix}…</span>' in body
    assert "Stop it now" in body
    assert old_plain not in body
    # Shown once: the page afterwards holds no plaintext.
    again = client.get(URL).content.decode()
    assert plaintext not in again and 'id="new-token"' not in again


def test_the_grace_chosen_is_the_one_applied(issued, workflow_owner):
    old, _ = issued
    before = timezone.now()
    rotate(as_user(workflow_owner), old.pk, grace="3600")
    old.refresh_from_db()
    assert before + timedelta(hours=1) <= old.expires_at <= timezone.now() + timedelta(hours=1)


def test_no_grace_stops_the_old_token_now(issued, workflow_owner):
    old, plain = issued
    response = rotate(as_user(workflow_owner), old.pk, grace="0")
    assert response.status_code == 200
    assert "stopped working now" in response.content.decode()
    assert svc.api_token_authenticate(plain) is None
    assert ApiToken.objects.get(pk=old.pk).status == ApiTokenStatus.EXPIRED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grace": "60"}, MSG_GRACE_CHOICE),
        ({"grace": "-1"}, MSG_GRACE_CHOICE),
        ({"grace": "a week"}, MSG_GRACE_CHOICE),
        ({"grace": ""}, MSG_GRACE_CHOICE),
        ({"token": "x"}, MSG_TOKEN_CHOICE),
        ({"token": ""}, MSG_TOKEN_CHOICE),
        ({"token": "-3"}, MSG_TOKEN_CHOICE),
        ({"token": "99999999999999999999999"}, MSG_TOKEN_CHOICE),
    ],
)
def test_bad_input_is_refused_with_a_message(issued, workflow_owner, data, message):
    before = state()
    response = rotate(as_user(workflow_owner), issued[0].pk, **data)
    assert response.status_code == 302 and response["Location"] == URL
    assert message in flashed(response)
    assert state() == before


def test_another_workflows_token_is_a_404(issued, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-flow")
    theirs, _ = svc.api_token_create(workflow=other, actor=workflow_owner, name="Theirs")
    before = state()
    assert rotate(as_user(workflow_owner), theirs.pk).status_code == 404
    assert rotate(as_user(workflow_owner), 987654).status_code == 404
    assert state() == before


def test_an_unknown_action_changes_nothing(issued, workflow_owner):
    before = state()
    response = as_user(workflow_owner).post(URL, {"action": "explode", "name": "X"})
    assert response.status_code == 302
    assert views.MSG_UNKNOWN_ACTION in flashed(response)
    assert state() == before


@pytest.mark.parametrize(
    ("prepare", "message"),
    [("rotate", svc.MSG_ALREADY_ROTATED), ("revoke", svc.MSG_ROTATE_REVOKED)],
)
def test_a_token_that_cannot_be_rotated_gets_a_message(issued, workflow_owner, prepare, message):
    old, _ = issued
    if prepare == "rotate":
        svc.api_token_rotate(token=old, actor=workflow_owner, grace=timedelta(hours=1))
    else:
        svc.api_token_revoke(token=old, actor=workflow_owner)
    before = state()
    response = rotate(as_user(workflow_owner), old.pk)
    assert response.status_code == 302
    assert flashed(response) == [message]
    assert state() == before


def test_stop_it_now(issued, workflow_owner):
    old, plain = issued
    svc.api_token_rotate(token=old, actor=workflow_owner, grace=timedelta(days=7))
    client = as_user(workflow_owner)
    response = client.post(f"{URL}{old.pk}/revoke/")
    assert response.status_code == 302
    old.refresh_from_db()
    assert flashed(response) == [views.MSG_STOPPED.format(token=old)]
    assert old.status == ApiTokenStatus.REVOKED
    assert svc.api_token_authenticate(plain) is None
    body = client.get(URL).content.decode()
    assert "Stop it now" not in body
    assert 'badge-danger">Revoked' in body


def test_creating_still_works_without_an_action_field(workflow, workflow_owner):
    response = as_user(workflow_owner).post(URL, {"name": "Batch job"})
    assert response.status_code == 200
    assert ApiToken.objects.get().name == "Batch job"


def test_last_use_is_listed_for_each(issued, workflow_owner):
    old, old_plain = issued
    svc.api_token_authenticate(old_plain)
    new, _ = svc.api_token_rotate(token=old, actor=workflow_owner, grace=timedelta(hours=1))
    body = as_user(workflow_owner).get(URL).content.decode()
    assert body.count("just now") == 1  # the old one, just used
    assert body.count('<span class="muted">Never</span>') == 1  # the new one


def test_the_page_is_a_bounded_number_of_queries(
    issued, workflow, workflow_owner, django_assert_max_num_queries
):
    client = as_user(workflow_owner)
    client.get(URL)
    for i in range(5):
        token, _ = svc.api_token_create(workflow=workflow, actor=workflow_owner, name=f"T{i}")
        svc.api_token_rotate(token=token, actor=workflow_owner, grace=timedelta(hours=1))
    with django_assert_max_num_queries(30):
        assert client.get(URL).status_code == 200


# --- The Connect panel ---------------------------------------------------------------------------


def test_connect_panel_uses_this_sites_address_and_the_slug(workflow, workflow_owner):
    client = as_user(workflow_owner)
    response = client.get(URL, HTTP_HOST="rollout.example.com", secure=True)
    connect = response.context["connect"]
    assert connect.site == "https://rollout.example.com"
    body = response.content.decode()
    assert '<code data-connect="ofrep-base-url">https://rollout.example.com</code>' in body
    assert '<code data-connect="flag-key">support-reply-drafting</code>' in body
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=https://rollout.example.com/otlp\n" in body
    assert "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20&lt;token&gt;" in body
    assert (
        "GET https://rollout.example.com/api/v1/decision?workflow=support-reply-drafting"
        "&amp;user=&lt;user&gt;" in body
    )


def test_the_otlp_headers_line_reads_as_the_opentelemetry_sdk_reads_it():
    """The line as shown, with a real token in place of <token>, parsed by the SDK's own parser
    of OTEL_EXPORTER_OTLP_HEADERS (strict: URL-encoded values, as the spec asks)."""
    token = "ro_abc-DEF_123"
    shown = "Authorization=Bearer%20<token>"
    assert parse_env_headers(shown.replace("<token>", token)) == {
        "authorization": f"Bearer {token}"
    }


def test_the_ofrep_base_url_is_what_the_provider_expects(workflow, workflow_owner, monkeypatch):
    """The OpenFeature OFREP provider, given the panel's base URL, flag key and header, asks
    `<site>/ofrep/v1/evaluate/flags/<slug>` with the bearer token (its request captured here:
    the endpoint itself comes with the OFREP work)."""
    connect = as_user(workflow_owner).get(URL, HTTP_HOST="rollout.example.com").context["connect"]
    provider = OFREPProvider(
        connect.site, headers_factory=lambda: {"Authorization": "Bearer ro_token"}
    )
    sent: list[tuple[str, dict]] = []

    class Answer:
        status_code = 200

        def raise_for_status(self) -> None:
            pass

        def json(self) -> dict:
            return {"key": connect.slug, "value": "live", "variant": "live", "reason": "STATIC"}

    def post(url, json=None, timeout=None, headers=None, **kwargs):
        sent.append((url, headers))
        return Answer()

    monkeypatch.setattr(provider.session, "post", post)
    details = provider.resolve_string_details(
        connect.slug, "off", EvaluationContext(targeting_key="mia@example.com")
    )
    assert details.value == "live"
    assert sent == [
        (
            "http://rollout.example.com/ofrep/v1/evaluate/flags/support-reply-drafting",
            {"Authorization": "Bearer ro_token"},
        )
    ]

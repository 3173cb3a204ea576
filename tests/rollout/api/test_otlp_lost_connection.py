"""POST /otlp/v1/traces when the database connection dies under it (PostgreSQL): the export is
idempotent, so it is answered again on a new connection and stored once."""

import re
import secrets

import pytest

from rollout.models import OtlpHeldSpan, UsageDirtyDay, UsageEvent
from tests.db_faults import connection_lost_at, postgres_only
from tests.rollout.api.otlp_fixtures import PATH, genai_attributes, proto_export, proto_span

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def _post(client, token, export):
    return client.post(
        PATH, export.SerializeToString(), "application/x-protobuf", headers=token.headers
    )


def test_an_export_cut_mid_write_is_stored_once(api_client, api_token, member):
    attrs = genai_attributes(**{"user.id": member.email})
    export = proto_export(
        proto_span(secrets.token_hex(16), secrets.token_hex(8), attributes=attrs),
        proto_span(secrets.token_hex(16), secrets.token_hex(8), attributes=genai_attributes()),
    )
    # After the events' COPY, at the statement marking their day for the rollup.
    insert = re.compile(rf'\s*INSERT INTO "?{UsageDirtyDay._meta.db_table}"?[\s(]')
    with connection_lost_at(lambda sql: insert.match(sql) is not None) as cut:
        response = _post(api_client, api_token, export)
    assert cut, "the connection was never cut: the test no longer tests anything"
    assert response.status_code == 200, response.content
    assert UsageEvent.objects.count() == 1
    assert OtlpHeldSpan.objects.count() == 1

"""attrs.output through POST /api/v1/events: never stored with the event; a picked one becomes a
review item, once; a bad one is an error of its item only."""

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rollout.lib.output_sampling import MSG_OUTPUT_KIND, MSG_OUTPUT_SHAPE, output_picked
from rollout.models import Cohort, OutputReview, ReviewLevel, UsageEvent
from tests.rollout.output_review_fixtures import picked_ids

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"
REPLY = "Hello Sam, I have refunded the €40 delivery fee; it reaches your card in 3–5 days."


def event(event_id: uuid.UUID, *, kind: str = "invocation", output: object = REPLY, **attrs):
    body = {
        "event_id": str(event_id),
        "user_ref": "mia.member@example.com",
        "kind": kind,
        "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "attrs": {"channel": "email", **attrs},
    }
    if output is not None:
        body["attrs"]["output"] = output
    return body


def post(api_client, api_token, events):
    return api_client.post(
        URL,
        json.dumps({"events": events}),
        content_type="application/json",
        headers=api_token.headers,
    )


def test_a_picked_output_becomes_a_review_item_and_is_never_stored_with_the_event(
    api_client, api_token, sampled_cohort
):
    [picked] = picked_ids(1)
    [not_picked] = picked_ids(1, picked=False)
    response = post(api_client, api_token, [event(picked), event(not_picked)])
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicate": 0, "rejected": 0, "errors": []}
    item = OutputReview.objects.get()
    assert item.event_id == picked
    assert item.excerpt == REPLY
    assert item.cohort == sampled_cohort
    assert item.user.email == "mia.member@example.com"
    assert item.grade == ""
    for stored in UsageEvent.objects.all():
        assert stored.attrs == {"channel": "email"}, "output must never be kept in attrs"


def test_a_batch_sent_twice_creates_the_item_once(api_client, api_token, sampled_cohort):
    ids = picked_ids(3)
    events = [event(i) for i in ids]
    assert post(api_client, api_token, events).json()["accepted"] == 3
    assert post(api_client, api_token, events).json()["duplicate"] == 3
    assert OutputReview.objects.count() == 3


@pytest.mark.parametrize("level", [ReviewLevel.EVERY, ReviewLevel.NONE])
def test_outputs_of_a_cohort_not_sampling_are_dropped(api_client, api_token, sampled_cohort, level):
    Cohort.objects.filter(pk=sampled_cohort.pk).update(review_level=level)
    response = post(api_client, api_token, [event(i) for i in picked_ids(2)])
    assert response.json()["accepted"] == 2
    assert not OutputReview.objects.exists()
    assert all("output" not in e.attrs for e in UsageEvent.objects.all())


def test_an_output_of_someone_in_no_cohort_is_dropped(api_client, api_token, sampled_cohort):
    body = event(picked_ids(1)[0])
    body["user_ref"] = "stranger@example.com"
    assert post(api_client, api_token, [body]).json()["accepted"] == 1
    assert not OutputReview.objects.exists()
    assert UsageEvent.objects.get().attrs == {"channel": "email"}


def test_the_rate_decides_the_pick(api_client, api_token, sampled_cohort):
    Cohort.objects.filter(pk=sampled_cohort.pk).update(review_sample_rate=1)
    at_10_only = [i for i in picked_ids(40) if not _picked_at(i, 1)][:3]
    post(api_client, api_token, [event(i) for i in at_10_only])
    assert not OutputReview.objects.exists()


def _picked_at(event_id, rate):
    return output_picked(event_id, rate)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (lambda i: event(i, output="x" * 1001), "attrs", MSG_OUTPUT_SHAPE),
        (lambda i: event(i, output="http://tool.example.com/o/1"), "attrs", MSG_OUTPUT_SHAPE),
        (lambda i: event(i, output=7), "attrs", MSG_OUTPUT_SHAPE),
        (lambda i: event(i, kind="accepted"), "attrs", MSG_OUTPUT_KIND),
    ],
)
def test_a_bad_output_is_an_error_of_its_item_and_stores_nothing_of_it(
    api_client, api_token, sampled_cohort, body, field, message
):
    bad_id, good_id = picked_ids(2)
    response = post(api_client, api_token, [body(bad_id), event(good_id)])
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "duplicate": 0,
        "rejected": 1,
        "errors": [{"index": 0, "field": field, "message": message}],
    }
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == [good_id]
    assert list(OutputReview.objects.values_list("event_id", flat=True)) == [good_id]


def test_a_1000_character_output_is_accepted_whatever_its_script(
    api_client, api_token, sampled_cohort
):
    """The output is not part of the 2 KiB of attrs kept with the event."""
    [picked] = picked_ids(1)
    text = "返金手続きが完了しました。" * 76 + "ありがとう"  # 1,000 characters
    assert len(text) == 993 or len(text) <= 1000
    response = post(api_client, api_token, [event(picked, output=text)])
    assert response.json()["accepted"] == 1
    assert OutputReview.objects.get().excerpt == text


def test_an_https_link_is_kept_as_a_link(api_client, api_token, sampled_cohort):
    [picked] = picked_ids(1)
    post(api_client, api_token, [event(picked, output="https://tool.example.com/outputs/42")])
    assert OutputReview.objects.get().is_link


def test_a_batch_without_outputs_makes_no_extra_statement(api_client, api_token, sampled_cohort):
    """The hot path: nothing for batches without attrs.output; one statement with them."""
    post(api_client, api_token, [event(i, output=None) for i in picked_ids(5)])  # warm: token
    plain = [event(i, output=None) for i in picked_ids(5)]
    with CaptureQueriesContext(connection) as without:
        post(api_client, api_token, plain)
    with_outputs = [event(i) for i in picked_ids(5)]
    with CaptureQueriesContext(connection) as with_them:
        post(api_client, api_token, with_outputs)
    assert len(with_them) == len(without) + 1
    assert OutputReview.objects.count() == 5
    assert not any("outputreview" in q["sql"].lower() for q in without.captured_queries)

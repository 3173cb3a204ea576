"""Issue 13, item 9, for pages: a page whose database connection dies mid-request answers 503
"try again" with Retry-After, not a 500; the next request works."""

import pytest

from tests.db_faults import connection_lost_at, postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def test_a_page_whose_connection_dies_answers_503_and_the_next_request_works(
    client, workflow_owner, workflow
):
    client.force_login(workflow_owner)
    page = f"/workflows/{workflow.slug}/"

    with connection_lost_at(lambda sql: "rollout_workflow" in sql) as cut:
        response = client.get(page)

    assert cut
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert "Try again in a moment" in text
    assert "This page reloads by itself" in text
    assert client.get(page).status_code == 200


def test_a_form_post_whose_connection_dies_says_it_may_not_be_saved(
    client, workflow_owner, workflow
):
    client.force_login(workflow_owner)

    with connection_lost_at(lambda sql: "rollout_workflow" in sql) as cut:
        response = client.post(f"/workflows/{workflow.slug}/edit/", {"name": "Renamed"})

    assert cut
    assert response.status_code == 503
    assert "may not have been saved" in response.content.decode()

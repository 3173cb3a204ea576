"""bench/lists.py seeds what each list page lists: a bench that measures empty pages measures
nothing (the inbox once measured 2.3 KB because the receipts had no in-app delivery)."""

from bench.lists import seed_lists
from tests.rollout.views.conftest import as_user

ROWS = 60  # more than one page of each list


def test_every_seeded_list_page_answers_with_its_rows_in_pages(workflow, workflow_owner):
    world = {"workflow_id": workflow.pk, "owner_id": workflow_owner.pk, "slug": workflow.slug}

    paths = seed_lists(world, rows=ROWS)

    client = as_user(workflow_owner)
    for name, (path, _rows) in paths.items():
        response = client.get(path)
        assert response.status_code == 200, name
        if name in ("inbox", "notices", "incidents", "feedback", "activity", "cohorts"):
            assert "Showing 1–" in response.content.decode(), name
    inbox = client.get(paths["inbox"][0])
    assert inbox.context["page_obj"].paginator.count == ROWS
    assert inbox.context["unread"] == ROWS

import re

import pytest
from django.urls import reverse

from rollout.models import ActivityEntry, Workflow
from rollout.services.activity import activity_record
from rollout.views.activity import ACTIVITY_PER_PAGE
from tests.rollout.views.conftest import login_redirect, template_names

TOTAL = ACTIVITY_PER_PAGE * 2 + 10  # three pages; the fixture's "created" entry is the oldest


def url(slug: str) -> str:
    return reverse("workflow_activity", kwargs={"slug": slug})


@pytest.fixture
def long_log(workflow: Workflow, ops_leader) -> Workflow:
    ActivityEntry.objects.bulk_create(
        ActivityEntry(workflow=workflow, actor=ops_leader, verb="noted", target=f"entry {n}")
        for n in range(1, TOTAL)
    )
    return workflow


def targets(response) -> list[str]:
    return [entry.target for entry in response.context["entries"]]


def test_anonymous_is_sent_to_sign_in(client, workflow):
    response = client.get(url(workflow.slug))

    assert response.status_code == 302
    assert response["Location"] == login_redirect(url(workflow.slug))


def test_user_without_a_role_gets_404(client, other_user, workflow):
    client.force_login(other_user)

    assert client.get(url(workflow.slug)).status_code == 404


def test_unknown_slug_is_404(client, ops_leader, workflow):
    client.force_login(ops_leader)

    assert client.get(url("no-such-workflow")).status_code == 404


def _change(label: str, before: str, after: str) -> str:
    """How one changed field reads in the log (whitespace between the tags squeezed)."""
    return (
        f'<dt>{label}</dt> <dd><del>{before}</del> <span aria-hidden="true">→</span>'
        f'<span class="visually-hidden">changed to</span> <ins>{after}</ins></dd>'
    )


def _squeezed(html: str) -> str:
    return re.sub(r"\s+", " ", html)


@pytest.mark.parametrize(
    ("role", "can_edit"), [("ops_leader", True), ("workflow_owner", True), ("executive", False)]
)
def test_entries_show_who_did_what_when_and_what_changed(
    client, request, ops_leader, workflow, role, can_edit
):
    activity_record(
        workflow=workflow,
        actor=None,
        verb="paused",
        target="phase limited",
        changes={"status": ["active", "paused"]},
        note="Error rate above 5%\nfor two hours.",
    )
    client.force_login(request.getfixturevalue(role))

    response = client.get(url(workflow.slug))

    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_activity.html"
    html = _squeezed(response.content.decode())
    newest, created = response.context["entries"]
    assert "<strong>Rollout</strong> paused phase limited" in html
    assert f'<time datetime="{newest.created_at.isoformat()}">' in html
    assert _change("Status", "active", "paused") in html
    assert '<p class="activity-note">Error rate above 5%<br>for two hours.</p>' in html
    assert "<strong>Olivia Ops</strong> created workflow Support reply drafting" in html
    assert "<dt>Owner</dt> <dd>set to <ins>Owen Owner</ins></dd>" in html
    assert html.index("paused phase limited") < html.index("created workflow")
    assert (
        '<li><a href="/workflows/support-reply-drafting/activity/" aria-current="page">'
        "Activity</a></li>" in html
    )
    assert ('href="/workflows/support-reply-drafting/edit/"' in html) is can_edit
    assert "Showing" not in html


def test_the_log_is_paginated_newest_first(client, ops_leader, long_log):
    client.force_login(ops_leader)

    first = client.get(url(long_log.slug))
    last = client.get(url(long_log.slug), {"page": 3})

    assert targets(first) == [f"entry {n}" for n in range(TOTAL - 1, TOTAL - 1 - 25, -1)]
    html = first.content.decode()
    assert f"Showing 1–25 of {TOTAL}" in html
    assert '<a href="?page=2" rel="next" aria-label="Older page">Older →</a>' in html
    assert targets(last)[-1] == "workflow Support reply drafting"
    assert len(targets(last)) == 10
    assert '<a href="?page=2" rel="prev" aria-label="Newer page">← Newer</a>' in (
        last.content.decode()
    )


@pytest.mark.parametrize(
    ("page", "expected"), [("999", 3), ("0", 1), ("-1", 1), ("abc", 1), ("", 1), ("1.5", 1)]
)
def test_bad_page_numbers_fall_back_to_a_real_page(client, ops_leader, long_log, page, expected):
    client.force_login(ops_leader)

    response = client.get(url(long_log.slug), {"page": page})

    assert response.status_code == 200
    assert response.context["page_obj"].number == expected


def test_ownerless_workflow_is_flagged_on_its_activity_page(client, executive, ownerless_workflow):
    client.force_login(executive)

    html = client.get(url(ownerless_workflow.slug)).content.decode()

    assert '<h1>Invoice coding <span class="badge badge-danger"' in html
    assert "<strong>This workflow has no active owner.</strong>" in html
    assert "made ownerless workflow Invoice coding" in html


def test_activity_queries_are_bounded(django_assert_max_num_queries, client, long_log):
    client.force_login(long_log.owner)

    # Guardian asks per predicate (view, change, hand over): a constant, whatever the log size.
    with django_assert_max_num_queries(12):
        response = client.get(url(long_log.slug), {"page": 2})
    assert len(response.context["entries"]) == ACTIVITY_PER_PAGE


def test_a_long_text_change_is_said_to_have_changed_with_the_texts_on_demand(
    client, ops_leader, workflow
):
    activity_record(
        workflow=workflow,
        actor=ops_leader,
        verb="edited",
        target="notice “Refunds”",
        changes={
            "body (Markdown)": ["Short.", "A draft promised a customer a full refund. " * 3],
            "acknowledgement required": ["False", "True"],
        },
    )
    client.force_login(ops_leader)

    html = _squeezed(client.get(url(workflow.slug)).content.decode())

    assert "<dt>Body (Markdown)</dt> <dd>changed" in html
    assert '<details class="change-text"><summary>Show the change' in html
    assert _change("Acknowledgement required", "not required", "required") in html


def test_the_overview_sums_each_entry_up_in_one_line(client, ops_leader, workflow):
    activity_record(
        workflow=workflow,
        actor=ops_leader,
        verb="triaged",
        target="feedback #7",
        changes={"status": ["New", "Acknowledged"], "severity": ["—", "High"]},
    )
    client.force_login(ops_leader)

    html = _squeezed(
        client.get(reverse("workflow_overview", args=[workflow.slug])).content.decode()
    )

    assert "Status and severity changed." in html
    assert '<dl class="changes">' not in html

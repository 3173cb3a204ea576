"""The feedback inbox (rollout.views.feedback.inbox.workflow_feedback): one line per item with open
harmful reports first, the side panel (the item's detail body, by htmx), a save in the panel
confirmed and its row sent back out of band, and the bulk bar — with htmx and without — with
its bad input and its permission checks. A fixed number of queries whatever the data size."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rollout.models import ActivityEntry, Feedback
from rollout.services import cohorts as cohort_svc
from rollout.services import feedback as svc
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import as_user, template_names

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PANEL = {**HTMX, "HX-Target": "triage-panel"}
TOAST = rb'<div id="triage-toast" hx-swap-oob="innerHTML">.*?</div>'


@pytest.fixture
def member(workflow, ops_leader):
    cohort = cohort_svc.cohort_create(workflow=workflow, name="EU agents", actor=ops_leader)
    user = UserFactory(email="mia@example.com", display_name="Mia Member")
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


def file(workflow, author, category="slow", text="Took a minute to draft.", **fields) -> Feedback:
    return svc.feedback_create(
        workflow=workflow,
        author=author,
        rating=fields.pop("rating", "not_helpful"),
        category=category,
        text=text,
        **fields,
    )


def list_url(workflow, query: str = "") -> str:
    return reverse("workflow_feedback", kwargs={"slug": workflow.slug}) + query


def item_url(feedback: Feedback) -> str:
    return reverse(
        "feedback_detail", kwargs={"slug": feedback.workflow.slug, "feedback_id": feedback.pk}
    )


def row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(rb'<tr id="feedback-(\d+)"', response.content)]


def statuses(items: list[Feedback]) -> list[str]:
    return [f.status for f in Feedback.objects.filter(pk__in=[i.pk for i in items]).order_by("pk")]


# --- The list ----------------------------------------------------------------------------------


def test_open_harmful_reports_come_first_and_are_marked(workflow, workflow_owner, member):
    slow = file(workflow, member, text="Slow again.")
    harmful = file(
        workflow, member, category="harmful", text="It told a customer to self-medicate."
    )
    newest = file(workflow, member, category="wrong_output", text="Wrong refund policy.")
    settled = file(workflow, member, category="harmful", text="Old, dealt with.")
    svc.feedback_triage(feedback=settled, actor=workflow_owner, status="resolved")
    client = as_user(workflow_owner)

    response = client.get(list_url(workflow))
    assert row_ids(response) == [harmful.pk, newest.pk, slow.pk]
    harmful_row = re.search(rb'<tr id="feedback-%d"[^>]*>' % harmful.pk, response.content)[0]
    slow_row = re.search(rb'<tr id="feedback-%d"[^>]*>' % slow.pk, response.content)[0]
    assert b"triage-harmful" in harmful_row and b"triage-harmful" not in slow_row
    # Every status: the harmful one still open leads; the resolved one takes its place by date.
    everything = client.get(list_url(workflow, "?status="))
    assert row_ids(everything) == [harmful.pk, settled.pk, newest.pk, slow.pk]


def test_a_row_is_one_line_of_the_columns(workflow, workflow_owner, member, ops_leader):
    item = file(workflow, member, category="wrong_output", text="Promised a refund.")
    svc.feedback_triage(
        feedback=item, actor=workflow_owner, status="acknowledged", severity="high",
        assignee=ops_leader,
    )  # fmt: skip
    response = as_user(workflow_owner).get(list_url(workflow))
    row = re.search(rb'<tr id="feedback-%d".*?</tr>' % item.pk, response.content, re.S)[0].decode()
    for words in [f"#{item.pk}", "Wrong output", "Promised a refund.", ">No<", "High",
                  "Acknowledged", str(ops_leader), "EU agents"]:  # fmt: skip
        assert words in row, words
    # The age is short, with the full time (reader's zone) on hover.
    assert re.search(r'<time datetime="[^"]+" title="\d+ \w+ \d{4}, \d\d:\d\d \w+">', row)
    assert '<span aria-hidden="true">now</span>' in row
    assert f'href="{item_url(item)}"' in row  # without JavaScript: the item's page


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_inbox_takes_the_same_queries_for_3_items_or_60(workflow, workflow_owner, member):
    for i in range(3):
        file(workflow, member, category="harmful" if i == 0 else "slow")
    client = as_user(workflow_owner)
    client.get(list_url(workflow))  # the session's first request: login bookkeeping
    few = _count_queries(client, list_url(workflow))
    for i in range(57):
        item = file(workflow, member, category=["slow", "harmful", "confusing"][i % 3])
        if i % 4 == 0:
            svc.feedback_triage(feedback=item, actor=workflow_owner, assignee=workflow_owner)
    assert _count_queries(client, list_url(workflow)) == few
    assert _count_queries(client, list_url(workflow, "?page=3")) == few
    assert few <= 16


# --- The side panel ----------------------------------------------------------------------------


def test_the_panel_is_the_items_detail_body_alone(workflow, workflow_owner, member):
    item = file(workflow, member, text="Took a minute.")
    client = as_user(workflow_owner)
    client.get(list_url(workflow))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(item_url(item), headers=PANEL)
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/feedback_panel.html"
    assert b"<html" not in response.content
    assert b'name="panel" value="1"' in response.content  # its saves come back to the panel
    assert b"Mia Member" in response.content and b'name="severity"' in response.content
    assert b"hx-swap-oob" not in response.content  # nothing saved, nothing else to change
    assert "HX-Target" in response["Vary"]
    few = len(queries)
    for _ in range(20):  # more comments and more feedback to merge into: no more queries
        svc.feedback_comment_add(feedback=item, author=workflow_owner, text="More.")
        file(workflow, member)
    with CaptureQueriesContext(connection) as queries:
        client.get(item_url(item), headers=PANEL)
    assert len(queries) == few


def test_an_executive_reads_the_panel_without_triage(workflow, executive, member):
    item = file(workflow, member)
    response = as_user(executive).get(item_url(item), headers=PANEL)
    assert response.status_code == 200
    assert b'name="severity"' not in response.content


def test_a_save_in_the_panel_confirms_and_sends_the_row_back(
    workflow, workflow_owner, ops_leader, member
):
    item = file(workflow, member)
    response = as_user(workflow_owner).post(
        item_url(item),
        {"action": "triage", "panel": "1", "status": "in_progress", "severity": "",
         "assignee": str(ops_leader.pk)},
        headers=PANEL,
    )  # fmt: skip
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/feedback_panel.html"
    saved = f"Saved #{item.pk}: status In progress, assignee {ops_leader}."
    toast = re.search(TOAST, response.content)
    assert toast and saved.encode() in toast[0]
    row = re.search(rb'<tr id="feedback-%d"[^>]*hx-swap-oob="true"' % item.pk, response.content)
    assert row and b'data-status="in_progress"' in row[0]


def test_a_refused_save_in_the_panel_says_why(workflow, workflow_owner, member):
    item = file(workflow, member)
    response = as_user(workflow_owner).post(
        item_url(item),
        {"action": "triage", "panel": "1", "status": "new", "severity": "", "assignee": ""},
        headers=PANEL,
    )
    assert svc.MSG_TRIAGE_UNCHANGED.encode() in response.content
    assert b"message-error" in response.content


# --- Bulk actions ------------------------------------------------------------------------------


@pytest.fixture
def items(workflow, member) -> list[Feedback]:
    return [file(workflow, member, text=f"Slow {i}.") for i in range(4)]


def test_bulk_with_htmx_changes_every_ticked_item_and_confirms(
    workflow, workflow_owner, ops_leader, items
):
    response = as_user(workflow_owner).post(
        list_url(workflow, "?status="),
        {"action": "bulk", "ids": [i.pk for i in items], "status": "in_progress",
         "severity": "", "assignee": str(ops_leader.pk)},
        headers={**HTMX, "HX-Target": "triage-list"},
    )  # fmt: skip
    assert response.status_code == 200
    assert template_names(response)[0] == "triage-list"
    assert f"Updated 4 items: status In progress, assignee {ops_leader}.".encode() in (
        response.content
    )
    assert b'<div id="triage-toast" hx-swap-oob="innerHTML">' in response.content
    assert statuses(items) == ["in_progress"] * 4
    assert ActivityEntry.objects.filter(verb="triaged").count() == 4
    # The list came back with the filters of the page it was posted from.
    assert row_ids(response) == [i.pk for i in reversed(items)]


def test_bulk_without_javascript_redirects_to_the_same_page_with_a_message(
    workflow, workflow_owner, items
):
    client = as_user(workflow_owner)
    url = list_url(workflow, "?status=&page=1")
    response = client.post(
        url, {"action": "bulk", "ids": [items[0].pk, items[1].pk], "assignee": "none",
              "severity": "low"},
    )  # fmt: skip
    assert (response.status_code, response["Location"]) == (302, url)
    page = client.get(url)
    assert "Updated 2 items: severity Low, assignee nobody." in page.content.decode()
    assert b'role="status"' in page.content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ids": ["999999"], "status": "resolved"}, svc.MSG_BULK_UNKNOWN.format(ids="#999999")),
        ({"ids": ["abc"], "status": "resolved"}, svc.MSG_BULK_UNKNOWN.format(ids="abc")),
        ({"status": "resolved"}, svc.MSG_BULK_NONE),
        ({"ids": "ITEMS", "status": "planned"}, svc.MSG_BAD_STATUS),
        ({"ids": "ITEMS", "severity": "urgent"}, svc.MSG_BAD_SEVERITY),
        ({"ids": "ITEMS"}, svc.MSG_BULK_NOTHING_TO_SET),
        ({"ids": "ITEMS", "assignee": "999999"}, "Choose a person from the list."),
    ],
)
def test_bad_bulk_input_says_why_and_changes_nothing(
    workflow, workflow_owner, items, data, message
):
    if data.get("ids") == "ITEMS":
        data = {**data, "ids": [i.pk for i in items]}
    response = as_user(workflow_owner).post(
        list_url(workflow), {"action": "bulk", **data}, headers=HTMX
    )
    assert response.status_code == 200
    toast = re.search(TOAST, response.content)
    assert toast and b"message-error" in toast[0]
    assert message.encode() in toast[0].replace(b"&#x27;", b"'")
    assert statuses(items) == ["new"] * 4
    assert not ActivityEntry.objects.filter(verb="triaged").exists()


def test_ids_of_another_workflow_change_nothing(workflow, workflow_owner, ops_leader, items):
    other = make_workflow(owner=workflow_owner, actor=ops_leader)
    theirs = file(other, workflow_owner)
    client = as_user(workflow_owner)
    response = client.post(
        list_url(workflow),
        {"action": "bulk", "ids": [items[0].pk, theirs.pk], "status": "resolved"},
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert svc.MSG_BULK_UNKNOWN.format(ids=f"#{theirs.pk}") in page.content.decode()
    assert statuses([items[0], theirs]) == ["new", "new"]


@pytest.mark.parametrize("who", ["member", "executive", "other_user"])
def test_bulk_by_anyone_but_the_owner_or_an_ops_leader_is_404(request, workflow, items, who):
    response = as_user(request.getfixturevalue(who)).post(
        list_url(workflow), {"action": "bulk", "ids": [items[0].pk], "status": "resolved"}
    )
    assert response.status_code == 404
    assert statuses(items) == ["new"] * 4


def test_an_unknown_post_action_is_400(workflow, workflow_owner):
    response = as_user(workflow_owner).post(list_url(workflow), {"action": "triage"})
    assert response.status_code == 400


def test_bulk_on_items_already_so_says_so(workflow, workflow_owner, items):
    response = as_user(workflow_owner).post(
        list_url(workflow), {"action": "bulk", "ids": [items[0].pk], "status": "new"}, headers=HTMX
    )
    assert b"Nothing to change: 1 ticked was already so." in response.content
    assert not ActivityEntry.objects.filter(verb="triaged").exists()

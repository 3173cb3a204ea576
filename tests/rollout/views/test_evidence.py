import csv
import io
import json
from datetime import UTC, datetime

import pytest

from rollout.forms.evidence import MSG_BAD_KIND, MSG_BAD_START, MSG_BAD_WORKFLOW
from rollout.selectors.evidence.board_pack import ENTRIES_PER_PAGE
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.views.evidence import MSG_NO_EVIDENCE
from tests.factories import UserFactory, make_workflow
from tests.rollout.evidence_fixtures import make_evidence
from tests.rollout.views.conftest import as_user, login_redirect

pytestmark = pytest.mark.django_db
EVIDENCE_PAGE_QUERIES = 23  # the AI configuration changes' load takes two
BOARD_PACK_QUERIES = 28


@pytest.fixture
def member(workflow):
    """A cohort member: uses the workflow, reads no evidence."""

    person = UserFactory(email="member@example.com", display_name="Mia Member")
    cohort = cohort_create(workflow=workflow, actor=workflow.owner, name="EU agents")
    cohort_members_add(cohort=cohort, actor=workflow.owner, users=[person])
    return person


@pytest.fixture
def evidence(workflow, workflow_owner, ops_leader):
    return make_evidence(
        workflow, requester=workflow_owner, approver=ops_leader, recipients=[workflow_owner]
    )


def test_executive_sees_every_kind(executive, evidence):
    response = as_user(executive).get("/evidence/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Promoted: Data audit → Shadow mode" in body
    assert "the board asked for it" in body
    assert "Refunds promised in error" in body
    assert "Escalation reached its last level" in body
    assert response.context["page_obj"].paginator.count == 12
    assert "Board pack" in body


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get("/evidence/")["Location"] == login_redirect("/evidence/")


def test_member_and_stranger_read_no_evidence(member, other_user, workflow, evidence):
    for person in (member, other_user):
        response = as_user(person).get("/evidence/")
        assert response.status_code == 403
        assert as_user(person).get(f"/workflows/{workflow.slug}/evidence/").status_code == 404
        assert as_user(person).get("/evidence/export.csv").status_code == 403


def test_owner_sees_only_theirs(workflow_owner, ops_leader, evidence):
    theirs_not = make_workflow(actor=ops_leader, name="Someone else's", slug="else")
    make_evidence(theirs_not, requester=ops_leader, approver=ops_leader, recipients=[])
    response = as_user(workflow_owner).get("/evidence/")
    assert response.status_code == 200
    assert {e.workflow.slug for e in response.context["entries"]} == {"support-reply-drafting"}
    assert [c[0] for c in response.context["form"].fields["workflow"].choices] == [
        "",
        "support-reply-drafting",
    ]
    # Asking for another's workflow by slug is not understood, not a leak.
    response = as_user(workflow_owner).get("/evidence/?workflow=else")
    assert MSG_BAD_WORKFLOW in response.context["notes"]
    assert {e.workflow.slug for e in response.context["entries"]} == {"support-reply-drafting"}


def test_filters_and_bad_values(executive, workflow, evidence):
    client = as_user(executive)
    response = client.get(f"/evidence/?workflow={workflow.slug}&kind=incident")
    assert [e.kind for e in response.context["entries"]] == ["incident"]
    response = client.get("/evidence/?kind=nonsense&start=yesterday&end=2026-13-40&page=abc")
    assert response.status_code == 200
    assert MSG_BAD_KIND in response.context["notes"]
    assert MSG_BAD_START in response.context["notes"]
    assert response.context["page_obj"].paginator.count == 12
    assert MSG_BAD_KIND in response.content.decode()


def test_date_range_in_the_readers_days(executive, evidence):
    day = evidence.incident.started_at.date().isoformat()
    response = as_user(executive).get(f"/evidence/?start=2020-01-01&end={day}")
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count >= 1
    response = as_user(executive).get(f"/evidence/?start={day}&end=2020-01-01")
    assert "“From” was after “To”" in response.content.decode()


def test_workflow_page_has_its_section(executive, workflow, evidence):
    response = as_user(executive).get(f"/workflows/{workflow.slug}/evidence/")
    assert response.status_code == 200
    assert response.context["current_section"].label == "Evidence"
    assert response.context["page_obj"].paginator.count == 12
    assert f"/evidence/export.csv?workflow={workflow.slug}" in response.content.decode()


def test_timeline_paginates(executive, workflow, workflow_owner, ops_leader, evidence):
    for n in range(2):
        other = make_workflow(owner=workflow_owner, actor=ops_leader, slug=f"w-{n}")
        make_evidence(other, requester=workflow_owner, approver=ops_leader, recipients=[])
    first = as_user(executive).get("/evidence/")
    assert len(first.context["entries"]) == 25
    last = as_user(executive).get("/evidence/?page=2")
    assert len(last.context["entries"]) == 11
    assert 'rel="prev"' in last.content.decode()


@pytest.mark.parametrize("workflows", [1, 8])
def test_fixed_queries(
    executive, workflow_owner, ops_leader, workflows, django_assert_max_num_queries
):
    for n in range(workflows):
        wf = make_workflow(owner=workflow_owner, actor=ops_leader, slug=f"q-{n}")
        make_evidence(wf, requester=workflow_owner, approver=ops_leader, recipients=[ops_leader])
    client = as_user(executive)
    # Session, user, their groups, the filter's workflows, count, page, the nine kinds' loads (13).
    with django_assert_max_num_queries(EVIDENCE_PAGE_QUERIES):
        assert client.get("/evidence/").status_code == 200
    # Health (3) and adoption (3) more, the quarter's rows instead of count and page.
    with django_assert_max_num_queries(BOARD_PACK_QUERIES):
        assert client.get("/evidence/board-pack/").status_code == 200


def _csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_parses_back_and_is_guarded(executive, workflow, evidence):
    response = as_user(executive).get(f"/evidence/export.csv?workflow={workflow.slug}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="evidence-support-reply-drafting.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 12
    assert [row["kind"] for row in rows][0] == "configuration"  # the newest
    override = next(row for row in rows if row["kind"] == "override")
    # The override's title is plain; a details cell starting with "=" would be guarded.
    assert "Written reason: =HYPERLINK" in override["details"]
    assert rows[0]["url"].startswith("http://testserver/workflows/support-reply-drafting/")
    assert all(not row[key].startswith(("=", "+", "@")) for row in rows for key in row)


def test_csv_cell_starting_a_formula_gets_an_apostrophe(executive, workflow, ops_leader):
    make_evidence(workflow, requester=ops_leader, approver=ops_leader, recipients=[], title="=1+1")
    rows = _csv(as_user(executive).get("/evidence/export.csv?kind=notice"))
    assert rows[0]["title"] == "'=1+1"


def test_json_export_parses_back(executive, workflow, evidence):
    response = as_user(executive).get("/evidence/export.json?kind=notice")
    assert response.status_code == 200
    data = json.loads(b"".join(response.streaming_content))
    assert len(data["entries"]) == 1
    notice = data["entries"][0]
    assert notice["kind"] == "notice"
    assert notice["title"] == "Model update to gpt-5.1"
    assert notice["details"]["Acknowledged"] == "1 of 1 (100.0%)"
    assert notice["workflow"] == workflow.slug


def test_export_refuses_a_filter_it_does_not_understand(executive, evidence):
    response = as_user(executive).get("/evidence/export.csv?kind=nonsense")
    assert response.status_code == 400
    assert MSG_BAD_KIND in response.content.decode()
    assert as_user(executive).get("/evidence/export.json?start=x").status_code == 400


def test_board_pack(executive, workflow, workflow_owner, ops_leader):
    may = datetime(2026, 5, 10, 9, 0, tzinfo=UTC)
    make_evidence(workflow, requester=workflow_owner, approver=ops_leader, recipients=[], start=may)
    response = as_user(executive).get("/evidence/board-pack/?quarter=2026-Q2")
    assert response.status_code == 200
    pages = response.context["pages"]
    assert [p.workflow for p in pages] == [workflow]
    # The newest ENTRIES_PER_PAGE in full, the rest counted.
    assert len(pages[0].entries) == ENTRIES_PER_PAGE == 8
    assert pages[0].more == 4
    assert ("Incidents", 1) in pages[0].counts
    body = response.content.decode()
    assert "Board pack · Q2 2026" in body
    assert "And 4 earlier entries this quarter" in body
    assert "css/evidence.css" in body
    other = as_user(executive).get("/evidence/board-pack/?quarter=2026-Q1")
    assert other.context["pages"][0].entries == []


def test_board_pack_bad_quarter(executive, evidence):
    response = as_user(executive).get("/evidence/board-pack/?quarter=2026-Q9")
    assert response.status_code == 200
    assert "Choose a quarter such as 2026-Q4" in response.content.decode()
    response = as_user(executive).get("/evidence/board-pack/?quarter=2019-Q1")
    assert response.context["pages"][0].entries == []


def test_main_menu_links_evidence(executive, workflow_owner, member, workflow):
    assert 'href="/evidence/"' in as_user(executive).get("/").content.decode()
    assert 'href="/evidence/"' in as_user(workflow_owner).get("/").content.decode()
    assert 'href="/evidence/"' not in as_user(member).get("/").content.decode()


def test_no_evidence_message(other_user):
    response = as_user(other_user).get("/evidence/board-pack/")
    assert response.status_code == 403
    assert MSG_NO_EVIDENCE

from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.selectors.evidence.timeline import (
    EvidenceScope,
    evidence_entries,
    evidence_iter,
    evidence_rows,
    evidence_workflow_list,
)
from tests.factories import UserFactory, make_workflow
from tests.rollout.evidence_fixtures import KINDS, make_evidence

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidence(workflow, workflow_owner, ops_leader):
    member = UserFactory(display_name="Mia Member")
    return make_evidence(
        workflow, requester=workflow_owner, approver=ops_leader, recipients=[workflow_owner, member]
    )


def test_every_kind_once_newest_first(evidence, workflow):
    rows = list(evidence_rows(EvidenceScope(workflow_ids=None)))
    # Two phases started (audit, shadow): one entry each.
    kinds = [row[0] for row in rows]
    assert sorted(kinds) == sorted([*KINDS, "phase"])
    ats = [row[2] for row in rows]
    assert ats == sorted(ats, reverse=True)
    assert {row[1] for row in rows} == {workflow.pk}


def test_entries_say_what_happened(evidence):
    entries = {e.kind: e for e in evidence_entries(evidence_rows(EvidenceScope(None)))}
    promotion = dict(entries["promotion"].details)
    assert entries["promotion"].title == "Promoted: Data audit → Shadow mode"
    assert promotion["Requested by"].startswith("Owen Owner on ")
    assert promotion["Approved by"] == "Olivia Ops"
    override = dict(entries["override"].details)
    assert override["Written reason"].endswith("the board asked for it")
    assert override["Gate overridden by"] == "Olivia Ops"
    assert dict(entries["breach"].details)["Observed"] == "5%"
    assert dict(entries["breach"].details)["Action"] == "Pause the roll-out"
    assert "Rollout, automatically" in dict(entries["pause"].details)["Paused by"]
    incident = dict(entries["incident"].details)
    assert incident["What changed"] == "The prompt now forbids promises."
    assert incident["Cohorts affected"] == "EU tier-1 agents"
    notice = dict(entries["notice"].details)
    assert notice["Recipients"] == "2"
    assert notice["Acknowledged"] == "1 of 2 (50.0%)"
    assert dict(entries["ownership"].details)["To"] == "New Owner"
    assert entries["escalation"].title == "Escalation reached its last level: Nobody answered"
    review = dict(entries["review"].details)
    assert entries["review"].title == "Review completed: hold the current phase"
    assert review["Decision: Hold the current phase"] == (
        "Error rate still above target in the EU cohort."
    )
    assert review["Reviewed by"] == "Owen Owner"
    assert entries["review"].tone == "warn"
    configuration = entries["configuration"]
    assert configuration.title.startswith("Unannounced change observed: version ")
    assert configuration.tone == "bad"
    changed = dict(configuration.details)
    assert changed["Prompt version"].endswith("→ v7")
    assert changed["Evidence"].startswith("240 events since ")
    assert changed["Evidence"].endswith("(20% of the 1,200 events reporting a version).")
    assert configuration.url == "/workflows/support-reply-drafting/configuration/"


def test_scope_by_workflow_kind_and_dates(evidence, workflow, workflow_owner, ops_leader):
    other = make_workflow(owner=workflow_owner, actor=ops_leader, name="Other", slug="other")
    make_evidence(other, requester=workflow_owner, approver=ops_leader, recipients=[])
    assert (
        len(evidence_rows(EvidenceScope(workflow_ids=None))) == 24
    )  # 12 entries (11 kinds, two phases) per workflow
    assert {r[1] for r in evidence_rows(EvidenceScope(workflow_ids=(other.pk,)))} == {other.pk}
    incidents = list(evidence_rows(EvidenceScope(workflow_ids=None, kinds=("incident",))))
    assert [r[0] for r in incidents] == ["incident", "incident"]
    start = evidence.incident.started_at
    late = list(evidence_rows(EvidenceScope((workflow.pk,), start=start)))
    assert sorted(r[0] for r in late) == [
        "configuration",
        "escalation",
        "incident",
        "notice",
        "ownership",
        "review",
    ]
    early = list(evidence_rows(EvidenceScope((workflow.pk,), end=start)))
    assert len(early) == 6


def test_export_iterates_everything_in_chunks(evidence, monkeypatch):
    monkeypatch.setattr("rollout.selectors.evidence.timeline.EXPORT_CHUNK", 4)
    entries = list(evidence_iter(EvidenceScope(workflow_ids=None)))
    assert len(entries) == 12


def test_who_reads_evidence(workflow, workflow_owner, executive, ops_leader, other_user):
    assert evidence_workflow_list(executive) == [workflow]
    assert evidence_workflow_list(ops_leader) == [workflow]
    assert evidence_workflow_list(workflow_owner) == [workflow]
    assert evidence_workflow_list(other_user) == []


def test_a_page_costs_the_same_at_any_size(
    workflow, workflow_owner, ops_leader, django_assert_max_num_queries
):
    def page_queries() -> None:
        rows = evidence_rows(EvidenceScope(workflow_ids=None))
        rows.count()
        evidence_entries(rows[:25])

    make_evidence(workflow, requester=workflow_owner, approver=ops_leader, recipients=[])
    # Count + page + the kinds' loads (promotions, overrides, incidents, notices and AI
    # configuration changes take two).
    with django_assert_max_num_queries(19):
        page_queries()
    for n in range(6):
        wf = make_workflow(owner=workflow_owner, actor=ops_leader, slug=f"more-{n}")
        make_evidence(
            wf,
            requester=workflow_owner,
            approver=ops_leader,
            recipients=[workflow_owner],
            start=timezone.now() - timedelta(days=20 + n),
        )
    with django_assert_max_num_queries(19):
        page_queries()


def test_a_notice_past_retention_keeps_its_rates(evidence):
    """Its receipts deleted by retention, the counts kept on the notice speak for them."""
    notice = evidence.notice
    notice.receipts.all().delete()
    rows = [
        {"label": "EU", "is_followers": False, "recipients": 3, "read": 2, "acknowledged": 1},
        {"label": "Followers", "is_followers": True, "recipients": 1, "read": 1, "acknowledged": 1},
    ]
    type(notice).objects.filter(pk=notice.pk).update(kept_counts={"rows": rows})
    rows = evidence_rows(EvidenceScope(workflow_ids=None, kinds=("notice",)))
    (entry,) = evidence_entries(rows)
    assert dict(entry.details)["Acknowledged"] == "2 of 4 (50.0%)"

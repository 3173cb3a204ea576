import pytest

from core.errors import ApplicationError
from rollout.models import ActivityEntry, ReadinessAnswer
from rollout.selectors.plan import readiness_current
from rollout.services.readiness import MSG_EVIDENCE_REQUIRED, readiness_answer


@pytest.mark.parametrize(("answer", "label"), [("yes", "yes"), ("partly", "partly")])
def test_yes_and_partly_need_evidence(workflow, workflow_owner, answer, label):
    with pytest.raises(ApplicationError) as exc:
        readiness_answer(
            workflow=workflow, actor=workflow_owner, question="logging", answer=answer, evidence=" "
        )
    assert exc.value.message == MSG_EVIDENCE_REQUIRED.format(answer=label)
    assert exc.value.field == "evidence"
    assert ReadinessAnswer.objects.count() == 0


def test_no_needs_no_evidence(workflow, workflow_owner):
    row = readiness_answer(
        workflow=workflow, actor=workflow_owner, question="logging", answer="no", evidence=""
    )
    assert row.answer == "no"


def test_answers_are_appended_and_history_kept(workflow, workflow_owner, ops_leader):
    readiness_answer(
        workflow=workflow, actor=workflow_owner, question="logging", answer="no", evidence=""
    )
    readiness_answer(
        workflow=workflow,
        actor=ops_leader,
        question="logging",
        answer="yes",
        evidence="Traces in Datadog",
    )
    items = readiness_current(workflow)
    assert len(items) == 9
    logging = next(i for i in items if i.question == "logging")
    assert (logging.current.answer, logging.current.answered_by) == ("yes", ops_leader)
    assert [a.answer for a in logging.history] == ["no"]
    assert all(i.current is None for i in items if i.question != "logging")
    entry = ActivityEntry.objects.first()
    assert entry.verb == "answered"
    assert entry.changes == {"answer": ["No", "Yes"]}
    assert entry.note == "Traces in Datadog"


def test_readiness_current_is_one_query(workflow, workflow_owner, django_assert_num_queries):
    for _ in range(3):
        readiness_answer(
            workflow=workflow, actor=workflow_owner, question="logging", answer="no", evidence=""
        )
    with django_assert_num_queries(1):
        readiness_current(workflow)

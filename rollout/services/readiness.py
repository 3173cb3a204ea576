"""Answering the readiness questions. Answers are appended, never edited: history is kept."""

from django.db import transaction

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import ReadinessAnswer, ReadinessAnswerValue, ReadinessQuestion, Workflow
from rollout.services.activity import activity_record

MSG_EVIDENCE_REQUIRED = "Say what shows it: a “{answer}” answer needs evidence."
MSG_UNKNOWN_QUESTION = "There is no such readiness question."
MSG_UNKNOWN_ANSWER = "Answer yes, partly or no."

NEEDS_EVIDENCE = (ReadinessAnswerValue.YES, ReadinessAnswerValue.PARTLY)


@transaction.atomic
def readiness_answer(
    *, workflow: Workflow, actor: User, question: str, answer: str, evidence: str
) -> ReadinessAnswer:
    if question not in ReadinessQuestion.values:
        raise ApplicationError(MSG_UNKNOWN_QUESTION, field="question")
    if answer not in ReadinessAnswerValue.values:
        raise ApplicationError(MSG_UNKNOWN_ANSWER, field="answer")
    evidence = evidence.strip()
    if answer in NEEDS_EVIDENCE and not evidence:
        label = ReadinessAnswerValue(answer).label.lower()
        raise ApplicationError(MSG_EVIDENCE_REQUIRED.format(answer=label), field="evidence")
    previous = (
        ReadinessAnswer.objects.filter(workflow=workflow, question=question)
        .order_by("-answered_at", "-id")
        .first()
    )
    row = ReadinessAnswer(
        workflow=workflow, question=question, answer=answer, evidence=evidence, answered_by=actor
    )
    row.full_clean(exclude=["workflow", "answered_by"])
    row.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="answered",
        target=f"readiness: {ReadinessQuestion(question).label}",
        changes={
            "answer": [previous.get_answer_display() if previous else "—", row.get_answer_display()]
        },
        note=evidence,
    )
    return row

"""Escalations: opening, the timer with a frozen clock (`now=`), catch-up, acting on one."""

import threading
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    Escalation,
    EscalationEvent,
    EscalationStatus,
    Notification,
    Workflow,
)
from rollout.services import escalations as svc
from rollout.services.escalation_path import escalation_level_add, escalation_repeat_set
from tests.factories import NO_EMAIL, UserFactory
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import errors_out_of, ingest, make_threshold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_current_timezone())


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def people(db) -> dict[str, User]:
    return {
        "first": UserFactory(display_name="Fay First", **NO_EMAIL),
        "second": UserFactory(display_name="Sid Second", **NO_EMAIL),
        "third": UserFactory(display_name="Tia Third", **NO_EMAIL),
    }


@pytest.fixture
def path(workflow: Workflow, ops_leader: User, people: dict[str, User]) -> Workflow:
    """Level 1 by email within 30 minutes, level 2 in-app within 60, level 3 in-app within 120."""
    for person, channel, target in (
        (people["first"], "email", 30),
        (people["second"], "in_app", 60),
        (people["third"], "in_app", 120),
    ):
        escalation_level_add(
            workflow=workflow,
            actor=ops_leader,
            contact=person,
            channel=channel,
            response_target_minutes=target,
        )
    return workflow


def open_one(workflow: Workflow, actor: User | None = None, **fields) -> Escalation:
    values = {"title": "Replies promise refunds", "source": "manual", "severity": "high"}
    values.update(fields)
    return svc.escalation_open(workflow=workflow, actor=actor, now=T0, **values)


def notified(escalation: Escalation) -> list[tuple[int, str]]:
    """(step, contact) of every `notified` row, in order."""
    rows = EscalationEvent.objects.filter(escalation=escalation, kind="notified")
    return [(e.step, e.contact.display_name) for e in rows.order_by("step")]


def told(user: User) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("id").values_list("title", flat=True)
    )


def fresh(escalation: Escalation) -> Escalation:
    return Escalation.objects.select_related("workflow__owner").get(pk=escalation.pk)


# --- opening -----------------------------------------------------------------------------------


def test_opening_notifies_level_1_at_once_and_sets_its_timer(path, people, workflow_owner):
    escalation = open_one(path, actor=workflow_owner)

    assert (escalation.status, escalation.step) == (EscalationStatus.OPEN, 1)
    assert escalation.current_contact == people["first"]
    assert escalation.next_step_at == minutes(30)
    assert [e.kind for e in escalation.events.order_by("id")] == ["opened", "notified"]
    assert notified(escalation) == [(1, "Fay First")]
    (note,) = Notification.objects.filter(recipient=people["first"])
    assert note.title == "Escalation for you (level 1): Replies promise refunds"
    assert note.body == (
        "Support reply drafting: High severity. Please acknowledge within 30 minutes."
    )
    assert note.url == f"/workflows/support-reply-drafting/escalations/{escalation.pk}/"
    verbs = ActivityEntry.objects.filter(workflow=path, target="“Replies promise refunds”")
    assert sorted(verbs.values_list("verb", flat=True)) == [
        "escalated to level 1",
        "opened escalation",
    ]


def test_an_email_level_emails_even_when_the_contact_prefers_in_app(
    path, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        escalation = open_one(path)
        svc.escalations_advance(now=minutes(30))  # level 2 is in-app: no email
    (email,) = mail.outbox
    assert email.to == [people["first"].email]
    assert email.subject == "[Rollout] Escalation for you (level 1): Replies promise refunds"
    assert f"/escalations/{escalation.pk}/" in email.body


def test_without_a_path_it_stays_open_says_so_and_tells_the_owner(workflow, workflow_owner):
    escalation = open_one(workflow)

    assert (escalation.status, escalation.step, escalation.next_step_at) == ("open", 0, None)
    assert escalation.current_contact is None
    note = escalation.events.get(kind="note")
    assert note.note == svc.NOTE_NO_PATH
    assert told(workflow_owner) == ["Escalation with nobody to notify: Replies promise refunds"]
    assert svc.escalations_advance(now=minutes(10_000)) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, svc.MSG_TITLE_REQUIRED),
        ({"severity": "apocalyptic"}, svc.MSG_SEVERITY_INVALID),
        ({"source": "rumour"}, svc.MSG_SOURCE_INVALID),
    ],
)
def test_bad_input_opens_nothing(path, fields, message):
    with pytest.raises(ApplicationError) as exc:
        open_one(path, **fields)
    assert exc.value.message == message
    assert Escalation.objects.count() == 0
    assert Notification.objects.count() == 0


# --- the timer ---------------------------------------------------------------------------------


def test_each_level_fires_once_in_order_then_the_path_is_exhausted_once(
    path, people, workflow_owner
):
    escalation = open_one(path)

    assert svc.escalations_advance(now=minutes(29)) == 0
    assert svc.escalations_advance(now=minutes(30)) == 1
    assert svc.escalations_advance(now=minutes(30)) == 0  # the same tick again: nothing
    assert fresh(escalation).next_step_at == minutes(90)
    assert svc.escalations_advance(now=minutes(89)) == 0
    assert svc.escalations_advance(now=minutes(90)) == 1
    assert fresh(escalation).next_step_at == minutes(210)
    assert svc.escalations_advance(now=minutes(210)) == 1  # exhausted
    assert svc.escalations_advance(now=minutes(5000)) == 0

    assert notified(escalation) == [(1, "Fay First"), (2, "Sid Second"), (3, "Tia Third")]
    assert [len(told(p)) for p in people.values()] == [1, 1, 1]
    escalation = fresh(escalation)
    assert (escalation.status, escalation.step, escalation.next_step_at) == ("open", 3, None)
    assert escalation.current_contact == people["third"]
    assert escalation.events.filter(kind="exhausted").count() == 1
    assert told(workflow_owner) == ["Nobody acknowledged: Replies promise refunds"]


def test_the_last_level_is_repeated_as_configured(path, people, ops_leader):
    escalation_repeat_set(workflow=path, actor=ops_leader, repeat_last=2)
    escalation = open_one(path)

    for at in (30, 90, 210, 330):
        assert svc.escalations_advance(now=minutes(at)) == 1
    assert notified(escalation) == [
        (1, "Fay First"),
        (2, "Sid Second"),
        (3, "Tia Third"),
        (4, "Tia Third"),
        (5, "Tia Third"),
    ]
    assert (
        told(people["third"])[1:]
        == ["Escalation again for you (level 3): Replies promise refunds"] * 2
    )
    assert not escalation.events.filter(kind="exhausted").exists()
    assert svc.escalations_advance(now=minutes(450)) == 1
    assert escalation.events.filter(kind="exhausted").count() == 1


def test_catch_up_after_downtime_walks_the_missed_steps_in_order_with_their_due_times(
    path, people, workflow_owner
):
    escalation = open_one(path)

    # The scheduler was down from 09:00 to 10:40: levels 2 (due 09:30) and 3 (due 10:30).
    assert svc.escalations_advance(now=minutes(100)) == 2

    assert notified(escalation) == [(1, "Fay First"), (2, "Sid Second"), (3, "Tia Third")]
    steps = escalation.events.filter(kind="notified").order_by("step")
    assert [e.note for e in steps] == [
        "",
        svc.NOTE_LATE.format(due=svc.format_due(minutes(30)), late="1 hour 10 minutes"),
        svc.NOTE_LATE.format(due=svc.format_due(minutes(90)), late="10 minutes"),
    ]
    assert svc.format_due(minutes(30)) == "2 Mar 2026, 09:30 UTC"
    # The next step is due one response target after level 3's due time, not after the tick.
    assert fresh(escalation).next_step_at == minutes(210)
    assert svc.escalations_advance(now=minutes(100)) == 0
    assert [len(told(p)) for p in people.values()] == [1, 1, 1]
    assert told(workflow_owner) == []


def test_catch_up_past_the_end_exhausts_once(path, people, workflow_owner):
    escalation = open_one(path)
    assert svc.escalations_advance(now=minutes(24 * 60)) == 3
    assert svc.escalations_advance(now=minutes(24 * 60 + 1)) == 0
    assert notified(escalation) == [(1, "Fay First"), (2, "Sid Second"), (3, "Tia Third")]
    exhausted = escalation.events.get(kind="exhausted")
    assert exhausted.note.startswith(svc.NOTE_EXHAUSTED + " Was due 2 Mar 2026, 12:30 UTC")
    assert told(workflow_owner) == ["Nobody acknowledged: Replies promise refunds"]


def test_a_step_already_recorded_notifies_nobody_again(path, people):
    """The unique `notified` row per step: a run that finds the step taken tells nobody."""
    escalation = open_one(path)
    EscalationEvent.objects.create(
        escalation=escalation, kind="notified", step=2, contact=people["second"], at=minutes(30)
    )
    assert svc.escalations_advance(now=minutes(30)) == 1
    assert told(people["second"]) == []
    assert notified(escalation) == [(1, "Fay First"), (2, "Sid Second")]
    assert fresh(escalation).step == 2
    assert fresh(escalation).next_step_at == minutes(90)


def test_a_deactivated_contact_is_recorded_and_not_told(path, people):
    people["second"].is_active = False
    people["second"].save()
    escalation = open_one(path)
    svc.escalations_advance(now=minutes(30))
    step = escalation.events.get(kind="notified", step=2)
    assert step.note == svc.NOTE_CONTACT_INACTIVE.format(contact=people["second"])
    assert told(people["second"]) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_concurrent_ticks_notify_each_step_once(path, people):
    escalation = open_one(path)
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def tick() -> None:
        try:
            barrier.wait()
            svc.escalations_advance(now=minutes(100))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert notified(escalation) == [(1, "Fay First"), (2, "Sid Second"), (3, "Tia Third")]
    assert [len(told(p)) for p in people.values()] == [1, 1, 1]


def test_the_task_runs_the_tick(path, people):
    from rollout.tasks import advance_escalations

    escalation = open_one(path)
    Escalation.objects.filter(pk=escalation.pk).update(next_step_at=timezone.now())
    assert advance_escalations.delay().get() == 1
    assert notified(escalation)[-1] == (2, "Sid Second")


# --- acknowledge, reassign, resolve, note --------------------------------------------------------


def test_acknowledging_stops_the_climb(path, people):
    escalation = open_one(path)
    escalation = svc.escalation_acknowledge(
        escalation=escalation, actor=people["first"], now=minutes(10)
    )
    assert (escalation.status, escalation.next_step_at) == ("acknowledged", None)
    assert (escalation.acknowledged_by, escalation.acknowledged_at) == (
        people["first"],
        minutes(10),
    )
    assert svc.escalations_advance(now=minutes(10_000)) == 0
    assert notified(escalation) == [(1, "Fay First")]
    assert escalation.events.filter(kind="acknowledged", actor=people["first"]).count() == 1
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_acknowledge(escalation=escalation, actor=people["first"])
    assert exc.value.message == svc.MSG_NOT_OPEN


@pytest.mark.parametrize("who", ["owner", "ops", "current", "notified_before"])
def test_who_may_acknowledge(path, people, workflow_owner, ops_leader, who):
    escalation = open_one(path)
    svc.escalations_advance(now=minutes(30))  # now with level 2
    actor = {
        "owner": workflow_owner,
        "ops": ops_leader,
        "current": people["second"],
        "notified_before": people["first"],
    }[who]
    assert svc.escalation_acknowledge(escalation=escalation, actor=actor).status == "acknowledged"


@pytest.mark.parametrize("who", ["executive", "stranger", "not_yet_notified"])
def test_who_may_not_act(path, people, executive, other_user, who):
    escalation = open_one(path)
    actor = {"executive": executive, "stranger": other_user, "not_yet_notified": people["third"]}[
        who
    ]
    for act in (
        lambda: svc.escalation_acknowledge(escalation=escalation, actor=actor),
        lambda: svc.escalation_resolve(escalation=escalation, actor=actor, note="Fixed"),
        lambda: svc.escalation_add_note(escalation=escalation, actor=actor, note="Hm"),
        lambda: svc.escalation_reassign(
            escalation=escalation, actor=actor, contact=people["second"]
        ),
    ):
        with pytest.raises(ApplicationError) as exc:
            act()
        assert exc.value.message == svc.MSG_NOT_ALLOWED
    assert fresh(escalation).status == "open"
    assert escalation.events.count() == 2


def test_resolving_needs_a_note(path, people, workflow_owner):
    escalation = open_one(path)
    for note in ("", "   "):
        with pytest.raises(ApplicationError) as exc:
            svc.escalation_resolve(escalation=escalation, actor=people["first"], note=note)
        assert (exc.value.message, exc.value.field) == (svc.MSG_NOTE_REQUIRED, "note")
    assert fresh(escalation).status == "open"

    escalation = svc.escalation_resolve(
        escalation=escalation, actor=people["first"], note="Rolled back the prompt.", now=minutes(5)
    )
    assert (escalation.status, escalation.next_step_at) == ("resolved", None)
    assert escalation.resolution_note == "Rolled back the prompt."
    assert escalation.events.get(kind="resolved").note == "Rolled back the prompt."
    assert told(workflow_owner) == ["Escalation resolved: Replies promise refunds"]
    assert svc.escalations_advance(now=minutes(10_000)) == 0
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_resolve(escalation=escalation, actor=workflow_owner, note="Again")
    assert exc.value.message == svc.MSG_RESOLVED
    entry = ActivityEntry.objects.get(workflow=path, verb="resolved escalation")
    assert (entry.actor, entry.note) == (people["first"], "Rolled back the prompt.")


def test_reassigning_hands_it_on_and_restarts_the_timer(path, people, workflow_owner):
    escalation = open_one(path)
    escalation = svc.escalation_reassign(
        escalation=escalation,
        actor=people["first"],
        contact=people["third"],
        note="Tia knows the prompt.",
        now=minutes(20),
    )
    assert escalation.current_contact == people["third"]
    assert escalation.next_step_at == minutes(50)  # level 1's 30 minutes, from the handover
    event = escalation.events.get(kind="reassigned")
    assert (event.actor, event.contact, event.note) == (
        people["first"],
        people["third"],
        "Tia knows the prompt.",
    )
    assert told(people["third"]) == ["Escalation handed to you: Replies promise refunds"]
    # Tia may now act on it although the path has not reached her yet.
    svc.escalation_acknowledge(escalation=escalation, actor=people["third"])


def test_reassigning_refuses_people_who_cannot_see_the_workflow(path, people, other_user):
    escalation = open_one(path)
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_reassign(escalation=escalation, actor=people["first"], contact=other_user)
    assert exc.value.message == svc.MSG_CONTACT_NO_ACCESS.format(contact=other_user)
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_reassign(
            escalation=escalation, actor=people["first"], contact=people["first"]
        )
    assert exc.value.message == svc.MSG_SAME_CONTACT.format(contact=people["first"])
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_reassign(escalation=escalation, actor=people["first"], contact=None)
    assert exc.value.message == svc.MSG_CONTACT_REQUIRED
    assert fresh(escalation).current_contact == people["first"]


def test_notes_go_in_the_timeline_without_stopping_the_climb(path, people):
    escalation = open_one(path)
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_add_note(escalation=escalation, actor=people["first"], note=" ")
    assert exc.value.message == svc.MSG_NOTE_EMPTY
    svc.escalation_add_note(
        escalation=escalation, actor=people["first"], note="Calling the vendor.", now=minutes(5)
    )
    assert escalation.events.get(kind="note").note == "Calling the vendor."
    assert svc.escalations_advance(now=minutes(30)) == 1


# --- opened automatically by a threshold breach ------------------------------------------------


@pytest.mark.parametrize(("action", "severity"), [("pause_rollout", "critical"), ("alert", "high")])
def test_a_breach_opens_an_escalation(path, people, action, severity):
    make_plan(path, current="limited")
    threshold = make_threshold(path, action=action)
    ingest(path, errors_out_of(10, 100))
    escalation = Escalation.objects.get(workflow=path)
    assert (escalation.source, escalation.severity, escalation.threshold) == (
        "breach",
        severity,
        threshold,
    )
    assert escalation.title.startswith("Support reply drafting")
    assert notified(escalation) == [(1, "Fay First")]
    ingest(path, errors_out_of(20, 100))  # still failing: the same breach, no second escalation
    assert Escalation.objects.count() == 1


def test_a_promotion_blocking_breach_opens_none(path):
    make_plan(path, current="limited")
    make_threshold(path, action="block_promotion")
    ingest(path, errors_out_of(10, 100))
    assert Escalation.objects.count() == 0

import pytest
from guardian.shortcuts import get_perms

from core.errors import ApplicationError
from rollout.models import ActivityEntry, EscalationLevel
from rollout.services import escalation_path as svc
from rollout.services.escalation_path import (
    MSG_ALREADY_FIRST,
    MSG_ALREADY_LAST,
    MSG_CHANNEL_INVALID,
    MSG_CONTACT_INACTIVE,
    MSG_CONTACT_REQUIRED,
    MSG_DIRECTION_INVALID,
    MSG_REPEAT_RANGE,
    MSG_TARGET_RANGE,
    MSG_TOO_MANY_LEVELS,
    format_minutes,
)
from tests.factories import UserFactory


@pytest.fixture
def people(db):
    return [UserFactory(display_name=name) for name in ("Ann", "Ben", "Cat")]


def add(workflow, actor, contact, minutes=30, channel="email"):
    return svc.escalation_level_add(
        workflow=workflow,
        actor=actor,
        contact=contact,
        channel=channel,
        response_target_minutes=minutes,
    )


def path(workflow) -> list[tuple[int, str]]:
    return [
        (level.position, level.contact.display_name)
        for level in EscalationLevel.objects.filter(workflow=workflow).order_by("position")
    ]


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (1, "1 minute"),
        (30, "30 minutes"),
        (60, "1 hour"),
        (120, "2 hours"),
        (75, "1 hour 15 minutes"),
        (1440, "1 day"),
        (1440 * 2 + 360, "2 days 6 hours"),
    ],
)
def test_format_minutes(minutes, words):
    assert format_minutes(minutes) == words


def test_levels_are_appended_in_order_and_logged(workflow, ops_leader, people):
    ann, ben, _ = people
    add(workflow, ops_leader, ann, minutes=30)
    level = add(workflow, ops_leader, ben, minutes=120, channel="in_app")

    assert path(workflow) == [(1, "Ann"), (2, "Ben")]
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.actor, entry.verb, entry.target) == (
        ops_leader,
        "added escalation level",
        "level 2",
    )
    assert entry.changes == {"level 2": ["—", "Ben by in-app within 2 hours"]}
    assert level.position == 2


def test_contact_gains_view_access_and_loses_it_when_removed_everywhere(
    workflow, ops_leader, people
):
    ann = people[0]
    first = add(workflow, ops_leader, ann)
    second = add(workflow, ops_leader, ann)
    assert get_perms(ann, workflow) == ["view_workflow"]

    svc.escalation_level_remove(level=first, actor=ops_leader)
    assert get_perms(ann, workflow) == ["view_workflow"]  # still on the other level

    svc.escalation_level_remove(level=EscalationLevel.objects.get(pk=second.pk), actor=ops_leader)
    assert get_perms(ann, workflow) == []


def test_removing_the_owner_as_contact_keeps_their_owner_access(
    workflow, ops_leader, workflow_owner
):
    level = add(workflow, ops_leader, workflow_owner)
    svc.escalation_level_remove(level=level, actor=ops_leader)

    assert sorted(get_perms(workflow_owner, workflow)) == [
        "change_workflow",
        "use_workflow",
        "view_workflow",
    ]


def test_remove_renumbers_without_gaps(workflow, ops_leader, people):
    ann, ben, cat = people
    add(workflow, ops_leader, ann)
    middle = add(workflow, ops_leader, ben)
    add(workflow, ops_leader, cat)
    add(workflow, ops_leader, ann)

    svc.escalation_level_remove(level=middle, actor=ops_leader)

    assert path(workflow) == [(1, "Ann"), (2, "Cat"), (3, "Ann")]
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert entry.verb == "removed escalation level"
    assert entry.changes == {"level 2": ["Ben by email within 30 minutes", "—"]}
    assert get_perms(ben, workflow) == []


def test_remove_leaves_other_workflows_alone(workflow, ops_leader, people):
    from tests.factories import make_workflow

    other = make_workflow(actor=ops_leader)
    add(other, ops_leader, people[0])
    add(other, ops_leader, people[1])
    first = add(workflow, ops_leader, people[2])

    svc.escalation_level_remove(level=first, actor=ops_leader)

    assert path(other) == [(1, "Ann"), (2, "Ben")]
    assert path(workflow) == []


def test_move_up_and_down_swaps_neighbours(workflow, ops_leader, people):
    ann, ben, cat = people
    add(workflow, ops_leader, ann)
    add(workflow, ops_leader, ben)
    last = add(workflow, ops_leader, cat)

    svc.escalation_level_move(level=last, actor=ops_leader, direction="up")
    assert path(workflow) == [(1, "Ann"), (2, "Cat"), (3, "Ben")]
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.verb, entry.target, entry.changes) == (
        "moved escalation level",
        "Cat's level",
        {"level": ["3", "2"]},
    )

    first = EscalationLevel.objects.get(workflow=workflow, position=1)
    svc.escalation_level_move(level=first, actor=ops_leader, direction="down")
    assert path(workflow) == [(1, "Cat"), (2, "Ann"), (3, "Ben")]


@pytest.mark.parametrize(
    ("position", "direction", "message"),
    [(1, "up", MSG_ALREADY_FIRST), (2, "down", MSG_ALREADY_LAST.format(position=2))],
)
def test_move_past_either_end_is_refused(
    workflow, ops_leader, people, position, direction, message
):
    add(workflow, ops_leader, people[0])
    add(workflow, ops_leader, people[1])
    entries = ActivityEntry.objects.count()
    level = EscalationLevel.objects.get(workflow=workflow, position=position)

    with pytest.raises(ApplicationError) as exc:
        svc.escalation_level_move(level=level, actor=ops_leader, direction=direction)

    assert exc.value.message == message
    assert path(workflow) == [(1, "Ann"), (2, "Ben")]
    assert ActivityEntry.objects.count() == entries


def test_move_with_unknown_direction_is_refused(workflow, ops_leader, people):
    level = add(workflow, ops_leader, people[0])
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_level_move(level=level, actor=ops_leader, direction="sideways")
    assert exc.value.message == MSG_DIRECTION_INVALID


def test_update_moves_access_from_old_to_new_contact(workflow, ops_leader, people):
    ann, ben, _ = people
    level = add(workflow, ops_leader, ann)

    svc.escalation_level_update(
        level=level, actor=ops_leader, contact=ben, channel="in_app", response_target_minutes=90
    )

    level.refresh_from_db()
    assert (level.contact, level.channel, level.response_target_minutes) == (ben, "in_app", 90)
    assert get_perms(ann, workflow) == []
    assert get_perms(ben, workflow) == ["view_workflow"]
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert entry.verb == "changed escalation level"
    assert entry.changes == {
        "level 1": ["Ann by email within 30 minutes", "Ben by in-app within 1 hour 30 minutes"]
    }


def test_update_without_a_change_records_nothing(workflow, ops_leader, people):
    level = add(workflow, ops_leader, people[0])
    entries = ActivityEntry.objects.count()

    svc.escalation_level_update(
        level=level,
        actor=ops_leader,
        contact=people[0],
        channel="email",
        response_target_minutes=30,
    )

    assert ActivityEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("kwargs", "message", "field"),
    [
        ({"contact": None}, MSG_CONTACT_REQUIRED, "contact"),
        ({"channel": "pigeon"}, MSG_CHANNEL_INVALID, "channel"),
        ({"response_target_minutes": 0}, MSG_TARGET_RANGE, "response_target"),
        ({"response_target_minutes": 60 * 24 * 14 + 1}, MSG_TARGET_RANGE, "response_target"),
    ],
)
def test_add_refuses_bad_input(workflow, ops_leader, people, kwargs, message, field):
    values = {"contact": people[0], "channel": "email", "response_target_minutes": 30} | kwargs
    entries = ActivityEntry.objects.count()

    with pytest.raises(ApplicationError) as exc:
        svc.escalation_level_add(workflow=workflow, actor=ops_leader, **values)

    assert (exc.value.message, exc.value.field) == (message, field)
    assert EscalationLevel.objects.count() == 0
    assert ActivityEntry.objects.count() == entries


def test_inactive_contact_is_refused_on_add_and_update(workflow, ops_leader, people):
    gone = UserFactory(display_name="Gina Gone", is_active=False)
    message = MSG_CONTACT_INACTIVE.format(contact=gone)
    with pytest.raises(ApplicationError) as exc:
        add(workflow, ops_leader, gone)
    assert exc.value.message == message

    level = add(workflow, ops_leader, people[0])
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_level_update(
            level=level, actor=ops_leader, contact=gone, channel="email", response_target_minutes=5
        )
    assert exc.value.message == message
    assert get_perms(gone, workflow) == []


def test_path_holds_at_most_ten_levels(workflow, ops_leader, people):
    for _ in range(svc.MAX_LEVELS):
        add(workflow, ops_leader, people[0])
    with pytest.raises(ApplicationError) as exc:
        add(workflow, ops_leader, people[1])
    assert exc.value.message == MSG_TOO_MANY_LEVELS
    assert EscalationLevel.objects.filter(workflow=workflow).count() == 10


def test_repeat_is_set_and_logged(workflow, ops_leader):
    svc.escalation_repeat_set(workflow=workflow, actor=ops_leader, repeat_last=3)

    workflow.refresh_from_db()
    assert workflow.escalation_repeat_last == 3
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.verb, entry.changes) == (
        "changed escalation repeat",
        {"repeat the last level": ["0", "3"]},
    )


@pytest.mark.parametrize("value", [-1, 11])
def test_repeat_out_of_range_is_refused(workflow, ops_leader, value):
    entries = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        svc.escalation_repeat_set(workflow=workflow, actor=ops_leader, repeat_last=value)
    assert (exc.value.message, exc.value.field) == (MSG_REPEAT_RANGE, "repeat_last")
    workflow.refresh_from_db()
    assert workflow.escalation_repeat_last == 0
    assert ActivityEntry.objects.count() == entries

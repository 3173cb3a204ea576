import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from rollout.models import ActivityEntry, EscalationLevel
from rollout.services import escalation_path as svc
from rollout.views import escalation_path as views
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import as_user, login_redirect, template_names

PAGE = "rollout/workflow_escalation.html"


def url(slug: str) -> str:
    return reverse("workflow_escalation", kwargs={"slug": slug})


def level_url(name: str, level: EscalationLevel) -> str:
    return reverse(name, kwargs={"slug": level.workflow.slug, "level_id": level.pk})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def contact(db):
    return UserFactory(email="cara@example.com", display_name="Cara Contact")


@pytest.fixture
def levels(workflow, ops_leader, contact):
    second = UserFactory(display_name="Dan Deputy")
    return [
        svc.escalation_level_add(
            workflow=workflow,
            actor=ops_leader,
            contact=person,
            channel=channel,
            response_target_minutes=minutes,
        )
        for person, channel, minutes in ((contact, "email", 30), (second, "in_app", 120))
    ]


def add_data(contact, amount="45", unit="minutes", channel="email") -> dict:
    return {
        "action": "add",
        "contact": contact.pk,
        "channel": channel,
        "target_amount": amount,
        "target_unit": unit,
    }


def test_anonymous_is_sent_to_sign_in(client, workflow, levels):
    assert client.get(url(workflow.slug))["Location"] == login_redirect(url(workflow.slug))
    remove = level_url("escalation_level_remove", levels[0])
    assert client.post(remove)["Location"] == login_redirect(remove)
    assert EscalationLevel.objects.count() == 2


def test_no_role_gets_404_everywhere(client, other_user, workflow, levels, contact):
    client.force_login(other_user)
    entries = ActivityEntry.objects.count()

    assert client.get(url(workflow.slug)).status_code == 404
    assert client.post(url(workflow.slug), add_data(contact)).status_code == 404
    assert client.get(level_url("escalation_level_edit", levels[0])).status_code == 404
    assert client.post(level_url("escalation_level_remove", levels[0])).status_code == 404
    assert ActivityEntry.objects.count() == entries


def test_path_is_shown_in_order_with_human_targets(
    client, ops_leader, workflow, levels, django_assert_max_num_queries
):
    client.force_login(ops_leader)
    with django_assert_max_num_queries(12):
        response = client.get(url(workflow.slug))

    assert response.status_code == 200
    assert template_names(response)[0] == PAGE
    html = response.content.decode()
    assert html.index("<h3>Level 1</h3>") < html.index(
        '<h3><span aria-hidden="true">→ </span>Level 2</h3>'
    )
    assert "<dt>Contact</dt><dd>Cara Contact</dd>" in html
    assert "<dt>Channel</dt><dd>In-app</dd>" in html
    assert "<dt>Response target</dt><dd>30 minutes</dd>" in html
    assert "<dt>Response target</dt><dd>2 hours</dd>" in html
    assert "level 1 is notified first" in html
    assert "After the last level nobody else is notified." in html
    assert html.count(">Move up<") == 1 and html.count(">Move down<") == 1
    assert html.count(">Remove<") == 2
    assert "Add a level" in html and '<label for="id_contact">Contact' in html
    assert '<label for="id_repeat_last">Repeat the last level' in html
    assert 'aria-current="page">Escalation</a>' in html


def test_query_count_does_not_grow_with_levels(
    client, ops_leader, workflow, levels, django_assert_max_num_queries
):
    for _ in range(6):
        svc.escalation_level_add(
            workflow=workflow,
            actor=ops_leader,
            contact=UserFactory(),
            channel="email",
            response_target_minutes=10,
        )
    client.force_login(ops_leader)
    with django_assert_max_num_queries(12):
        assert client.get(url(workflow.slug)).status_code == 200


@pytest.mark.parametrize("role", ["executive", "contact"])
def test_executives_and_contacts_read_but_cannot_change(request, workflow, levels, contact, role):
    client = as_user(request.getfixturevalue(role))
    entries = ActivityEntry.objects.count()

    response = client.get(url(workflow.slug))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<dt>Contact</dt><dd>Cara Contact</dd>" in html
    assert "Add a level" not in html and ">Remove<" not in html and ">Move up<" not in html

    assert client.post(url(workflow.slug), add_data(contact)).status_code == 404
    assert (
        client.post(url(workflow.slug), {"action": "repeat", "repeat_last": 2}).status_code == 404
    )
    assert client.get(level_url("escalation_level_edit", levels[0])).status_code == 404
    assert client.post(level_url("escalation_level_remove", levels[0])).status_code == 404
    move = level_url("escalation_level_move", levels[1])
    assert client.post(move, {"direction": "up"}).status_code == 404
    assert ActivityEntry.objects.count() == entries
    assert EscalationLevel.objects.count() == 2


def test_owner_adds_a_level_in_hours(client, workflow_owner, workflow, levels, contact):
    client.force_login(workflow_owner)
    response = client.post(url(workflow.slug), add_data(contact, amount="2", unit="hours"))

    assert response.status_code == 302
    assert response["Location"] == url(workflow.slug)
    assert messages_of(response) == [
        views.MSG_LEVEL_ADDED.format(position=3, summary="Cara Contact by email within 2 hours")
    ]
    level = EscalationLevel.objects.get(workflow=workflow, position=3)
    assert (level.contact, level.response_target_minutes) == (contact, 120)


def test_new_contact_can_then_view_the_workflow(client, ops_leader, workflow):
    newcomer = UserFactory(display_name="Nia New")
    assert as_user(newcomer).get(url(workflow.slug)).status_code == 404
    client.force_login(ops_leader)
    client.post(url(workflow.slug), add_data(newcomer))

    assert as_user(newcomer).get(url(workflow.slug)).status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"contact": ""}, "contact", svc.MSG_CONTACT_REQUIRED),
        (
            {"target_amount": "0"},
            "target_amount",
            "Ensure this value is greater than or equal to 1.",
        ),
        ({"target_amount": "15", "target_unit": "days"}, "response_target", svc.MSG_TARGET_RANGE),
    ],
)
def test_bad_level_input_is_shown_and_nothing_changes(
    client, ops_leader, workflow, levels, contact, data, field, error
):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), add_data(contact) | data)

    assert response.status_code == 200
    assert template_names(response)[0] == PAGE
    form = response.context["level_form"]
    errors = form.errors.get(field) or form.non_field_errors()
    assert list(errors) == [error]
    assert error in response.content.decode().replace("&#x27;", "'")
    assert EscalationLevel.objects.count() == 2
    assert ActivityEntry.objects.count() == entries


def test_inactive_contact_is_refused_beside_the_field(client, ops_leader, workflow):
    gone = UserFactory(display_name="Gina Gone", is_active=False)
    client.force_login(ops_leader)

    response = client.post(url(workflow.slug), add_data(gone))

    assert response.status_code == 200
    assert response.context["level_form"].errors["contact"] == [
        svc.MSG_CONTACT_INACTIVE.format(contact=gone)
    ]
    assert EscalationLevel.objects.count() == 0


def test_unknown_action_is_a_bad_request(client, ops_leader, workflow):
    client.force_login(ops_leader)
    response = client.post(url(workflow.slug), {"action": "explode"})
    assert response.status_code == 400


def test_repeat_is_set(client, ops_leader, workflow):
    client.force_login(ops_leader)
    response = client.post(url(workflow.slug), {"action": "repeat", "repeat_last": "2"})

    assert response.status_code == 302
    assert messages_of(response) == [views.MSG_REPEAT_SET.format(count=2)]
    workflow.refresh_from_db()
    assert workflow.escalation_repeat_last == 2
    html = client.get(url(workflow.slug)).content.decode()
    assert "After the last level, it is notified 2 more times" in html


@pytest.mark.parametrize("value", ["11", "-1", "lots"])
def test_bad_repeat_is_refused(client, ops_leader, workflow, value):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()

    response = client.post(url(workflow.slug), {"action": "repeat", "repeat_last": value})

    assert response.status_code == 200
    assert response.context["repeat_form"].errors["repeat_last"] == [svc.MSG_REPEAT_RANGE]
    workflow.refresh_from_db()
    assert workflow.escalation_repeat_last == 0
    assert ActivityEntry.objects.count() == entries


def test_edit_page_prefills_and_saves(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    edit = level_url("escalation_level_edit", levels[1])

    page = client.get(edit)
    assert page.status_code == 200
    assert template_names(page)[0] == PAGE
    html = page.content.decode()
    assert "Edit level 2" in html and "Add a level" not in html
    assert page.context["level_form"].initial["target_amount"] == 2
    assert page.context["level_form"].initial["target_unit"] == "hours"

    data = add_data(levels[1].contact, amount="3", unit="hours", channel="in_app")
    response = client.post(edit, data)
    assert response.status_code == 302
    assert messages_of(response) == [views.MSG_LEVEL_UPDATED.format(position=2)]
    levels[1].refresh_from_db()
    assert levels[1].response_target_minutes == 180


def test_edit_without_change_saves_nothing(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()
    data = add_data(levels[0].contact, amount="30", unit="minutes")

    response = client.post(level_url("escalation_level_edit", levels[0]), data)

    assert messages_of(response) == [views.MSG_LEVEL_UNCHANGED.format(position=1)]
    assert ActivityEntry.objects.count() == entries


def test_remove_and_move(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    response = client.post(level_url("escalation_level_move", levels[1]), {"direction": "up"})
    assert response.status_code == 302
    assert messages_of(response) == [views.MSG_LEVEL_MOVED.format(contact="Dan Deputy", position=1)]
    assert list(EscalationLevel.objects.values_list("contact__display_name", flat=True)) == [
        "Dan Deputy",
        "Cara Contact",
    ]

    response = client.post(level_url("escalation_level_remove", levels[1]))
    assert response.status_code == 302
    # The move's message is still queued: no page was shown in between.
    assert messages_of(response)[-1] == views.MSG_LEVEL_REMOVED.format(position=1)
    remaining = EscalationLevel.objects.get()
    assert (remaining.position, remaining.contact.display_name) == (1, "Cara Contact")


def test_move_past_the_end_is_a_flash_error(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    response = client.post(level_url("escalation_level_move", levels[0]), {"direction": "up"})
    assert response.status_code == 302
    assert messages_of(response) == [svc.MSG_ALREADY_FIRST]


def test_level_of_another_workflow_is_404(client, ops_leader, workflow, levels):
    other = make_workflow(actor=ops_leader)
    client.force_login(ops_leader)
    kwargs = {"slug": other.slug, "level_id": levels[0].pk}

    assert client.get(reverse("escalation_level_edit", kwargs=kwargs)).status_code == 404
    assert client.post(reverse("escalation_level_remove", kwargs=kwargs)).status_code == 404
    move = reverse("escalation_level_move", kwargs=kwargs)
    assert client.post(move, {"direction": "down"}).status_code == 404
    assert EscalationLevel.objects.count() == 2


def test_post_without_csrf_token_is_refused(ops_leader, workflow, levels, contact):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_leader)

    assert client.post(url(workflow.slug), add_data(contact)).status_code == 403
    assert client.post(level_url("escalation_level_remove", levels[0])).status_code == 403
    assert EscalationLevel.objects.count() == 2

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from rollout.models import ActivityEntry, EscalationLevel
from rollout.services import escalation_path as svc
from rollout.views import escalation_path as views
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import as_user, login_redirect, template_names

PAGE = "rollout/escalation_path.html"
HTMX = {"HX-Request": "true", "HX-Target": "escalation-path"}


def url(slug: str) -> str:
    return reverse("escalation_path", kwargs={"slug": slug})


def edit_url(level: EscalationLevel) -> str:
    return f"{url(level.workflow.slug)}?edit={level.pk}"


def remove(client: Client, level: EscalationLevel, **headers):
    return client.post(
        url(level.workflow.slug), {"action": "remove", "level": level.pk}, headers=headers
    )


def move(client: Client, level: EscalationLevel, direction: str, **headers):
    data = {"action": "move", "level": level.pk, "direction": direction}
    return client.post(url(level.workflow.slug), data, headers=headers)


def edit(client: Client, level: EscalationLevel, data: dict):
    return client.post(url(level.workflow.slug), {**data, "action": "edit", "level": level.pk})


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
    assert remove(client, levels[0])["Location"] == login_redirect(url(workflow.slug))
    assert EscalationLevel.objects.count() == 2


def test_no_role_gets_404_everywhere(client, other_user, workflow, levels, contact):
    client.force_login(other_user)
    entries = ActivityEntry.objects.count()

    assert client.get(url(workflow.slug)).status_code == 404
    assert client.post(url(workflow.slug), add_data(contact)).status_code == 404
    assert client.get(edit_url(levels[0])).status_code == 404
    assert remove(client, levels[0]).status_code == 404
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
    assert client.get(edit_url(levels[0])).status_code == 404
    assert edit(client, levels[0], add_data(contact)).status_code == 404
    assert remove(client, levels[0]).status_code == 404
    assert move(client, levels[1], "up").status_code == 404
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

    page = client.get(edit_url(levels[1]))
    assert page.status_code == 200
    assert template_names(page)[0] == PAGE
    html = page.content.decode()
    assert "Edit level 2" in html and "Add a level" not in html
    assert f'<input type="hidden" name="level" value="{levels[1].pk}">' in html
    assert page.context["level_form"].initial["target_amount"] == 2
    assert page.context["level_form"].initial["target_unit"] == "hours"

    data = add_data(levels[1].contact, amount="3", unit="hours", channel="in_app")
    response = edit(client, levels[1], data)
    assert response.status_code == 302
    assert response["Location"] == url(workflow.slug)
    assert messages_of(response) == [views.MSG_LEVEL_UPDATED.format(position=2)]
    levels[1].refresh_from_db()
    assert levels[1].response_target_minutes == 180


def test_bad_edit_is_shown_beside_the_field_in_the_edit_state(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    data = add_data(levels[1].contact, amount="0")

    response = edit(client, levels[1], data)

    assert response.status_code == 200
    assert response.context["editing"] == levels[1]
    assert list(response.context["level_form"].errors["target_amount"]) == [
        "Ensure this value is greater than or equal to 1."
    ]
    levels[1].refresh_from_db()
    assert levels[1].response_target_minutes == 120


def test_edit_without_change_saves_nothing(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()
    data = add_data(levels[0].contact, amount="30", unit="minutes")

    response = edit(client, levels[0], data)

    assert messages_of(response) == [views.MSG_LEVEL_UNCHANGED.format(position=1)]
    assert ActivityEntry.objects.count() == entries


def test_remove_and_move(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    response = move(client, levels[1], "up")
    assert response.status_code == 302
    assert response["Location"] == url(workflow.slug)
    assert messages_of(response) == [views.MSG_LEVEL_MOVED.format(contact="Dan Deputy", position=1)]
    assert list(EscalationLevel.objects.values_list("contact__display_name", flat=True)) == [
        "Dan Deputy",
        "Cara Contact",
    ]

    response = remove(client, levels[1])
    assert response.status_code == 302
    # The move's message is still queued: no page was shown in between.
    assert messages_of(response)[-1] == views.MSG_LEVEL_REMOVED.format(position=1)
    remaining = EscalationLevel.objects.get()
    assert (remaining.position, remaining.contact.display_name) == (1, "Cara Contact")


def test_move_past_the_end_is_a_flash_error(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    response = move(client, levels[0], "up")
    assert response.status_code == 302
    assert messages_of(response) == [svc.MSG_ALREADY_FIRST]


def test_move_with_htmx_returns_the_path_and_the_forms_out_of_band(
    client, ops_leader, workflow, levels, django_assert_max_num_queries
):
    client.force_login(ops_leader)
    with django_assert_max_num_queries(25):
        response = move(client, levels[1], "up", **HTMX)

    assert response.status_code == 200
    assert [name for name in template_names(response) if "/" not in name] == [
        "escalation-path",
        "level-forms",
    ]
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="escalation-path" class="card"')
    message = views.MSG_LEVEL_MOVED.format(contact="Dan Deputy", position=1)
    assert f'<p class="row-status" role="status">{message}</p>' in html
    assert html.index("<dt>Contact</dt><dd>Dan Deputy</dd>") < html.index(
        "<dt>Contact</dt><dd>Cara Contact</dd>"
    )
    assert '<div id="level-forms" class="grid" hx-swap-oob="true">' in html
    assert "as level 3." in html
    assert messages_of(response) == []  # shown in the card, not kept for the next page


def test_remove_with_htmx_renumbers_and_refusals_show_in_the_card(
    client, ops_leader, workflow, levels
):
    client.force_login(ops_leader)
    html = remove(client, levels[0], **HTMX).content.decode()
    assert views.MSG_LEVEL_REMOVED.format(position=1) in html
    assert "<h3>Level 1</h3>" in html and "Level 2</h3>" not in html
    assert "as level 2." in html

    html = move(client, EscalationLevel.objects.get(), "down", **HTMX).content.decode()
    assert f'<p class="error" role="alert">{svc.MSG_ALREADY_LAST.format(position=1)}</p>' in html


def test_every_hx_post_has_the_same_action(client, ops_leader, workflow, levels):
    client.force_login(ops_leader)
    html = client.get(url(workflow.slug)).content.decode()
    forms = [tag for tag in re.findall(r"<form [^>]*>", html) if "hx-post=" in tag]
    assert len(forms) == 4  # down, up, and remove twice
    for tag in forms:
        assert f' action="{url(workflow.slug)}"' in tag
        assert f' hx-post="{url(workflow.slug)}"' in tag


@pytest.mark.parametrize("level_id", ["0", "x", ""])
def test_unknown_level_is_404(client, ops_leader, workflow, levels, level_id):
    client.force_login(ops_leader)
    path = url(workflow.slug)
    assert client.get(f"{path}?edit={level_id}").status_code == 404
    assert client.post(path, {"action": "remove", "level": level_id}).status_code == 404
    assert client.post(path, {"action": "edit", "level": level_id}).status_code == 404


def test_level_of_another_workflow_is_404(client, ops_leader, workflow, levels, contact):
    other = make_workflow(actor=ops_leader)
    client.force_login(ops_leader)
    path = url(other.slug)

    assert client.get(f"{path}?edit={levels[0].pk}").status_code == 404
    assert client.post(path, {"action": "remove", "level": levels[0].pk}).status_code == 404
    data = {"action": "move", "level": levels[0].pk, "direction": "down"}
    assert client.post(path, data).status_code == 404
    data = {**add_data(contact), "action": "edit", "level": levels[0].pk}
    assert client.post(path, data).status_code == 404
    assert EscalationLevel.objects.count() == 2


def test_post_without_csrf_token_is_refused(ops_leader, workflow, levels, contact):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_leader)

    assert client.post(url(workflow.slug), add_data(contact)).status_code == 403
    assert remove(client, levels[0]).status_code == 403
    assert EscalationLevel.objects.count() == 2


def test_without_javascript_a_contact_is_typed_by_address(client, workflow_owner, workflow, levels):
    newcomer = UserFactory(email="nia@example.com", display_name="Nia New")
    client.force_login(workflow_owner)
    data = {**add_data(newcomer), "contact": "", "contact_text": "nia@example.com"}

    response = client.post(url(workflow.slug), data)

    assert response.status_code == 302
    assert EscalationLevel.objects.get(workflow=workflow, position=3).contact == newcomer


def test_the_level_form_finds_contacts_by_search(client, workflow_owner, workflow, levels):
    client.force_login(workflow_owner)
    html = client.get(url(workflow.slug)).content.decode()
    search = f"/people/search/?purpose=contact&amp;workflow={workflow.slug}"
    assert f'hx-get="{search}"' in html
    assert "<option" not in html.split('id="level-forms"')[1].split("Channel")[0]

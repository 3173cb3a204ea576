"""The briefing page: reading, publishing, acknowledging, and the member's inbox item."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from rollout.models import ActivityEntry, Briefing, BriefingAcknowledgement, Notification
from rollout.services import cohorts as cohort_svc
from rollout.services.briefings import (
    MSG_NOT_A_MEMBER,
    BriefingText,
    briefing_acknowledge,
    briefing_publish,
)
from rollout.views import briefings as views
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import login_redirect, template_names

pytestmark = pytest.mark.django_db

TEXT = BriefingText(
    "Drafts **replies**.", "- A wrong refund amount.", "", "1. Do not send it.<script>x</script>"
)


def url(slug: str = "support-reply-drafting") -> str:
    return reverse("workflow_briefing", kwargs={"slug": slug})


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def member(workflow, ops_leader):
    user = UserFactory(email="mia@example.com", display_name="Mia Member")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    return user


@pytest.fixture
def other_member(workflow_owner, ops_leader):
    """A member of another workflow's cohort: no role on this one."""
    other = make_workflow(owner=workflow_owner, actor=ops_leader, name="Other", slug="other")
    user = UserFactory(display_name="Otto Other")
    cohort = cohort_svc.cohort_create(workflow=other, name="Theirs", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


@pytest.fixture
def briefing(workflow, workflow_owner, member):
    return briefing_publish(workflow=workflow, actor=workflow_owner, text=TEXT, material=True)


def publish_data(**overrides: str) -> dict[str, str]:
    return {
        "action": "publish",
        "what_it_does": "Drafts replies.",
        "bad_output": "- A wrong refund.",
        "wrong_examples": "",
        "what_to_do": "Report it.",
        "material": "true",
        "change_note": "New wording.",
        **overrides,
    }


# --- Who may open it ----------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, workflow):
    assert client.get(url())["Location"] == login_redirect(url())


def test_other_members_and_strangers_get_404(client, workflow, briefing, other_member, other_user):
    for user in (other_member, other_user):
        client.force_login(user)
        assert client.get(url()).status_code == 404
        response = client.post(url(), {"action": "acknowledge", "briefing": briefing.pk})
        assert response.status_code == 404
    assert not BriefingAcknowledgement.objects.exists()


def test_member_reads_the_rendered_briefing_and_is_asked_to_acknowledge(
    client, workflow, member, briefing
):
    client.force_login(member)
    response = client.get(url())
    assert response.status_code == 200
    assert "rollout/workflow_briefing.html" in template_names(response)
    body = response.content.decode()
    assert "Drafts <strong>replies</strong>." in body
    assert "<script>x" not in body  # sanitised
    assert "Acknowledge version 1" in body
    assert 'value="publish"' not in body and "Who has acknowledged" not in body
    # The member's sidebar links the briefing.
    assert f'href="{url()}" aria-current="page"' in body


def test_executive_reads_but_neither_publishes_nor_acknowledges(
    client, workflow, executive, briefing
):
    client.force_login(executive)
    response = client.get(url())
    assert response.status_code == 200
    assert "Acknowledge version" not in response.content.decode()
    assert client.post(url(), publish_data()).status_code == 404
    response = client.post(url(), {"action": "acknowledge", "briefing": briefing.pk})
    assert response.status_code == 302
    assert flashes(response) == [MSG_NOT_A_MEMBER]
    assert Briefing.objects.count() == 1
    assert not BriefingAcknowledgement.objects.exists()


def test_before_the_first_version(client, workflow, workflow_owner, member):
    client.force_login(member)
    assert "No briefing has been published yet." in client.get(url()).content.decode()
    client.force_login(workflow_owner)
    body = client.get(url()).content.decode()
    assert "Write the briefing" in body
    assert 'name="material"' not in body  # the first version is always material


# --- Publishing ---------------------------------------------------------------------------------


def test_owner_publishes_the_first_version_and_members_are_asked(
    client, workflow, workflow_owner, member, django_capture_on_commit_callbacks
):
    client.force_login(workflow_owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(), publish_data(material="false", change_note=""))
    assert response.status_code == 302 and response["Location"] == url()
    assert flashes(response) == [views.MSG_PUBLISHED_MATERIAL.format(number=1, count="1 person")]
    briefing = Briefing.objects.get()
    assert (briefing.number, briefing.material, briefing.published_by) == (1, True, workflow_owner)
    # The member's inbox item (home page) links the briefing page.
    (notification,) = Notification.objects.filter(recipient=member)
    assert notification.url == url()
    client.force_login(member)
    home = client.get(reverse("home")).content.decode()
    assert f'<a href="{url()}">Please read and acknowledge the briefing for' in home


def test_owner_publishes_a_minor_version(client, workflow, workflow_owner, member, briefing):
    client.force_login(workflow_owner)
    before = Notification.objects.count()
    response = client.post(url(), publish_data(material="false", change_note="Typo fixed."))
    assert flashes(response) == [views.MSG_PUBLISHED_MINOR.format(number=2)]
    assert Briefing.objects.get(number=2).material is False
    assert Notification.objects.count() == before
    body = client.get(url()).content.decode()
    assert "Typo fixed." in body and "Version history" in body


def test_ops_leader_publishes(client, workflow, ops_leader, briefing):
    client.force_login(ops_leader)
    response = client.post(url(), publish_data())
    assert response.status_code == 302
    assert Briefing.objects.filter(number=2, published_by=ops_leader).exists()


def test_an_empty_form_shows_the_errors_and_publishes_nothing(
    client, workflow, workflow_owner, briefing
):
    client.force_login(workflow_owner)
    response = client.post(url(), {"action": "publish"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Write what the AI does." in body
    assert "Choose whether the change is material or minor." in body
    assert Briefing.objects.count() == 1


def test_a_later_version_without_a_change_note_is_refused(
    client, workflow, workflow_owner, briefing
):
    client.force_login(workflow_owner)
    response = client.post(url(), publish_data(change_note=" "))
    assert response.status_code == 200
    assert "Say what changed since the last version" in response.content.decode()
    assert Briefing.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("change_note", "Bell\x07 rings"),
        ("change_note", "x" * 301),
        ("what_it_does", "x" * 8001),
        ("what_to_do", "NUL\x00 byte"),
        ("material", "perhaps"),
    ],
)
def test_bad_input_is_refused_with_a_message(
    client, workflow, workflow_owner, briefing, field, value
):
    client.force_login(workflow_owner)
    notifications = Notification.objects.count()
    response = client.post(url(), publish_data(**{field: value}))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors[field]
    assert Briefing.objects.count() == 1
    assert Notification.objects.count() == notifications


def test_member_cannot_publish(client, workflow, member, briefing):
    client.force_login(member)
    assert client.post(url(), publish_data()).status_code == 404
    assert Briefing.objects.count() == 1


# --- Acknowledging ------------------------------------------------------------------------------


def test_member_acknowledges_once(client, workflow, member, briefing):
    client.force_login(member)
    response = client.post(url(), {"action": "acknowledge", "briefing": briefing.pk})
    assert response.status_code == 302
    assert response["Location"] == f"{url()}#acknowledgement"
    assert flashes(response) == [views.MSG_ACKNOWLEDGED.format(number=1)]
    ack = BriefingAcknowledgement.objects.get()
    body = client.get(url()).content.decode()
    assert f"You acknowledged version 1 on {ack.at:%-d %B %Y}." in body
    assert "Acknowledge version" not in body
    again = client.post(url(), {"action": "acknowledge", "briefing": briefing.pk})
    assert flashes(again) == [views.MSG_ALREADY.format(number=1)]
    assert BriefingAcknowledgement.objects.count() == 1
    assert ActivityEntry.objects.filter(verb="acknowledged").count() == 1


@pytest.mark.parametrize("raw", ["", "abc", "999999", "other"])
def test_a_bad_version_id_changes_nothing(
    client, workflow, workflow_owner, ops_leader, member, briefing, raw
):
    if raw == "other":
        other = make_workflow(owner=workflow_owner, actor=ops_leader, name="Other", slug="other")
        raw = str(
            briefing_publish(workflow=other, actor=workflow_owner, text=TEXT, material=True).pk
        )
    client.force_login(member)
    response = client.post(url(), {"action": "acknowledge", "briefing": raw})
    assert response.status_code == 302
    assert flashes(response) == [views.MSG_NO_SUCH_VERSION]
    assert not BriefingAcknowledgement.objects.exists()


def test_acknowledging_an_old_version_is_refused(
    client, workflow, workflow_owner, member, briefing
):
    briefing_publish(
        workflow=workflow, actor=workflow_owner, text=TEXT, material=False, change_note="Typo."
    )
    client.force_login(member)
    response = client.post(url(), {"action": "acknowledge", "briefing": briefing.pk})
    assert flashes(response) == ["Version 1 is no longer the current briefing: read version 2."]
    assert not BriefingAcknowledgement.objects.exists()


def test_after_a_material_version_the_member_sees_the_grace_period(
    client, workflow, workflow_owner, member, briefing
):
    briefing_acknowledge(briefing=briefing, user=member)
    briefing_publish(
        workflow=workflow, actor=workflow_owner, text=TEXT, material=True, change_note="New risk."
    )
    client.force_login(member)
    body = client.get(url()).content.decode()
    assert "Version 2 changed what you need to know: New risk." in body
    assert "You acknowledged version 1; you keep your access until" in body
    assert "Acknowledge version 2" in body


def test_unknown_action(client, workflow, member, briefing):
    client.force_login(member)
    response = client.post(url(), {"action": "delete"})
    assert response.status_code == 302
    assert flashes(response) == [views.MSG_UNKNOWN_ACTION]


# --- Coverage for the owner, here and on the cohorts page ----------------------------------------


def test_owner_sees_who_has_not_acknowledged(
    client, workflow, workflow_owner, ops_leader, member, briefing, django_assert_max_num_queries
):
    others = UserFactory.create_batch(3)
    cohort = workflow.cohorts.get()
    cohort_svc.cohort_members_add(cohort=cohort, users=others, actor=ops_leader)
    for user in (member, *others[:2]):
        briefing_acknowledge(briefing=briefing, user=user)
    client.force_login(workflow_owner)
    with django_assert_max_num_queries(20):
        body = client.get(url()).content.decode()
    assert "3 of 4 members (75%) · target 90%" in body
    assert "Below target" in body
    assert str(others[2]) in body
    cohorts_page = client.get(reverse("workflow_cohorts", args=[workflow.slug])).content.decode()
    assert "Briefing v1: 3 of 4 active members acknowledged" in cohorts_page
    assert "75%" in cohorts_page and f"not yet: {others[2]}" in cohorts_page


def test_cohorts_page_before_any_briefing(client, workflow, workflow_owner, member):
    client.force_login(workflow_owner)
    body = client.get(reverse("workflow_cohorts", args=[workflow.slug])).content.decode()
    assert "No failure-mode briefing published yet: briefing coverage 0%." in body


def test_the_overview_asks_a_member_to_read_it_until_they_have(client, workflow, member, briefing):
    overview = reverse("workflow_overview", args=[workflow.slug])
    client.force_login(member)
    body = client.get(overview).content.decode()
    assert "Read the failure-mode briefing" in body and f'href="{url()}"' in body
    briefing_acknowledge(briefing=briefing, user=member)
    assert "Read the failure-mode briefing" not in client.get(overview).content.decode()


def test_the_overview_asks_nobody_outside_the_cohorts(client, workflow, workflow_owner, briefing):
    client.force_login(workflow_owner)
    overview = reverse("workflow_overview", args=[workflow.slug])
    assert "Read the failure-mode briefing" not in client.get(overview).content.decode()

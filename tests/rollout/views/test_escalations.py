"""The escalations on the workflow's escalation page, one escalation's page and its actions."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from rollout.models import ActivityEntry, Escalation, EscalationEvent, Workflow
from rollout.services import escalations as svc
from rollout.services.escalation_path import escalation_level_add
from rollout.views import escalation_path as path_views
from rollout.views import escalations as views
from tests.factories import UserFactory
from tests.rollout.views.conftest import as_user, login_redirect, template_names

PAGE = "rollout/escalation_detail.html"
PANEL = "escalation-panel"  # a partial is named by itself
HTMX = {"HX-Request": "true"}


def detail_url(escalation: Escalation) -> str:
    return reverse(
        "escalation_detail",
        kwargs={"slug": escalation.workflow.slug, "escalation_id": escalation.pk},
    )


def path_url(workflow: Workflow) -> str:
    return reverse("escalation_path", kwargs={"slug": workflow.slug})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def contact(db):
    return UserFactory(email="cara@example.com", display_name="Cara Contact")


@pytest.fixture
def deputy(db):
    return UserFactory(email="dan@example.com", display_name="Dan Deputy")


@pytest.fixture
def path(workflow, ops_leader, contact, deputy) -> Workflow:
    for person, target in ((contact, 30), (deputy, 60)):
        escalation_level_add(
            workflow=workflow,
            actor=ops_leader,
            contact=person,
            channel="in_app",
            response_target_minutes=target,
        )
    return workflow


@pytest.fixture
def escalation(path, workflow_owner) -> Escalation:
    return svc.escalation_open(
        workflow=path,
        title="Replies promise refunds",
        source="manual",
        severity="critical",
        actor=workflow_owner,
        description="Three customers were promised refunds.",
    )


def post(client, escalation, action: str, **data):
    return client.post(detail_url(escalation), {"action": action, **data})


# --- who sees what ----------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, escalation):
    url = detail_url(escalation)
    assert client.get(url)["Location"] == login_redirect(url)
    assert client.post(url, {"action": "acknowledge"})["Location"] == login_redirect(url)
    assert Escalation.objects.get().status == "open"


def test_no_role_gets_404_everywhere(client, other_user, escalation):
    client.force_login(other_user)
    events = EscalationEvent.objects.count()
    assert client.get(detail_url(escalation)).status_code == 404
    for action, data in (
        ("acknowledge", {}),
        ("resolve", {"resolve-note": "x"}),
        ("note", {"note-note": "x"}),
    ):
        assert post(client, escalation, action, **data).status_code == 404
    assert client.post(path_url(escalation.workflow), {"action": "open"}).status_code == 404
    assert EscalationEvent.objects.count() == events


def test_an_escalation_of_another_workflow_is_a_404(client, ops_leader, escalation):
    client.force_login(ops_leader)
    url = reverse("escalation_detail", kwargs={"slug": "other", "escalation_id": escalation.pk})
    assert client.get(url).status_code == 404
    from tests.factories import make_workflow

    other = make_workflow(actor=ops_leader, slug="other-one")
    url = reverse("escalation_detail", kwargs={"slug": other.slug, "escalation_id": escalation.pk})
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("role", "acts"),
    [("ops_leader", True), ("workflow_owner", True), ("contact", True), ("executive", False)],
)
def test_every_viewer_reads_the_page_and_only_actors_get_the_actions(
    request, escalation, role, acts, django_assert_max_num_queries
):
    client = as_user(request.getfixturevalue(role))
    with django_assert_max_num_queries(16):
        response = client.get(detail_url(escalation))
    assert response.status_code == 200
    assert template_names(response)[0] == PAGE
    html = response.content.decode()
    assert "Replies promise refunds" in html
    assert "Three customers were promised refunds." in html
    assert "Level 1 notified</strong>: Cara Contact" in html
    assert ("Acknowledge</button>" in html) is acts
    assert ('name="resolve-note"' in html) is acts


def test_the_executive_cannot_post(executive, escalation):
    response = post(as_user(executive), escalation, "acknowledge")
    assert response.status_code == 404
    assert Escalation.objects.get().status == "open"


def test_a_contact_not_yet_reached_reads_but_cannot_act(deputy, escalation):
    client = as_user(deputy)
    assert client.get(detail_url(escalation)).status_code == 200
    assert "Acknowledge</button>" not in client.get(detail_url(escalation)).content.decode()
    assert post(client, escalation, "acknowledge").status_code == 404


def test_queries_stay_bounded_with_many_escalations(
    client, ops_leader, path, django_assert_max_num_queries
):
    for n in range(6):
        e = svc.escalation_open(workflow=path, title=f"Problem {n}", source="manual")
        svc.escalation_add_note(escalation=e, actor=ops_leader, note="Looking")
        if n % 2:
            svc.escalation_resolve(escalation=e, actor=ops_leader, note="Fixed")
    client.force_login(ops_leader)
    with django_assert_max_num_queries(16):
        response = client.get(path_url(path))
    assert response.status_code == 200
    assert response.content.decode().count('class="escalation-item') == 6


# --- the list on the escalation page ------------------------------------------------------------


def test_the_escalation_page_lists_open_and_past_with_their_timelines(
    client, ops_leader, escalation, path
):
    past = svc.escalation_open(workflow=path, title="Slow replies", source="manual")
    svc.escalation_resolve(escalation=past, actor=ops_leader, note="Cache warmed.")
    client.force_login(ops_leader)
    html = client.get(path_url(path)).content.decode()
    open_part, _, rest = html.partition('id="path-heading"')
    assert "Replies promise refunds" in open_part
    assert "Critical severity" in open_part
    assert "With Cara Contact; it escalates further at" in open_part
    assert "Slow replies" in rest and "Cache warmed." in rest
    assert detail_url(escalation) in html and detail_url(past) in html


def test_no_escalations_says_so(client, ops_leader, path):
    client.force_login(ops_leader)
    assert "No open escalations." in client.get(path_url(path)).content.decode()


# --- opening by hand ----------------------------------------------------------------------------


def test_the_owner_opens_one_by_hand(client, workflow_owner, path, contact):
    client.force_login(workflow_owner)
    response = client.post(
        path_url(path),
        {"action": "open", "open-title": "Wrong totals", "open-severity": "high"},
    )
    escalation = Escalation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(escalation)
    assert (escalation.source, escalation.severity, escalation.opened_by) == (
        "manual",
        "high",
        workflow_owner,
    )
    assert messages_of(response) == [
        path_views.MSG_ESCALATION_OPENED.format(
            who=path_views.MSG_WHO_NOTIFIED.format(contact=contact)
        )
    ]


def test_opening_without_a_title_shows_the_error_and_opens_nothing(client, ops_leader, path):
    client.force_login(ops_leader)
    response = client.post(path_url(path), {"action": "open", "open-severity": "high"})
    assert response.status_code == 200
    assert svc.MSG_TITLE_REQUIRED in response.content.decode()
    assert Escalation.objects.count() == 0


@pytest.mark.parametrize("role", ["executive", "contact"])
def test_executives_and_contacts_cannot_open_one(request, path, role):
    client = as_user(request.getfixturevalue(role))
    response = client.post(path_url(path), {"action": "open", "open-title": "X"})
    assert response.status_code == 404
    assert Escalation.objects.count() == 0


# --- actions ------------------------------------------------------------------------------------


def test_the_contact_acknowledges_without_javascript(contact, escalation):
    client = as_user(contact)
    response = post(client, escalation, "acknowledge")
    assert response.status_code == 302
    assert response["Location"] == detail_url(escalation)
    assert messages_of(response) == [views.MSG_ACKNOWLEDGED]
    escalation.refresh_from_db()
    assert (escalation.status, escalation.acknowledged_by) == ("acknowledged", contact)


def test_acknowledging_with_htmx_returns_the_fresh_panel(contact, escalation):
    response = as_user(contact).post(
        detail_url(escalation), {"action": "acknowledge"}, headers=HTMX
    )
    assert response.status_code == 200
    assert template_names(response)[0] == PANEL
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="escalation-panel"')
    assert views.MSG_ACKNOWLEDGED in html
    assert "Acknowledged</strong> by Cara Contact" in html
    assert "Acknowledge</button>" not in html


def test_acknowledging_twice_shows_why_not(contact, escalation):
    client = as_user(contact)
    post(client, escalation, "acknowledge")
    response = client.post(detail_url(escalation), {"action": "acknowledge"}, headers=HTMX)
    assert response.status_code == 200
    assert svc.MSG_NOT_OPEN in response.content.decode()


def test_resolving_without_a_note_keeps_it_open(contact, escalation):
    response = post(as_user(contact), escalation, "resolve", **{"resolve-note": "  "})
    assert response.status_code == 200
    assert template_names(response)[0] == PAGE
    assert svc.MSG_NOTE_REQUIRED in response.content.decode()
    assert Escalation.objects.get().status == "open"


def test_resolving_with_a_note(contact, escalation):
    response = post(
        as_user(contact), escalation, "resolve", **{"resolve-note": "Prompt rolled back."}
    )
    assert messages_of(response) == [views.MSG_RESOLVED]
    escalation.refresh_from_db()
    assert (escalation.status, escalation.resolution_note) == ("resolved", "Prompt rolled back.")
    assert ActivityEntry.objects.filter(verb="resolved escalation", actor=contact).count() == 1


def test_reassigning_and_its_refusal(contact, deputy, other_user, escalation):
    client = as_user(contact)
    response = post(
        client, escalation, "reassign", **{"reassign-contact": other_user.pk, "reassign-note": ""}
    )
    assert response.status_code == 200
    assert svc.MSG_CONTACT_NO_ACCESS.format(contact=other_user) in response.content.decode()
    response = post(
        client, escalation, "reassign", **{"reassign-contact": deputy.pk, "reassign-note": "On it"}
    )
    assert messages_of(response) == [views.MSG_REASSIGNED.format(contact=deputy)]
    assert Escalation.objects.get().current_contact == deputy


def test_without_javascript_the_new_contact_is_typed_by_address(contact, deputy, escalation):
    response = post(
        as_user(contact),
        escalation,
        "reassign",
        **{"reassign-contact_text": deputy.email.upper(), "reassign-note": ""},
    )
    assert messages_of(response) == [views.MSG_REASSIGNED.format(contact=deputy)]
    assert Escalation.objects.get().current_contact == deputy


def test_adding_a_note_with_htmx(contact, escalation):
    response = as_user(contact).post(
        detail_url(escalation), {"action": "note", "note-note": "Called the vendor."}, headers=HTMX
    )
    assert template_names(response)[0] == PANEL
    assert "Called the vendor." in response.content.decode()
    assert escalation.events.filter(kind="note", actor=contact).count() == 1


def test_an_unknown_action_is_a_bad_request(contact, escalation):
    assert post(as_user(contact), escalation, "explode").status_code == 400


def test_the_page_shows_when_the_next_level_is_due_and_catch_up_notes(ops_leader, escalation):
    svc.escalations_advance(now=timezone.now() + timedelta(minutes=45))
    html = as_user(ops_leader).get(detail_url(escalation)).content.decode()
    assert "Level 2 notified</strong>: Dan Deputy" in html
    assert "Was due" in html


# --- from an escalation to an incident -----------------------------------------------------------


def incidents_url(escalation: Escalation) -> str:
    url = reverse("workflow_incidents", kwargs={"slug": escalation.workflow.slug})
    return f"{url}?escalation={escalation.pk}"


@pytest.mark.parametrize(
    ("role", "opens"),
    [("ops_leader", True), ("workflow_owner", True), ("contact", False), ("executive", False)],
)
def test_the_owner_and_ops_leaders_may_open_an_incident_from_it(request, escalation, role, opens):
    html = as_user(request.getfixturevalue(role)).get(detail_url(escalation)).content.decode()

    assert (f'href="{incidents_url(escalation)}">Open an incident</a>' in html) is opens
    assert "<dt>Incident</dt>" not in html


def test_once_an_incident_is_opened_from_it_the_page_links_the_incident(
    client, workflow_owner, escalation
):
    from rollout.services import incidents as incident_services

    client.force_login(workflow_owner)
    # Follow the page's link: the incidents page starts from the escalation and links them.
    response = client.get(incidents_url(escalation))
    assert "From the escalation “Replies promise refunds”" in response.content.decode()
    incident = incident_services.incident_open(
        workflow=escalation.workflow,
        actor=workflow_owner,
        title="Refund promises <b>reached customers</b>",
        started_at=timezone.now() - timedelta(hours=2),
        escalation=escalation,
    )

    html = client.get(detail_url(escalation)).content.decode()

    incident_url = reverse(
        "incident_detail", kwargs={"slug": escalation.workflow.slug, "incident_id": incident.pk}
    )
    assert "<dt>Incident</dt>" in html
    assert (
        f'<a href="{incident_url}">Refund promises &lt;b&gt;reached customers&lt;/b&gt;</a>' in html
    )
    assert '<span class="badge badge-danger">Open</span>' in html
    assert "Open an incident</a>" not in html


def test_the_linked_incident_costs_no_extra_query(
    workflow_owner, escalation, django_assert_max_num_queries
):
    from rollout.services import incidents as incident_services

    incident_services.incident_open(
        workflow=escalation.workflow,
        actor=workflow_owner,
        title="Refund promises",
        started_at=timezone.now() - timedelta(hours=2),
        escalation=escalation,
    )
    client = as_user(workflow_owner)
    # The same bound as without an incident: it comes with the escalation's own query.
    with django_assert_max_num_queries(16):
        response = client.get(detail_url(escalation))
    assert "<dt>Incident</dt>" in response.content.decode()

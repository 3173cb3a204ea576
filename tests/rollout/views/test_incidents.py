"""The incidents pages for every role, with and without htmx, and their query bounds; the
incident callout on the overview and the open-incident flag in the portfolio."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from rollout.models import ActivityEntry, Cohort, Escalation, Incident, IncidentUpdate, Workflow
from rollout.services import incidents as svc
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.escalation_path import escalation_level_add
from rollout.views import incidents as views
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import as_user, login_redirect, template_names

pytestmark = pytest.mark.django_db

LIST = "rollout/workflow_incidents.html"
DETAIL = "rollout/incident_detail.html"
STARTED = datetime(2026, 3, 3, 14, 5, tzinfo=UTC)
HTMX = {"HX-Request": "true"}
OPEN_FORM = {
    "incident-title": "Replies promised refunds",
    "incident-started_at": "2026-03-03T14:05",
    "incident-detected_by": "A customer complaint",
    "incident-severity": "high",
    "incident-impact": "About 40 replies offered refunds.",
}
CLOSE_FORM = {
    "action": "close",
    "close-what_happened": "A prompt change made the model offer refunds.",
    "close-what_changed": "We rolled the prompt back and added a refund check.",
}


def list_url(workflow: Workflow) -> str:
    return reverse("workflow_incidents", kwargs={"slug": workflow.slug})


def detail_url(incident: Incident) -> str:
    return reverse(
        "incident_detail", kwargs={"slug": incident.workflow.slug, "incident_id": incident.pk}
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def eu(workflow: Workflow, workflow_owner: User) -> Cohort:
    return cohort_create(workflow=workflow, name="EU agents", actor=workflow_owner)


@pytest.fixture
def member(workflow_owner: User, eu: Cohort) -> User:
    person = UserFactory(email="amy@example.com", display_name="Amy Agent")
    cohort_members_add(cohort=eu, users=[person], actor=workflow_owner)
    return person


@pytest.fixture
def contact(workflow: Workflow, workflow_owner: User) -> User:
    person = UserFactory(email="carl@example.com", display_name="Carl Contact")
    escalation_level_add(
        workflow=workflow,
        actor=workflow_owner,
        contact=person,
        channel="email",
        response_target_minutes=30,
    )
    return person


@pytest.fixture
def incident(workflow: Workflow, workflow_owner: User, eu: Cohort) -> Incident:
    return svc.incident_open(
        workflow=workflow,
        actor=workflow_owner,
        title="Replies promised refunds",
        started_at=STARTED,
        impact="About 40 replies offered refunds.",
        cohorts=[eu],
    )


def closed(incident: Incident, actor: User) -> Incident:
    return svc.incident_close(
        incident=incident,
        actor=actor,
        what_happened="A prompt change made the model offer refunds.",
        what_changed="We rolled the prompt back and added a refund check.",
    )


# --- Who sees what --------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, workflow, incident):
    for path in (list_url(workflow), detail_url(incident)):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, login_redirect(path))
    assert client.post(list_url(workflow), OPEN_FORM).status_code == 302
    assert Incident.objects.count() == 1


def test_an_unrelated_user_gets_404_everywhere(workflow, incident, other_user):
    client = as_user(other_user)
    assert client.get(list_url(workflow)).status_code == 404
    assert client.get(detail_url(incident)).status_code == 404
    assert client.post(list_url(workflow), OPEN_FORM).status_code == 404
    assert client.post(detail_url(incident), CLOSE_FORM).status_code == 404
    incident.refresh_from_db()
    assert (Incident.objects.count(), incident.status) == (1, "open")


@pytest.mark.parametrize("role", ["workflow_owner", "ops_leader"])
def test_owner_and_ops_see_the_list_with_the_open_form(request, workflow, incident, role):
    closed_one = closed(
        svc.incident_open(
            workflow=workflow,
            actor=request.getfixturevalue("ops_leader"),
            title="Old",
            started_at=STARTED - timedelta(days=30),
        ),
        request.getfixturevalue("ops_leader"),
    )
    response = as_user(request.getfixturevalue(role)).get(list_url(workflow))
    assert response.status_code == 200
    assert template_names(response)[0] == LIST
    assert [i.pk for i in response.context["incidents"]] == [incident.pk, closed_one.pk]
    html = response.content.decode()
    assert "Open an incident" in html
    assert f'href="{detail_url(incident)}">Replies promised refunds</a>' in html
    assert '<span class="badge badge-danger">Open</span>' in html
    assert "Affected: EU agents" in html
    assert 'aria-current="page">Incidents</a>' in html


@pytest.mark.parametrize("role", ["executive", "contact"])
def test_executives_and_escalation_contacts_read_without_acting(request, workflow, incident, role):
    client = as_user(request.getfixturevalue(role))
    response = client.get(list_url(workflow))
    assert response.status_code == 200
    assert response.context["form"] is None
    assert "Open an incident" not in response.content.decode()
    response = client.get(detail_url(incident))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Timeline" in html and "Close the incident" not in html and "Edit details" not in html
    assert client.post(list_url(workflow), OPEN_FORM).status_code == 404
    assert client.post(detail_url(incident), CLOSE_FORM).status_code == 404
    assert Incident.objects.get().status == "open"


def test_a_member_reads_only_closed_incidents_of_their_cohorts(
    workflow, workflow_owner, incident, member
):
    uk = cohort_create(workflow=workflow, name="UK agents", actor=workflow_owner)
    other = closed(
        svc.incident_open(
            workflow=workflow,
            actor=workflow_owner,
            title="UK only",
            started_at=STARTED,
            cohorts=[uk],
        ),
        workflow_owner,
    )
    client = as_user(member)
    response = client.get(list_url(workflow))
    assert response.status_code == 200
    assert response.context["incidents"] == []
    assert "No incidents have affected your cohorts." in response.content.decode()
    assert client.get(detail_url(incident)).status_code == 404  # still open
    assert client.get(detail_url(other)).status_code == 404  # another cohort's

    closed(incident, workflow_owner)
    response = client.get(list_url(workflow))
    assert [i.pk for i in response.context["incidents"]] == [incident.pk]
    response = client.get(detail_url(incident))
    assert response.status_code == 200
    html = response.content.decode()
    assert "A prompt change made the model offer refunds." in html
    assert "We rolled the prompt back and added a refund check." in html
    # The explanation, not the internal workings: no timeline, no draft, no actions.
    for internal in ("Timeline", "Draft notice", "Detected by", "Edit details", "severity"):
        assert internal not in html
    assert (
        client.post(detail_url(incident), {"action": "entry", "entry-text": "x"}).status_code == 404
    )


def test_an_incident_of_another_workflow_is_404(workflow, ops_leader, incident):
    other = make_workflow(actor=ops_leader, name="Invoice coding", slug="invoice-coding")
    path = reverse("incident_detail", kwargs={"slug": other.slug, "incident_id": incident.pk})
    assert as_user(ops_leader).get(path).status_code == 404
    response = as_user(ops_leader).post(path, CLOSE_FORM)
    assert response.status_code == 404
    assert Incident.objects.get().status == "open"


# --- Opening ------------------------------------------------------------------------------------


def test_owner_opens_an_incident_with_a_plain_post(workflow, workflow_owner, eu):
    response = as_user(workflow_owner).post(
        list_url(workflow), {**OPEN_FORM, "incident-cohorts": [eu.pk]}
    )
    incident = Incident.objects.get()
    assert (response.status_code, response["Location"]) == (302, detail_url(incident))
    assert messages_of(response) == [views.MSG_OPENED.format(title="Replies promised refunds")]
    assert (incident.opened_by, list(incident.cohorts.all())) == (workflow_owner, [eu])
    assert incident.started_at == STARTED


def test_opening_with_htmx_redirects_the_client(workflow, ops_leader):
    response = as_user(ops_leader).post(list_url(workflow), OPEN_FORM, headers=HTMX)
    incident = Incident.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == detail_url(incident)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"incident-title": ""}, svc.MSG_TITLE_REQUIRED),
        (
            {"incident-title": "x" * 201},
            "Ensure this value has at most 200 characters (it has 201).",
        ),
        ({"incident-started_at": "2999-01-01T00:00"}, svc.MSG_STARTED_IN_FUTURE),
    ],
)
def test_bad_input_reshows_the_form_and_stores_nothing(workflow, workflow_owner, change, error):
    client = as_user(workflow_owner)
    response = client.post(list_url(workflow), {**OPEN_FORM, **change})
    assert response.status_code == 200
    assert template_names(response)[0] == LIST
    assert error in response.content.decode()
    response = client.post(list_url(workflow), {**OPEN_FORM, **change}, headers=HTMX)
    assert template_names(response)[0] == "incident-open-form"
    assert error in response.content.decode()
    assert not Incident.objects.exists()


def test_opening_from_an_escalation_prefills_and_links(workflow, workflow_owner):
    escalation = Escalation.objects.create(
        workflow=workflow,
        title="Refund promises",
        description="Three agents reported it.",
        source="feedback",
        severity="critical",
    )
    client = as_user(workflow_owner)
    response = client.get(list_url(workflow), {"escalation": escalation.pk})
    form = response.context["form"]
    assert (form["title"].value(), form["severity"].value()) == ("Refund promises", "critical")
    assert "From the escalation “Refund promises”" in response.content.decode()
    client.post(list_url(workflow), {**OPEN_FORM, "escalation": escalation.pk})
    escalation.refresh_from_db()
    assert escalation.incident == Incident.objects.get()


# --- The incident page: timeline, details, close -------------------------------------------


def test_owner_sees_the_forms_on_an_open_incident(workflow_owner, incident):
    response = as_user(workflow_owner).get(detail_url(incident))
    assert response.status_code == 200
    assert template_names(response)[0] == DETAIL
    html = response.content.decode()
    for text in ("Add to timeline", "Edit details", "Close and publish the explanation"):
        assert text in html
    assert "Both answers go into the explanation to EU agents" in html
    assert "Explanation to" not in html


def test_adding_a_timeline_entry(workflow_owner, incident):
    client = as_user(workflow_owner)
    response = client.post(
        detail_url(incident), {"action": "entry", "entry-text": "Prompt rolled back."}
    )
    assert (response.status_code, response["Location"]) == (302, detail_url(incident))
    assert messages_of(response) == [views.MSG_ENTRY_ADDED]
    response = client.post(
        detail_url(incident), {"action": "entry", "entry-text": "Monitoring."}, headers=HTMX
    )
    assert template_names(response)[0] == "incident-body"
    html = response.content.decode()
    assert views.MSG_ENTRY_ADDED in html
    assert "Prompt rolled back." in html and "Monitoring." in html
    assert list(IncidentUpdate.objects.values_list("text", flat=True)) == [
        "Prompt rolled back.",
        "Monitoring.",
    ]


def test_a_bad_timeline_entry_shows_the_error(workflow_owner, incident):
    response = as_user(workflow_owner).post(
        detail_url(incident),
        {"action": "entry", "entry-text": "Earlier", "entry-at": "2026-03-01T00:00"},
        headers=HTMX,
    )
    assert template_names(response)[0] == "incident-body"
    assert escape(svc.MSG_ENTRY_BEFORE_START) in response.content.decode()
    assert not IncidentUpdate.objects.exists()


def test_correcting_the_details(workflow_owner, incident, eu):
    client = as_user(workflow_owner)
    form = {
        "action": "details",
        "incident-title": "Refund promises",
        "incident-started_at": "2026-03-03T14:05",
        "incident-severity": "critical",
        "incident-impact": "About 40 replies offered refunds.",
        "incident-cohorts": [eu.pk],
    }
    response = client.post(detail_url(incident), form)
    assert messages_of(response) == [views.MSG_DETAILS_SAVED]
    incident.refresh_from_db()
    assert (incident.title, incident.severity) == ("Refund promises", "critical")
    response = client.post(detail_url(incident), form)
    assert messages_of(response)[-1] == views.MSG_DETAILS_UNCHANGED
    response = client.post(detail_url(incident), {**form, "incident-title": ""}, headers=HTMX)
    html = response.content.decode()
    assert svc.MSG_TITLE_REQUIRED in html
    assert '<details class="incident-edit" open>' in html


def test_closing_shows_the_published_notice(workflow_owner, incident):
    client = as_user(workflow_owner)
    response = client.post(detail_url(incident), CLOSE_FORM, headers=HTMX)
    assert template_names(response)[0] == "incident-body"
    html = response.content.decode()
    assert views.MSG_CLOSED.format(audience="EU agents") in html
    assert '<h3 id="notice-heading">Explanation to EU agents</h3>' in html
    assert "Marked urgent and sent without approval, as every incident explanation is." in html
    assert "See who has read it" in html
    assert "What happened with Support reply drafting on 3 March 2026, and what we changed" in html
    assert "Close and publish the explanation" not in html and "Add to timeline" not in html
    incident.refresh_from_db()
    assert (incident.status, incident.closed_by) == ("closed", workflow_owner)


def test_closing_without_the_answers_changes_nothing(workflow_owner, incident):
    client = as_user(workflow_owner)
    response = client.post(detail_url(incident), {"action": "close"})
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(svc.MSG_WHAT_HAPPENED_REQUIRED) in html
    assert escape(svc.MSG_WHAT_CHANGED_REQUIRED) in html
    incident.refresh_from_db()
    assert (incident.status, incident.notice_body) == ("open", "")
    assert not ActivityEntry.objects.filter(verb="closed incident").exists()


def test_closing_twice_says_so(workflow_owner, ops_leader, incident):
    closed(incident, workflow_owner)
    response = as_user(ops_leader).post(detail_url(incident), CLOSE_FORM, headers=HTMX)
    assert response.status_code == 200
    # The page is re-rendered as it is now: closed, without forms, with the draft.
    html = response.content.decode()
    assert "Explanation to EU agents" in html
    assert "Close and publish the explanation" not in html


def test_an_unknown_action_is_a_bad_request(workflow_owner, incident):
    response = as_user(workflow_owner).post(detail_url(incident), {"action": "delete"})
    assert (response.status_code, response.content.decode()) == (400, views.MSG_UNKNOWN_ACTION)


def test_an_executive_sees_the_draft_of_a_closed_incident(executive, workflow_owner, incident):
    closed(incident, workflow_owner)
    html = as_user(executive).get(detail_url(incident)).content.decode()
    assert "Explanation to EU agents" in html


# --- Overview, portfolio, query bounds -----------------------------------------------------------


def test_the_overview_shows_open_incidents(workflow, workflow_owner, incident, member):
    html = as_user(workflow_owner).get(workflow.get_absolute_url()).content.decode()
    assert '<h2 id="open-incidents-heading">Open incident</h2>' in html
    assert f'<a href="{detail_url(incident)}">Replies promised refunds</a>' in html
    # Members are not shown incidents still being worked on.
    html = as_user(member).get(workflow.get_absolute_url()).content.decode()
    assert "open-incidents-heading" not in html
    closed(incident, workflow_owner)
    html = as_user(workflow_owner).get(workflow.get_absolute_url()).content.decode()
    assert "open-incidents-heading" not in html


def test_the_portfolio_flags_open_incidents(
    django_assert_max_num_queries, workflow, ops_leader, incident
):
    for n in range(5):
        other = make_workflow(actor=ops_leader, name=f"Other {n}", slug=f"other-{n}")
        for _ in range(2):
            svc.incident_open(workflow=other, actor=ops_leader, title="x", started_at=STARTED)
    client = as_user(ops_leader)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("workflow_portfolio"))
    html = response.content.decode()
    assert f'href="{list_url(workflow)}">1 open incident</a>' in html
    assert html.count(">2 open incidents</a>") == 5


def test_the_pages_use_a_bounded_number_of_queries(
    django_assert_max_num_queries, workflow, workflow_owner, eu
):
    for n in range(20):
        incident = svc.incident_open(
            workflow=workflow,
            actor=workflow_owner,
            title=f"Incident {n}",
            started_at=STARTED,
            cohorts=[eu],
        )
        for m in range(5):
            svc.incident_update_add(incident=incident, actor=workflow_owner, text=f"Entry {m}")
    client = as_user(workflow_owner)
    with django_assert_max_num_queries(10):
        assert client.get(list_url(workflow)).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(detail_url(incident)).status_code == 200
    assert timezone.now() > incident.started_at


def test_posting_an_update_to_the_affected_cohorts(workflow_owner, incident, member):
    from rollout.models import ChangeNotice, NoticeKind

    client = as_user(workflow_owner)
    html = client.get(detail_url(incident)).content.decode()
    assert "Also post it to the people affected" in html
    response = client.post(
        detail_url(incident),
        {"action": "entry", "entry-text": "Cause found.", "entry-publish": "on"},
        headers=HTMX,
    )
    assert views.MSG_ENTRY_POSTED.format(audience="EU agents") in response.content.decode()
    notice = ChangeNotice.objects.get(incident=incident)
    assert (notice.kind, notice.status) == (NoticeKind.INCIDENT_UPDATE, "published")

"""Incidents: opening (by hand, from an escalation, on a breach), the timeline, corrections,
closing with the drafted explanation, and every refusal leaving nothing changed."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    Cohort,
    Escalation,
    Incident,
    IncidentUpdate,
    Workflow,
)
from rollout.selectors.incidents import (
    incident_get_for_user,
    incident_list_for_user,
    open_incident_counts,
)
from rollout.services import incidents as svc
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.evaluation import thresholds_evaluate_workflow
from tests.factories import UserFactory, make_workflow
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import errors_out_of, ingest, make_threshold

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 3, 3, 14, 5, tzinfo=UTC)


@pytest.fixture
def eu(workflow: Workflow, workflow_owner: User) -> Cohort:
    return cohort_create(workflow=workflow, name="EU agents", actor=workflow_owner)


@pytest.fixture
def uk(workflow: Workflow, workflow_owner: User) -> Cohort:
    return cohort_create(workflow=workflow, name="UK agents", actor=workflow_owner)


def open_incident(workflow: Workflow, actor: User, **fields) -> Incident:
    values = {
        "title": "Replies promised refunds",
        "started_at": STARTED,
        "detected_by": "A customer complaint",
        "impact": "About 40 replies offered refunds we do not give.",
        "severity": "high",
    }
    values.update(fields)
    return svc.incident_open(workflow=workflow, actor=actor, **values)


def refused(message: str, call, *args, **kwargs) -> None:
    with pytest.raises(ApplicationError) as exc:
        call(*args, **kwargs)
    assert exc.value.message == message


# --- Opening ------------------------------------------------------------------------------------


def test_the_owner_opens_an_incident(workflow, workflow_owner, eu, uk):
    incident = open_incident(workflow, workflow_owner, cohorts=[uk, eu])
    incident.refresh_from_db()
    assert (incident.title, incident.started_at, incident.status) == (
        "Replies promised refunds",
        STARTED,
        "open",
    )
    assert (incident.detected_by, incident.severity, incident.opened_by) == (
        "A customer complaint",
        "high",
        workflow_owner,
    )
    assert set(incident.cohorts.all()) == {eu, uk}
    entry = ActivityEntry.objects.get(workflow=workflow, verb="opened incident")
    assert (entry.actor, entry.target) == (workflow_owner, "Replies promised refunds")
    assert entry.changes == {"Cohorts affected": ["—", "EU agents and UK agents"]}


def test_an_ops_leader_opens_one_too(workflow, ops_leader):
    assert open_incident(workflow, ops_leader).opened_by == ops_leader


@pytest.mark.parametrize("role", ["executive", "other_user"])
def test_only_owner_and_ops_open_incidents(request, workflow, role):
    actor = request.getfixturevalue(role)
    refused(svc.MSG_NOT_ALLOWED, open_incident, workflow, actor)
    assert not Incident.objects.exists()


def test_the_system_opens_only_for_a_breach(workflow):
    refused(svc.MSG_NOT_ALLOWED, open_incident, workflow, None)
    assert not Incident.objects.exists()


def test_text_is_stripped(workflow, workflow_owner):
    incident = open_incident(workflow, workflow_owner, title="  Wrong refunds \n", impact=" x ")
    assert (incident.title, incident.impact) == ("Wrong refunds", "x")


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        ({"title": "  "}, svc.MSG_TITLE_REQUIRED, "title"),
        (
            {"title": "x" * 201},
            "The title is too long: 201 characters, at most 200.",
            "title",
        ),
        ({"started_at": None}, svc.MSG_STARTED_REQUIRED, "started_at"),
        (
            {"started_at": timezone.now() + timedelta(hours=1)},
            svc.MSG_STARTED_IN_FUTURE,
            "started_at",
        ),
        (
            {"detected_by": "x" * 201},
            "“Detected by” is too long: 201 characters, at most 200.",
            "detected_by",
        ),
        (
            {"impact": "x" * 4001},
            "The impact is too long: 4,001 characters, at most 4,000.",
            "impact",
        ),
        ({"severity": "apocalyptic"}, svc.MSG_BAD_SEVERITY, "severity"),
    ],
)
def test_bad_details_are_refused_and_nothing_is_stored(
    workflow, workflow_owner, fields, message, field
):
    with pytest.raises(ApplicationError) as exc:
        open_incident(workflow, workflow_owner, **fields)
    assert (exc.value.message, exc.value.field) == (message, field)
    assert not Incident.objects.exists()
    assert not ActivityEntry.objects.filter(verb="opened incident").exists()


def other_workflow(ops_leader: User) -> Workflow:
    return make_workflow(actor=ops_leader, name="Invoice coding", slug="invoice-coding")


def test_cohorts_of_another_workflow_are_refused(workflow, workflow_owner, ops_leader):
    elsewhere = cohort_create(workflow=other_workflow(ops_leader), name="AP", actor=ops_leader)
    refused(svc.MSG_COHORT_ELSEWHERE, open_incident, workflow, workflow_owner, cohorts=[elsewhere])
    assert not Incident.objects.exists()


def test_an_escalation_or_threshold_of_another_workflow_is_refused(
    workflow, workflow_owner, ops_leader
):
    elsewhere = other_workflow(ops_leader)
    escalation = Escalation.objects.create(workflow=elsewhere, title="Other", source="manual")
    threshold = make_threshold(elsewhere)
    refused(
        svc.MSG_ESCALATION_ELSEWHERE,
        open_incident,
        workflow,
        workflow_owner,
        escalation=escalation,
    )
    refused(
        svc.MSG_THRESHOLD_ELSEWHERE, open_incident, workflow, workflow_owner, threshold=threshold
    )
    assert not Incident.objects.exists()


def test_opened_from_an_escalation_links_it(workflow, workflow_owner):
    escalation = Escalation.objects.create(
        workflow=workflow, title="Refund promises", source="feedback"
    )
    incident = open_incident(workflow, workflow_owner, escalation=escalation)
    escalation.refresh_from_db()
    assert escalation.incident == incident
    entry = ActivityEntry.objects.get(verb="opened incident")
    assert entry.note == "Opened from the escalation “Refund promises”."


# --- Timeline and corrections -------------------------------------------------------------------


def test_timeline_entries(workflow, workflow_owner, ops_leader):
    incident = open_incident(workflow, workflow_owner)
    first = svc.incident_update_add(
        incident=incident, actor=workflow_owner, text=" Rolled the prompt back. ", at=STARTED
    )
    second = svc.incident_update_add(incident=incident, actor=ops_leader, text="Monitoring.")
    assert list(incident.updates.values_list("text", "author")) == [
        ("Rolled the prompt back.", workflow_owner.pk),
        ("Monitoring.", ops_leader.pk),
    ]
    assert first.at == STARTED
    assert timezone.now() - second.at < timedelta(seconds=5)
    entry = ActivityEntry.objects.filter(verb="added to the timeline of incident").first()
    assert (entry.target, entry.note) == ("Replies promised refunds", "Monitoring.")


@pytest.mark.parametrize(
    ("text", "at", "message"),
    [
        ("  ", None, svc.MSG_ENTRY_REQUIRED),
        ("x" * 4001, None, "The entry is too long: 4,001 characters, at most 4,000."),
        ("Later", timezone.now() + timedelta(hours=1), svc.MSG_ENTRY_IN_FUTURE),
        ("Before", STARTED - timedelta(minutes=1), svc.MSG_ENTRY_BEFORE_START),
    ],
)
def test_bad_timeline_entries_are_refused(workflow, workflow_owner, text, at, message):
    incident = open_incident(workflow, workflow_owner)
    refused(
        message, svc.incident_update_add, incident=incident, actor=workflow_owner, text=text, at=at
    )
    assert not IncidentUpdate.objects.exists()


@pytest.mark.parametrize("role", ["executive", "other_user"])
def test_only_owner_and_ops_add_to_the_timeline(request, workflow, workflow_owner, role):
    incident = open_incident(workflow, workflow_owner)
    actor = request.getfixturevalue(role)
    refused(svc.MSG_NOT_ALLOWED, svc.incident_update_add, incident=incident, actor=actor, text="Hi")
    assert not IncidentUpdate.objects.exists()


def details(incident: Incident, **fields) -> dict:
    values = {name: getattr(incident, name) for name in svc.DETAIL_FIELDS}
    values["cohorts"] = list(incident.cohorts.all())
    values.update(fields)
    return values


def test_details_are_corrected_and_recorded(workflow, workflow_owner, eu, uk):
    incident = open_incident(workflow, workflow_owner, cohorts=[eu])
    svc.incident_update_details(
        incident=incident,
        actor=workflow_owner,
        **details(incident, title="Refund promises", severity="critical", cohorts=[eu, uk]),
    )
    incident.refresh_from_db()
    assert (incident.title, incident.severity) == ("Refund promises", "critical")
    assert set(incident.cohorts.all()) == {eu, uk}
    entry = ActivityEntry.objects.get(verb="changed incident")
    assert entry.changes == {
        "Title": ["Replies promised refunds", "Refund promises"],
        "Severity": ["high", "critical"],
        "Cohorts affected": ["EU agents", "EU agents and UK agents"],
    }


def test_unchanged_details_record_nothing(workflow, workflow_owner):
    incident = open_incident(workflow, workflow_owner)
    svc.incident_update_details(incident=incident, actor=workflow_owner, **details(incident))
    assert not ActivityEntry.objects.filter(verb="changed incident").exists()


def test_bad_corrections_change_nothing(workflow, workflow_owner):
    incident = open_incident(workflow, workflow_owner)
    refused(
        svc.MSG_TITLE_REQUIRED,
        svc.incident_update_details,
        incident=incident,
        actor=workflow_owner,
        **details(incident, title="", impact="Changed"),
    )
    incident.refresh_from_db()
    assert incident.impact == "About 40 replies offered refunds we do not give."


# --- Closing --------------------------------------------------------------------------------------


def close(incident: Incident, actor: User, **fields) -> Incident:
    values = {
        "what_happened": "A prompt change made the model offer refunds.",
        "what_changed": "We rolled the prompt back and added a refund check.",
    }
    values.update(fields)
    return svc.incident_close(incident=incident, actor=actor, **values)


def when(value: datetime) -> str:
    return date_format(timezone.localtime(value), "j M Y, H:i T")


def test_closing_writes_the_explanation_to_the_affected_cohorts(workflow, workflow_owner, eu, uk):
    incident = open_incident(workflow, workflow_owner, cohorts=[uk, eu])
    entry = svc.incident_update_add(
        incident=incident,
        actor=workflow_owner,
        text="Prompt rolled back.",
        at=STARTED + timedelta(minutes=20),
    )
    incident = close(incident, workflow_owner)
    incident.refresh_from_db()
    assert (incident.status, incident.closed_by) == ("closed", workflow_owner)
    assert timezone.now() - incident.closed_at < timedelta(seconds=5)
    assert incident.what_happened == "A prompt change made the model offer refunds."
    assert incident.notice_title == (
        "What happened with Support reply drafting on 3 March 2026, and what we changed"
    )
    assert incident.notice_body == (
        "To EU agents and UK agents,\n\n"
        "This explains a problem with “Support reply drafting” that affected you, and what we "
        "changed.\n\n"
        "## What happened\n\nA prompt change made the model offer refunds.\n\n"
        "## Who and what was affected\n\nAbout 40 replies offered refunds we do not give.\n\n"
        "## Timeline\n\n"
        "- 3 Mar 2026, 14:05 UTC: the problem began (Replies promised refunds).\n"
        f"- {when(entry.at)}: Prompt rolled back.\n"
        f"- {when(incident.closed_at)}: resolved, and this incident closed.\n\n"
        "## What we changed\n\nWe rolled the prompt back and added a refund check.\n\n"
        "If you have questions, contact Owen Owner, who owns this workflow."
    )
    entry = ActivityEntry.objects.get(verb="closed incident")
    assert entry.note == "Explanation published to EU agents and UK agents."


def test_without_cohorts_the_explanation_is_for_everyone(workflow, workflow_owner):
    incident = close(open_incident(workflow, workflow_owner, impact=""), workflow_owner)
    assert incident.notice_body.startswith("To everyone using Support reply drafting,\n\n")
    assert "## Who and what was affected" not in incident.notice_body
    assert svc.incident_audience(incident) == "everyone using Support reply drafting"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"what_happened": "  "}, svc.MSG_WHAT_HAPPENED_REQUIRED),
        ({"what_changed": ""}, svc.MSG_WHAT_CHANGED_REQUIRED),
        (
            {"what_happened": "x" * 4001},
            "“What happened” is too long: 4,001 characters, at most 4,000.",
        ),
        (
            {"what_changed": "x" * 4001},
            "“What changed” is too long: 4,001 characters, at most 4,000.",
        ),
    ],
)
def test_closing_needs_both_answers_and_changes_nothing_without(
    workflow, workflow_owner, fields, message
):
    incident = open_incident(workflow, workflow_owner)
    refused(message, close, incident, workflow_owner, **fields)
    incident.refresh_from_db()
    assert (incident.status, incident.closed_at, incident.what_happened) == ("open", None, "")
    assert (incident.notice_title, incident.notice_body) == ("", "")
    assert not ActivityEntry.objects.filter(verb="closed incident").exists()


def test_closing_twice_is_refused(workflow, workflow_owner, ops_leader):
    incident = close(open_incident(workflow, workflow_owner), workflow_owner)
    refused(svc.MSG_ALREADY_CLOSED, close, incident, ops_leader, what_happened="Other")
    incident.refresh_from_db()
    assert (incident.closed_by, incident.what_happened) == (
        workflow_owner,
        "A prompt change made the model offer refunds.",
    )


def test_a_closed_incident_no_longer_changes(workflow, workflow_owner):
    incident = close(open_incident(workflow, workflow_owner), workflow_owner)
    refused(
        svc.MSG_CLOSED, svc.incident_update_add, incident=incident, actor=workflow_owner, text="x"
    )
    refused(
        svc.MSG_CLOSED,
        svc.incident_update_details,
        incident=incident,
        actor=workflow_owner,
        **details(incident, title="New"),
    )


def test_the_owner_of_another_workflow_cannot_close_it(workflow, workflow_owner, ops_leader):
    someone = UserFactory(display_name="Other owner")
    make_workflow(owner=someone, actor=ops_leader, name="Invoice coding", slug="invoice-coding")
    incident = open_incident(workflow, workflow_owner)
    refused(svc.MSG_NOT_ALLOWED, close, incident, someone)
    incident.refresh_from_db()
    assert incident.status == "open"


def test_the_longest_explanation_still_fits_the_notice(workflow, workflow_owner, ops_leader):
    many = [
        cohort_create(workflow=workflow, name=f"Cohort {n:02} " + "x" * 100, actor=ops_leader)
        for n in range(20)
    ]
    incident = open_incident(workflow, workflow_owner, impact="i" * 4000, cohorts=many)
    for n in range(30):
        svc.incident_update_add(incident=incident, actor=workflow_owner, text=f"{n} " + "e" * 3990)
    incident = close(incident, workflow_owner, what_happened="h" * 4000, what_changed="c" * 4000)
    incident.refresh_from_db()
    assert len(incident.notice_body) <= 16000
    assert "- … 22 earlier entries left out." in incident.notice_body
    assert "29 eee" in incident.notice_body and "\n- " in incident.notice_body


# --- Rule 4: a pausing breach opens an incident draft ------------------------------------------


def enrolled(workflow: Workflow, name: str, email: str) -> Cohort:
    cohort = Cohort.objects.create(workflow=workflow, name=name, enrolled_phase="limited")
    cohort.memberships.create(user=UserFactory(email=email))
    return cohort


def test_a_pausing_breach_opens_an_incident_draft_for_the_enrolled_cohorts(workflow):
    make_plan(workflow, current="limited")
    eu_cohort = enrolled(workflow, "EU agents", "eu@example.com")
    Cohort.objects.create(workflow=workflow, name="Not enrolled")
    threshold = make_threshold(workflow, action="pause_rollout")
    ingest(workflow, errors_out_of(10, 100))
    for _ in range(3):
        thresholds_evaluate_workflow(workflow=workflow)
    incident = Incident.objects.get()
    assert incident.title == "Support reply drafting paused: error rate breached"
    assert (incident.opened_by, incident.status, incident.severity) == (None, "open", "high")
    assert incident.detected_by == "Rollout threshold evaluation"
    assert incident.impact == "10% over 100 cases: should be at most 5%."
    assert list(incident.cohorts.all()) == [eu_cohort]
    entry = ActivityEntry.objects.get(verb="opened incident")
    assert (entry.actor, entry.note) == (None, "Opened automatically on a threshold breach.")
    assert threshold.action == "pause_rollout"


def test_a_per_cohort_breach_names_its_cohorts_in_one_incident(workflow):
    make_plan(workflow, current="limited")
    eu_cohort = enrolled(workflow, "EU agents", "eu@example.com")
    uk_cohort = enrolled(workflow, "UK agents", "uk@example.com")
    enrolled(workflow, "US agents", "us@example.com")
    make_threshold(workflow, action="pause_rollout", scope="per_cohort", min_sample=10)
    ingest(
        workflow,
        errors_out_of(5, 20, user_ref="eu@example.com")
        + errors_out_of(5, 20, user_ref="uk@example.com")
        + errors_out_of(0, 20, user_ref="us@example.com"),
    )
    thresholds_evaluate_workflow(workflow=workflow)
    incident = Incident.objects.get()
    assert set(incident.cohorts.all()) == {eu_cohort, uk_cohort}
    (joined,) = incident.updates.all()
    assert joined.text.startswith("The breach also reached UK agents. 25% over 20 cases")


def test_an_alert_breach_opens_no_incident(workflow):
    make_plan(workflow, current="limited")
    make_threshold(workflow, action="alert")
    ingest(workflow, errors_out_of(10, 100))
    thresholds_evaluate_workflow(workflow=workflow)
    assert not Incident.objects.exists()


# --- Selectors ----------------------------------------------------------------------------------


def test_open_incident_counts_in_one_query(
    django_assert_num_queries, workflow, workflow_owner, ops_leader
):
    other = other_workflow(ops_leader)
    open_incident(workflow, workflow_owner)
    open_incident(workflow, workflow_owner, title="Second")
    close(open_incident(workflow, workflow_owner, title="Closed"), workflow_owner)
    close(open_incident(other, ops_leader), ops_leader)
    with django_assert_num_queries(1):
        counts = open_incident_counts([workflow.pk, other.pk])
    assert counts == {workflow.pk: 2}


def test_members_see_only_closed_incidents_of_their_cohorts(
    workflow, workflow_owner, eu, uk, executive
):
    member = UserFactory(display_name="Amy Agent")
    cohort_members_add(cohort=eu, users=[member], actor=workflow_owner)
    theirs = close(open_incident(workflow, workflow_owner, cohorts=[eu, uk]), workflow_owner)
    still_open = open_incident(workflow, workflow_owner, title="Open", cohorts=[eu])
    others = close(
        open_incident(workflow, workflow_owner, title="UK", cohorts=[uk]), workflow_owner
    )
    assert list(incident_list_for_user(member, workflow)) == [theirs]
    assert incident_get_for_user(member, workflow, theirs.pk) == theirs
    for hidden in (still_open, others):
        with pytest.raises(Incident.DoesNotExist):
            incident_get_for_user(member, workflow, hidden.pk)
    # Open first, then closed; the executive reads them all.
    assert list(incident_list_for_user(executive, workflow))[0] == still_open
    assert len(incident_list_for_user(executive, workflow)) == 3

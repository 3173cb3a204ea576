import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from rollout.models import ActivityEntry, Cohort, CohortMember
from rollout.services import cohorts as svc
from rollout.views import cohorts as views
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import login_redirect, template_names


def url(slug: str) -> str:
    return reverse("workflow_cohorts", kwargs={"slug": slug})


def csv_url(slug: str, cohort_id: int) -> str:
    return reverse("workflow_cohort_csv", kwargs={"slug": slug, "cohort_id": cohort_id})


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def cohort(workflow, ops_leader):
    return svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)


def test_anonymous_is_sent_to_sign_in(client, workflow):
    for response in (client.get(url(workflow.slug)), client.post(url(workflow.slug), {})):
        assert response.status_code == 302
        assert response["Location"] == login_redirect(url(workflow.slug))


def test_no_role_gets_404(client, workflow, other_user, cohort):
    client.force_login(other_user)
    assert client.get(url(workflow.slug)).status_code == 404
    assert client.post(url(workflow.slug), {"action": "create", "name": "X"}).status_code == 404
    assert client.get(csv_url(workflow.slug, cohort.pk)).status_code == 404


def test_executive_reads_but_cannot_change(client, workflow, executive, cohort):
    client.force_login(executive)
    response = client.get(url(workflow.slug))
    assert response.status_code == 200
    assert b"Create cohort" not in response.content
    response = client.post(url(workflow.slug), {"action": "create", "name": "X"})
    assert response.status_code == 404
    assert Cohort.objects.count() == 1


def test_page_lists_cohorts_with_bounded_queries(
    client, workflow, workflow_owner, ops_leader, cohort, django_assert_max_num_queries
):
    people = UserFactory.create_batch(8)
    svc.cohort_members_add(cohort=cohort, users=people, actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="limited", percentage=30, actor=ops_leader)
    other = svc.cohort_create(workflow=workflow, name="Tier 2", actor=ops_leader)
    svc.cohort_members_add(cohort=other, users=people[:3], actor=ops_leader)
    svc.cohort_enrol(
        cohort=other, phase="broad", percentage=100, holdout_percentage=50, actor=ops_leader
    )
    client.force_login(workflow_owner)
    # +2 for who is held out (the enrolled cohorts' members and the releases), however many.
    with django_assert_max_num_queries(17):
        response = client.get(url(workflow.slug))
    assert response.status_code == 200
    assert "rollout/workflow_cohorts.html" in template_names(response)
    body = response.content.decode()
    assert "Limited roll-out · 30%" in body
    assert "8 members" in body and "3 members" in body
    assert people[0].email in body


def test_owner_creates_cohort(client, workflow, workflow_owner):
    client.force_login(workflow_owner)
    response = client.post(url(workflow.slug), {"action": "create", "name": "EU agents"})
    cohort = Cohort.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{url(workflow.slug)}#cohort-{cohort.pk}"
    assert flashes(response) == [views.MSG_CREATED.format(name="EU agents")]


def test_duplicate_name_shows_error_beside_field(client, workflow, workflow_owner, cohort):
    client.force_login(workflow_owner)
    count = ActivityEntry.objects.count()
    response = client.post(url(workflow.slug), {"action": "create", "name": "tier 1"})
    assert response.status_code == 200
    assert response.context["create_form"].errors == {
        "name": [svc.MSG_NAME_TAKEN.format(name="tier 1")]
    }
    assert Cohort.objects.count() == 1
    assert ActivityEntry.objects.count() == count


def test_add_and_remove_members(client, workflow, ops_leader, cohort, other_user):
    client.force_login(ops_leader)
    response = client.post(
        url(workflow.slug), {"action": "add", "cohort": cohort.pk, "users": [other_user.pk]}
    )
    assert response.status_code == 302
    assert flashes(response) == ["Added 1 person to “Tier 1”."]
    assert CohortMember.objects.filter(cohort=cohort, user=other_user).exists()
    response = client.post(
        url(workflow.slug), {"action": "remove", "cohort": cohort.pk, "user": other_user.pk}
    )
    assert response.status_code == 302
    assert not CohortMember.objects.exists()


@pytest.mark.parametrize("percentage", ["0", "101", "abc", ""])
def test_enrol_bad_percentage_changes_nothing(client, workflow, ops_leader, cohort, percentage):
    client.force_login(ops_leader)
    count = ActivityEntry.objects.count()
    response = client.post(
        url(workflow.slug),
        {"action": "enrol", "cohort": cohort.pk, "phase": "limited", "percentage": percentage},
    )
    assert response.status_code == 200
    page_cohort = next(c for c in response.context["cohorts"] if c.pk == cohort.pk)
    assert "percentage" in page_cohort.enrol_form.errors
    cohort.refresh_from_db()
    assert cohort.enrolled_phase == ""
    assert ActivityEntry.objects.count() == count


def test_enrol_and_unenrol(client, workflow, ops_leader, cohort):
    client.force_login(ops_leader)
    response = client.post(
        url(workflow.slug),
        {"action": "enrol", "cohort": cohort.pk, "phase": "broad", "percentage": "25"},
    )
    assert response.status_code == 302
    assert flashes(response) == [
        views.MSG_ENROLLED.format(name="Tier 1", phase="broad roll-out", percentage=25)
    ]
    response = client.post(url(workflow.slug), {"action": "unenrol", "cohort": cohort.pk})
    # The first message was never shown (no page between the redirects), so both are queued.
    assert flashes(response)[-1] == views.MSG_UNENROLLED.format(name="Tier 1")
    cohort.refresh_from_db()
    assert cohort.enrolled_phase == ""


def test_delete(client, workflow, ops_leader, cohort):
    client.force_login(ops_leader)
    response = client.post(url(workflow.slug), {"action": "delete", "cohort": cohort.pk})
    assert response.status_code == 302
    assert flashes(response) == [views.MSG_DELETED.format(name="Tier 1")]
    assert not Cohort.objects.exists()


@pytest.mark.parametrize("action", ["delete", "enrol", "add", "unenrol", "remove"])
def test_foreign_cohort_is_404(client, workflow, ops_leader, action):
    elsewhere = make_workflow(owner=UserFactory(), actor=ops_leader, name="Other", slug="other")
    foreign = svc.cohort_create(workflow=elsewhere, name="Theirs", actor=ops_leader)
    client.force_login(ops_leader)
    response = client.post(url(workflow.slug), {"action": action, "cohort": foreign.pk})
    assert response.status_code == 404
    assert client.get(csv_url(workflow.slug, foreign.pk)).status_code == 404
    assert Cohort.objects.filter(pk=foreign.pk).exists()


def test_csrf_is_enforced(workflow, ops_leader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_leader)
    response = client.post(url(workflow.slug), {"action": "create", "name": "X"})
    assert response.status_code == 403
    assert not Cohort.objects.exists()


def test_csv_preview_then_confirm(client, workflow, ops_leader, cohort):
    ann = UserFactory(email="ann@example.com")
    client.force_login(ops_leader)
    upload = SimpleUploadedFile("p.csv", b"ann@example.com\nnew@example.com\nbad\n")
    response = client.post(csv_url(workflow.slug, cohort.pk), {"file": upload})
    assert response.status_code == 200
    assert "rollout/workflow_cohort_csv_preview.html" in template_names(response)
    assert [r.fate for r in response.context["rows"]] == ["added", "unknown", "malformed"]
    body = response.content.decode()
    assert "Invite the unknown person" in body
    assert 'type="hidden" name="email" value="new@example.com"' in body
    assert not CohortMember.objects.exists()
    response = client.post(
        csv_url(workflow.slug, cohort.pk),
        {"action": "confirm", "email": ["ann@example.com", "new@example.com"]},
    )
    assert response.status_code == 302
    assert flashes(response) == [
        views.MSG_CSV_DONE.format(added="1 person", name="Tier 1", invited=0, skipped=1)
    ]
    assert list(CohortMember.objects.values_list("user", flat=True)) == [ann.pk]


def test_csv_broken_file_shows_error(client, workflow, ops_leader, cohort):
    from rollout.services.cohort_csv import MSG_BINARY

    client.force_login(ops_leader)
    upload = SimpleUploadedFile("p.csv", b"\x00\x01\x02")
    response = client.post(csv_url(workflow.slug, cohort.pk), {"file": upload})
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": [MSG_BINARY]}


def _add(client, workflow, cohort, **fields):
    return client.post(url(workflow.slug), {"action": "add", "cohort": cohort.pk, **fields})


def test_the_add_form_is_a_search_picker_not_a_list_of_everyone(
    client, workflow, ops_leader, cohort
):
    UserFactory(display_name="Nora Nonmember")
    client.force_login(ops_leader)
    html = client.get(url(workflow.slug)).content.decode()
    assert "Nora Nonmember" not in html
    assert 'name="users_text"' in html
    search = f"/people/search/?purpose=cohort&amp;workflow={workflow.slug}&amp;cohort={cohort.pk}"
    assert f'hx-get="{search}"' in html


def test_typed_addresses_add_people_and_say_who_was_skipped(client, workflow, ops_leader, cohort):
    ada = UserFactory(email="ada@example.com", display_name="Ada Able")
    ben = UserFactory(email="ben@example.com", display_name="Ben Best")
    cy = UserFactory(email="cy@example.com", display_name="Cy Cole")
    dot = UserFactory(email="dot@example.com", display_name="Dot Dee")
    svc.cohort_members_add(cohort=cohort, users=[dot], actor=ops_leader)
    client.force_login(ops_leader)

    response = _add(
        client,
        workflow,
        cohort,
        users=[str(ada.pk)],
        users_text="ben@example.com, CY@example.com, dot@example.com",
    )

    assert response.status_code == 302
    assert flashes(response) == [
        "Added 3 people to “Tier 1”. Already members, so skipped: Dot Dee."
    ]
    assert set(cohort.memberships.values_list("user_id", flat=True)) == {
        ada.pk,
        ben.pk,
        cy.pk,
        dot.pk,
    }


def test_an_unknown_address_is_an_error_and_nobody_is_added(client, workflow, ops_leader, cohort):
    UserFactory(email="ada@example.com", display_name="Ada Able")
    client.force_login(ops_leader)

    response = _add(client, workflow, cohort, users_text="ada@example.com, who@example.com")

    assert response.status_code == 200
    form = next(c for c in response.context["cohorts"] if c.pk == cohort.pk).add_form
    assert form.errors == {"users": ["Nobody has the email address who@example.com."]}
    html = response.content.decode()
    assert 'value="ada@example.com, who@example.com"' in html  # kept for correcting
    assert not cohort.memberships.exists()


def test_a_deactivated_person_gets_the_services_refusal(client, workflow, ops_leader, cohort):
    UserFactory(email="gone@example.com", display_name="Gina Gone", is_active=False)
    client.force_login(ops_leader)

    response = _add(client, workflow, cohort, users_text="gone@example.com")

    assert response.status_code == 200
    form = next(c for c in response.context["cohorts"] if c.pk == cohort.pk).add_form
    assert form.errors == {"users": [svc.MSG_INACTIVE_USER.format(user="Gina Gone")]}
    assert not cohort.memberships.exists()


def test_nobody_picked_is_an_error(client, workflow, ops_leader, cohort):
    client.force_login(ops_leader)
    response = _add(client, workflow, cohort, users_text="")
    form = next(c for c in response.context["cohorts"] if c.pk == cohort.pk).add_form
    assert form.errors == {"users": ["Pick at least one person to add."]}


@pytest.mark.parametrize("holdout", ["-1", "51", "ten"])
def test_enrol_bad_holdout_changes_nothing(client, workflow, ops_leader, cohort, holdout):
    client.force_login(ops_leader)
    count = ActivityEntry.objects.count()
    response = client.post(
        url(workflow.slug),
        {
            "action": "enrol",
            "cohort": cohort.pk,
            "phase": "limited",
            "percentage": "100",
            "holdout_percentage": holdout,
        },
    )
    assert response.status_code == 200
    page_cohort = next(c for c in response.context["cohorts"] if c.pk == cohort.pk)
    assert "holdout_percentage" in page_cohort.enrol_form.errors
    cohort.refresh_from_db()
    assert (cohort.enrolled_phase, cohort.holdout_percentage) == ("", 0)
    assert ActivityEntry.objects.count() == count


def test_enrol_with_a_holdout(client, workflow, ops_leader, cohort):
    client.force_login(ops_leader)
    data = {"action": "enrol", "cohort": cohort.pk, "phase": "limited", "percentage": "80"}
    response = client.post(url(workflow.slug), data | {"holdout_percentage": "10"})
    assert response.status_code == 302
    cohort.refresh_from_db()
    assert (cohort.percentage, cohort.holdout_percentage) == (80, 10)
    # Left out, the holdout is kept.
    client.post(url(workflow.slug), data | {"percentage": "90"})
    cohort.refresh_from_db()
    assert (cohort.percentage, cohort.holdout_percentage) == (90, 10)

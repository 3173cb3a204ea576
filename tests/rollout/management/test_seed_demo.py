from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from accounts.roles import EXECUTIVES, OPS_LEADERS, role_names
from rollout.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS, DEMO_WORKFLOWS
from rollout.models import ActivityEntry, Workflow, WorkflowUserObjectPermission
from rollout.permissions import can_change_workflow, can_view_workflow
from tests.factories import UserFactory, make_workflow

pytestmark = pytest.mark.django_db

DEMO_SLUGS = {w.slug for w in DEMO_WORKFLOWS}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def user(email: str) -> User:
    # A fresh instance each time: guardian and role_names cache permissions on the instance.
    return User.objects.get(email=email)


def state() -> dict[str, object]:
    """Everything the command writes, to compare two runs."""
    return {
        "users": sorted(User.objects.values_list("email", "display_name", "password", "is_staff")),
        "groups": sorted(User.groups.through.objects.values_list("user__email", "group__name")),
        "workflows": sorted(
            Workflow.objects.values_list(
                "slug", "name", "owner__email", "summary", "business_action", "model_version"
            )
        ),
        "activity": sorted(
            ActivityEntry.objects.values_list("workflow__slug", "actor__email", "verb", "note")
        ),
        "perms": sorted(
            WorkflowUserObjectPermission.objects.values_list(
                "user__email", "content_object__slug", "permission__codename"
            )
        ),
    }


def test_creates_the_demo_users_with_roles_and_the_demo_password() -> None:
    output = seed()

    assert User.objects.count() == len(DEMO_USERS) == 7
    assert role_names(user("ops@example.com")) == {OPS_LEADERS}
    assert role_names(user("exec@example.com")) == {EXECUTIVES}
    assert role_names(user("owner@example.com")) == frozenset()
    assert role_names(user("member@example.com")) == frozenset()
    for demo in DEMO_USERS:
        account = user(demo.email)
        assert account.check_password(DEMO_PASSWORD), demo.email
        assert account.display_name == demo.display_name
        assert " " in account.display_name  # a real first and last name, not the email
        assert account.is_active
        assert f"Created user {demo.email} ({demo.display_name}" in output
    assert user("ops@example.com").is_staff
    assert not user("owner@example.com").is_staff
    assert output.rstrip().endswith(
        f"Demo data ready. Every demo login's password: {DEMO_PASSWORD}"
    )


def test_creates_four_workflows_with_different_owners_through_the_services() -> None:
    output = seed()

    workflows = {w.slug: w for w in Workflow.objects.with_owner()}
    assert set(workflows) == {
        "support-reply-drafting",
        "invoice-coding",
        "sales-lead-scoring",
        "contract-clause-review",
    }
    assert workflows["support-reply-drafting"].owner.email == "owner@example.com"
    assert workflows["contract-clause-review"].owner.email == "hannah.weber@example.com"
    assert len({w.owner_id for w in workflows.values()}) == 4
    for workflow in workflows.values():
        assert workflow.summary and workflow.business_action
        assert workflow.model_provider and workflow.model_name and workflow.model_version
        assert workflow.last_activity_at is not None
        assert f"Created workflow {workflow.name} (owner {workflow.owner}" in output

    support = workflows["support-reply-drafting"]
    assert support.model_label == "OpenAI · gpt-4.1 · 2025-04-14"
    assert list(ActivityEntry.objects.filter(workflow=support).values_list("verb", "changes")) == [
        ("edited", {"model": ["gpt-4o", "gpt-4.1"], "model version": ["2024-11-20", "2025-04-14"]}),
        ("created", {"owner": ["—", "Owen Clarke"]}),
    ]
    handover = ActivityEntry.objects.get(
        workflow__slug="contract-clause-review", verb="handed over"
    )
    assert handover.actor == user("ops@example.com")
    assert handover.changes == {"owner": ["Daniel Okafor", "Hannah Weber"]}
    assert handover.note.startswith("Legal Ops runs it from here")


def test_grants_the_owners_their_workflows_and_nothing_else() -> None:
    seed()
    support = Workflow.objects.get(slug="support-reply-drafting")
    invoices = Workflow.objects.get(slug="invoice-coding")
    contracts = Workflow.objects.get(slug="contract-clause-review")

    assert can_view_workflow(user("owner@example.com"), support)
    assert can_change_workflow(user("owner@example.com"), support)
    assert not can_view_workflow(user("owner@example.com"), invoices)
    assert not any(can_view_workflow(user("member@example.com"), w) for w in Workflow.objects.all())
    assert all(can_view_workflow(user("exec@example.com"), w) for w in Workflow.objects.all())
    assert not can_change_workflow(user("exec@example.com"), support)
    assert all(can_change_workflow(user("ops@example.com"), w) for w in Workflow.objects.all())
    # The handover moved the permissions: the previous owner no longer sees the workflow.
    assert can_change_workflow(user("hannah.weber@example.com"), contracts)
    assert not can_view_workflow(user("daniel.okafor@example.com"), contracts)


def test_running_it_twice_changes_nothing() -> None:
    seed()
    before = state()

    output = seed()

    assert state() == before
    assert output == "Nothing to do: the demo data is already there.\n"


def test_leaves_an_existing_demo_user_as_it_is() -> None:
    UserFactory(email="owner@example.com", display_name="Someone Else")

    seed()

    owner = user("owner@example.com")
    assert owner.display_name == "Someone Else"
    assert not owner.check_password(DEMO_PASSWORD)
    assert Workflow.objects.get(slug="support-reply-drafting").owner == owner


def test_reset_deletes_the_demo_data_and_builds_it_again() -> None:
    seed()
    fresh = state()
    stranger = UserFactory(email="real.person@example.com", display_name="Real Person")
    real = make_workflow(owner=stranger, actor=user("ops@example.com"), slug="real-workflow")
    owner = user("owner@example.com")
    owner.display_name = "Renamed"
    owner.set_password("something-else")
    owner.save()
    Workflow.objects.filter(slug="invoice-coding").delete()

    output = seed("--reset")

    assert "Deleted the demo data: 3 workflows with their activity, 7 users." in output
    after = state()
    for key in ("groups", "workflows"):
        assert [row for row in after[key] if "real" not in str(row)] == fresh[key]
    assert user("owner@example.com").display_name == "Owen Clarke"
    assert user("owner@example.com").check_password(DEMO_PASSWORD)
    demo_activity = ActivityEntry.objects.filter(workflow__slug__in=DEMO_SLUGS)
    assert demo_activity.count() == 7  # 4 created, 2 edited, 1 handed over: nothing doubled
    # Data that is not demo data survives, with its permissions; the ops leader who created it
    # was a demo user, so its "created" entry stays with no actor.
    real.refresh_from_db()
    assert real.owner == stranger
    assert can_change_workflow(User.objects.get(pk=stranger.pk), real)
    assert ActivityEntry.objects.get(workflow=real).actor is None


def test_reset_refuses_while_a_demo_user_owns_other_workflows() -> None:
    seed()
    make_workflow(owner=user("owner@example.com"), actor=user("ops@example.com"), name="Real one")
    before = state()

    with pytest.raises(CommandError, match=r"Real one \(owner@example.com\)"):
        seed("--reset")

    assert state() == before

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.services import user_deactivate
from rollout.models import ActivityEntry, Workflow
from rollout.selectors import workflows as sel
from rollout.services.activity import activity_record
from tests.factories import UserFactory, make_workflow


@pytest.fixture
def three(ops_leader, workflow, workflow_owner) -> list[Workflow]:
    """Owen owns support-reply-drafting; Zoe owns address-matching; Gina's invoice-coding is
    ownerless."""
    zoe = UserFactory(display_name="Zoe Zed")
    gina = UserFactory(display_name="Gina Gone")
    address = make_workflow(
        owner=zoe, actor=ops_leader, name="Address matching", slug="address-matching",
        model_name="claude-opus", summary="Matches postal addresses",
    )  # fmt: skip
    invoice = make_workflow(
        owner=gina, actor=ops_leader, name="Invoice coding", slug="invoice-coding",
        model_name="mistral-large",
    )  # fmt: skip
    user_deactivate(actor=ops_leader, user=gina)
    return [workflow, address, invoice]


def slugs(queryset) -> list[str]:
    return [w.slug for w in queryset]


def test_ops_leaders_and_executives_see_every_workflow(ops_leader, executive, three):
    assert slugs(sel.workflow_list_visible(ops_leader).order_by("slug")) == [
        "address-matching",
        "invoice-coding",
        "support-reply-drafting",
    ]
    assert sel.workflow_list_visible(executive).count() == 3


def test_others_see_only_what_they_have_a_permission_on(workflow_owner, other_user, three):
    assert slugs(sel.workflow_list_visible(workflow_owner)) == ["support-reply-drafting"]
    assert slugs(sel.workflow_list_visible(other_user)) == []


def test_anonymous_and_deactivated_users_see_nothing(three):
    gina = three[2].owner
    gina.refresh_from_db()

    assert slugs(sel.workflow_list_visible(AnonymousUser())) == []
    assert slugs(sel.workflow_list_visible(gina)) == []


def test_visible_workflows_come_with_their_owner(django_assert_num_queries, ops_leader, three):
    ops_leader.refresh_from_db()
    sel.workflow_list_visible(ops_leader).exists()  # reads the roles once

    with django_assert_num_queries(1):
        assert [str(w.owner) for w in sel.workflow_list_visible(ops_leader)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["address-matching", "invoice-coding", "support-reply-drafting"]),
        ({"query": "POSTAL"}, ["address-matching"]),
        ({"query": "mistral"}, ["invoice-coding"]),
        ({"query": "owen"}, ["support-reply-drafting"]),
        ({"query": "reply-draft"}, ["support-reply-drafting"]),
        ({"ownerless": True}, ["invoice-coding"]),
        ({"query": "address", "ownerless": True}, []),
    ],
)
def test_portfolio_filters(ops_leader, three, filters, expected):
    assert slugs(sel.workflow_list_portfolio(ops_leader, **filters)) == expected


def test_portfolio_filter_by_owner(ops_leader, three):
    zoe = three[1].owner

    assert slugs(sel.workflow_list_portfolio(ops_leader, owner_id=zoe.pk)) == ["address-matching"]


def test_portfolio_never_widens_what_a_user_sees(workflow_owner, three):
    zoe = three[1].owner

    assert slugs(sel.workflow_list_portfolio(workflow_owner, owner_id=zoe.pk)) == []
    assert slugs(sel.workflow_list_portfolio(workflow_owner, query="address")) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["address-matching", "invoice-coding", "support-reply-drafting"]),
        ("-name", ["support-reply-drafting", "invoice-coding", "address-matching"]),
        ("owner", ["invoice-coding", "support-reply-drafting", "address-matching"]),
        ("-owner", ["address-matching", "support-reply-drafting", "invoice-coding"]),
        ("model", ["address-matching", "support-reply-drafting", "invoice-coding"]),
        ("-model", ["invoice-coding", "support-reply-drafting", "address-matching"]),
        ("activity", ["invoice-coding", "address-matching", "support-reply-drafting"]),
        ("-activity", ["support-reply-drafting", "address-matching", "invoice-coding"]),
        ("not-a-sort", ["address-matching", "invoice-coding", "support-reply-drafting"]),
    ],
)
def test_portfolio_sorts(ops_leader, three, sort, expected):
    now = timezone.now()
    for days_ago, workflow in zip((1, 2, 3), three, strict=True):
        Workflow.objects.filter(pk=workflow.pk).update(
            last_activity_at=now - timedelta(days=days_ago)
        )

    assert slugs(sel.workflow_list_portfolio(ops_leader, sort=sort)) == expected


def test_owned_lists_only_the_users_own(workflow_owner, three):
    assert slugs(sel.workflow_list_owned(workflow_owner)) == ["support-reply-drafting"]
    assert slugs(sel.workflow_list_owned(AnonymousUser())) == []


def test_activity_is_newest_first_and_only_for_that_workflow(ops_leader, three):
    workflow, other = three[0], three[1]
    activity_record(workflow=workflow, actor=None, verb="paused", target="phase limited")

    entries = list(sel.activity_list_for_workflow(workflow))

    assert [e.verb for e in entries] == ["paused", "created"]
    assert {e.workflow_id for e in entries} == {workflow.pk}
    assert ActivityEntry.objects.filter(workflow=other).count() == 1

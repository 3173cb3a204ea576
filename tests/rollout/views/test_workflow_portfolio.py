import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_deactivate
from rollout.models import Workflow
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import as_user, login_redirect, template_names

URL = reverse("workflow_portfolio")
HTMX = {"HX-Request": "true"}


def slugs_in(response) -> list[str]:
    return [w.slug for w in response.context["workflows"]]


@pytest.fixture
def portfolio(ops_leader, workflow, ownerless_workflow) -> list[Workflow]:
    """Three workflows: one owned by workflow_owner, one ownerless, one owned by Zoe."""
    zoe = UserFactory(display_name="Zoe Zed", email="zoe@example.com")
    third = make_workflow(
        owner=zoe,
        actor=ops_leader,
        name="Address matching",
        slug="address-matching",
        model_name="claude-opus",
        summary="Matches postal addresses",
    )
    return [workflow, ownerless_workflow, third]


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == login_redirect(URL)


def test_user_without_a_role_sees_an_explanation(client, other_user, portfolio):
    client.force_login(other_user)

    response = client.get(URL)

    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_portfolio.html"
    html = response.content.decode()
    assert "You don't see any workflows yet." in html
    assert "Workflows appear here when you own one or are added to one of its cohorts." in html
    assert "<table>" not in html
    assert "New workflow" not in html


def test_ops_leader_sees_every_workflow_and_the_new_button(client, ops_leader, portfolio):
    client.force_login(ops_leader)

    response = client.get(URL)

    assert slugs_in(response) == ["address-matching", "invoice-coding", "support-reply-drafting"]
    html = response.content.decode()
    assert '<a class="button" href="/workflows/new/">New workflow</a>' in html
    assert "3 workflows" in html
    assert '<a href="/workflows/address-matching/">Address matching</a>' in html
    # On a phone the owner and the phase fold under the name (the CSS shows one or the other).
    assert '<td class="hide-sm">Zoe Zed \n</td>' in html
    assert '<span class="sub show-sm">No plan yet · Zoe Zed</span>' in html


def test_executive_sees_every_workflow_read_only(client, executive, portfolio):
    client.force_login(executive)

    response = client.get(URL)

    assert len(slugs_in(response)) == 3
    html = response.content.decode()
    assert "Every workflow you can see, read-only." in html
    assert "New workflow" not in html


def test_owner_sees_only_their_own(client, workflow_owner, portfolio):
    client.force_login(workflow_owner)

    response = client.get(URL)

    assert slugs_in(response) == ["support-reply-drafting"]
    assert "Address matching" not in response.content.decode()


def test_ownerless_workflows_carry_the_flag(client, ops_leader, portfolio):
    client.force_login(ops_leader)

    html = client.get(URL).content.decode()

    assert html.count(">Ownerless</span>") == 1
    row = re.search(r"<tr>\s*<td><a href=\"/workflows/invoice-coding/\">.*?</tr>", html, re.S)
    assert row and ">Ownerless</span>" in row.group(0) and "Gina Gone" in row.group(0)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "postal"}, ["address-matching"]),
        ({"q": "INVOICE"}, ["invoice-coding"]),
        ({"q": "Zoe"}, ["address-matching"]),
        ({"ownerless": "on"}, ["invoice-coding"]),
        ({"q": "drafting"}, ["support-reply-drafting"]),
        ({"q": "drafting", "ownerless": "on"}, []),
    ],
)
def test_filters(client, ops_leader, portfolio, params, expected):
    client.force_login(ops_leader)

    response = client.get(URL, params)

    assert slugs_in(response) == expected


def test_filter_by_owner_offers_only_owners_of_visible_workflows(client, ops_leader, portfolio):
    client.force_login(ops_leader)
    owner = portfolio[0].owner

    response = client.get(URL, {"owner": owner.pk})

    assert slugs_in(response) == ["support-reply-drafting"]
    html = response.content.decode()
    assert f'<option value="{owner.pk}" selected>Owen Owner</option>' in html
    assert "Zoe Zed</option>" in html
    assert "Olivia Ops</option>" not in html  # owns nothing


def test_unknown_owner_and_sort_values_are_ignored(client, ops_leader, portfolio):
    client.force_login(ops_leader)
    stranger = UserFactory()

    for params in (
        {"owner": "abc"},
        {"owner": stranger.pk},
        {"owner": "-1"},
        {"sort": "password"},
        {"sort": "-owner__password"},
        {"q": "x" * 500},
    ):
        response = client.get(URL, params)
        assert response.status_code == 200, params
        assert len(slugs_in(response)) == 3, params
        assert response.context["sort"] == "name", params


ADDR, INV, SUP = "address-matching", "invoice-coding", "support-reply-drafting"


@pytest.mark.parametrize(
    ("sort", "expected", "header", "aria"),
    [
        ("name", [ADDR, INV, SUP], "Name", "ascending"),
        ("-name", [SUP, INV, ADDR], "Name", "descending"),
        ("owner", [INV, SUP, ADDR], "Owner", "ascending"),  # Gina, Owen, Zoe
        ("-owner", [ADDR, SUP, INV], "Owner", "descending"),
        ("model", [ADDR, INV, SUP], "Model", "ascending"),  # claude-opus, gpt-5, gpt-5 (then name)
    ],
)
def test_sort_by_column_marks_the_active_header(
    client, ops_leader, portfolio, sort, expected, header, aria
):
    client.force_login(ops_leader)

    response = client.get(URL, {"sort": sort})

    assert slugs_in(response) == expected
    html = response.content.decode()
    assert html.count("aria-sort=") == 1
    active = re.search(r'<th scope="col" aria-sort="(\w+)"[^>]*>\s*<a [^>]*>(\w[\w ]*)', html)
    assert active and (active.group(1), active.group(2).strip()) == (aria, header)


def test_activity_sort_puts_the_most_recent_first(client, ops_leader, portfolio):
    now = timezone.now()
    for days_ago, workflow in zip((5, 1, 3), portfolio, strict=True):
        Workflow.objects.filter(pk=workflow.pk).update(
            last_activity_at=now - timedelta(days=days_ago)
        )
    client.force_login(ops_leader)

    newest_first = client.get(URL, {"sort": "-activity"})
    oldest_first = client.get(URL, {"sort": "activity"})

    assert slugs_in(newest_first) == [
        "invoice-coding",
        "address-matching",
        "support-reply-drafting",
    ]
    assert slugs_in(oldest_first) == [
        "support-reply-drafting",
        "address-matching",
        "invoice-coding",
    ]


def test_header_links_keep_the_filters_and_toggle_the_direction(client, ops_leader, portfolio):
    client.force_login(ops_leader)
    owner = portfolio[2].owner

    response = client.get(URL, {"q": "a", "owner": owner.pk, "sort": "name"})

    links = {c["key"]: c["url"] for c in response.context["columns"]}
    assert links == {
        "name": f"/workflows/?q=a&owner={owner.pk}&sort=-name",
        "owner": f"/workflows/?q=a&owner={owner.pk}&sort=owner",
        "phase": f"/workflows/?q=a&owner={owner.pk}&sort=phase",
        "health": f"/workflows/?q=a&owner={owner.pk}&sort=health",
        "adoption": f"/workflows/?q=a&owner={owner.pk}&sort=adoption",
        "review": f"/workflows/?q=a&owner={owner.pk}&sort=review",
        "model": f"/workflows/?q=a&owner={owner.pk}&sort=model",
        "activity": f"/workflows/?q=a&owner={owner.pk}&sort=-activity",
    }
    html = response.content.decode()
    expected_link = (
        f'<a href="/workflows/?q=a&amp;owner={owner.pk}&amp;sort=-name" '
        f'hx-get="/workflows/?q=a&amp;owner={owner.pk}&amp;sort=-name" '
        'hx-target="#portfolio-table" hx-swap="outerHTML" hx-push-url="true">'
    )
    assert expected_link in html
    assert '<input type="hidden" name="sort" value="name" form="portfolio-filters">' in html


def test_the_filter_form_works_with_and_without_javascript(client, ops_leader, portfolio):
    client.force_login(ops_leader)

    html = client.get(URL).content.decode()

    form = re.search(r'<form id="portfolio-filters"[^>]*>', html).group(0)
    assert 'method="get" action="/workflows/"' in form
    assert 'hx-get="/workflows/"' in form
    assert 'hx-target="#portfolio-table"' in form
    assert 'hx-push-url="true"' in form
    assert 'hx-trigger="input delay:300ms, submit"' in form
    assert '<label for="id_q">Search</label>' in html
    assert '<label for="id_owner">Owner</label>' in html
    assert '<label for="id_ownerless">Ownerless only</label>' in html
    assert '<button type="submit" class="button-secondary">Filter</button>' in html


def test_htmx_gets_the_table_partial_only(client, ops_leader, portfolio):
    client.force_login(ops_leader)

    response = client.get(URL, {"ownerless": "on"}, headers=HTMX)

    assert response.status_code == 200
    assert template_names(response)[0] == "portfolio-table"
    assert "rollout/workflow_portfolio.html" not in template_names(response)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="portfolio-table" class="portfolio-table">')
    assert "<html" not in html
    assert 'id="portfolio-filters"' not in html
    assert "1 workflow matches these filters" in html
    assert "HX-Request" in response["Vary"]


def test_plain_request_gets_the_whole_page(client, ops_leader, portfolio):
    client.force_login(ops_leader)

    response = client.get(URL, {"ownerless": "on"})

    html = response.content.decode()
    assert html.startswith("<!doctype html>")
    assert 'id="portfolio-filters"' in html
    assert '<div id="portfolio-table" class="portfolio-table">' in html
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(client, ops_leader, portfolio):
    client.force_login(ops_leader)

    response = client.get(URL, headers={**HTMX, "HX-History-Restore-Request": "true"})

    assert template_names(response)[0] == "rollout/workflow_portfolio.html"


def test_no_match_says_so_and_offers_to_clear(client, ops_leader, portfolio):
    client.force_login(ops_leader)

    response = client.get(URL, {"q": "nothing like this"}, headers=HTMX)

    html = response.content.decode()
    assert "No workflows match these filters." in html
    assert '<a href="/workflows/">Clear filters</a>' in html
    assert "<table>" not in html


def test_ops_leader_with_no_workflows_is_invited_to_create_one(client, ops_leader):
    client.force_login(ops_leader)

    html = client.get(URL).content.decode()

    assert '<a href="/workflows/new/">Create the first workflow</a>' in html


def test_portfolio_queries_are_bounded(django_assert_max_num_queries, ops_leader, workflow_owner):
    owners = UserFactory.create_batch(5)
    for n in range(40):
        make_workflow(owner=owners[n % 5], actor=ops_leader, slug=f"flow-{n}")
    user_deactivate(actor=ops_leader, user=owners[0])
    for n in range(5):
        make_workflow(owner=workflow_owner, actor=ops_leader, slug=f"mine-{n}")
    leader, owner_client = as_user(ops_leader), as_user(workflow_owner)

    # 8 for the list itself, +3 for health (thresholds with their verdicts, drift, phases), +4
    # for adoption (invocations, active members, members, daily actives) and +1 for which rows
    # the user may view (open incidents fit in what the list itself is allowed), +1 for the open
    # escalations, +1 for the outcome metrics (+1 for their sums when there are some): a
    # constant, whatever the number of workflows, events, escalations and outcomes. (A first
    # request fills the process's caches, e.g. content types, as any earlier test may have.)
    leader.get(URL)
    with django_assert_max_num_queries(18):
        response = leader.get(URL, {"sort": "-owner"})
    assert len(response.context["workflows"]) == 45
    with django_assert_max_num_queries(18):
        response = leader.get(URL, {"q": "flow", "ownerless": "on"}, headers=HTMX)
    assert len(response.context["workflows"]) == 8
    with django_assert_max_num_queries(18):
        response = owner_client.get(URL)
    assert len(response.context["workflows"]) == 5


# --- Phase, health and adoption ------------------------------------------------------------


@pytest.fixture
def measured(ops_leader, portfolio):
    """support-reply-drafting: limited, paused, failing, 2 of 4 members active. address-matching:
    shadow, healthy, no members. invoice-coding: no plan, no thresholds."""
    from rollout.models import PhaseStatus, Threshold, ThresholdStatus
    from tests.rollout.promotion_fixtures import make_plan
    from tests.rollout.views.usage_page_data import (
        day_events,
        days_ago,
        make_cohort,
        member_ref,
        record_usage,
    )

    support, _invoice, address = portfolio
    phases = make_plan(support, current="limited")
    phases["limited"].status = PhaseStatus.PAUSED
    phases["limited"].save()
    make_plan(address, current="shadow")
    eu = make_cohort(support, ops_leader, "EU agents", 4)
    record_usage(
        support,
        day_events(member_ref(eu, 0), days_ago(3), invocations=6)
        + day_events(member_ref(eu, 1), days_ago(1), invocations=4),
    )
    for workflow, verdict in ((support, "fail"), (address, "pass")):
        threshold = Threshold.objects.create(
            workflow=workflow,
            metric="error_rate",
            comparator="lte",
            limit=0.02,
            min_sample=10,
            bad_output="Wrong",
            action="alert",
        )
        ThresholdStatus.objects.create(
            threshold=threshold,
            verdict=verdict,
            reason="9% over 300 cases: should be at most 2%." if verdict == "fail" else "Fine.",
            window_start=timezone.now(),
            window_end=timezone.now(),
            evaluated_at=timezone.now(),
        )
    return portfolio


def test_phase_health_and_adoption_columns(client, executive, measured):
    client.force_login(executive)

    response = client.get(URL)

    html = response.content.decode()
    rows = {w.slug: w for w in response.context["workflows"]}
    support = rows["support-reply-drafting"]
    assert support.health.phase_label == "Limited roll-out"
    assert support.health.status == "failing"
    assert support.adoption == 0.5
    paused = 'Limited roll-out <span class="badge badge-warn">Paused</span></td>'
    assert f'<td class="hide-sm">{paused}' in html
    assert '<span class="sub show-sm">Limited roll-out (paused) · ' in html
    assert (
        '<span class="badge health-badge health-failing badge-danger" '
        'title="Error rate failing: 9% over 300 cases: should be at most 2%.">✗ Failing</span>'
        '<span class="visually-hidden">: Error rate failing: 9% over 300 cases: should be at '
        "most 2%.</span>"
    ) in html
    assert '<span class="adoption-figure">50.0%</span>' in html
    assert '<span class="sub">2 of 4 members</span>' in html
    # Labelled with what it counts: members active at least once in the last 30 days.
    assert "Active members (30 days)" in html
    assert 'class="sparkline" role="img" aria-label="Daily active people over 30 days:' in html
    assert rows["address-matching"].health.status == "healthy"
    assert rows["address-matching"].health.phase_label == "Shadow mode"
    assert rows["address-matching"].adoption is None
    assert rows["address-matching"].adoption_text == "No cohort members yet"
    assert rows["invoice-coding"].health.phase_label == "No plan yet"
    assert rows["invoice-coding"].health.status == "no_data"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("health", ["support-reply-drafting", "invoice-coding", "address-matching"]),
        ("-health", ["address-matching", "invoice-coding", "support-reply-drafting"]),
        ("phase", ["address-matching", "support-reply-drafting", "invoice-coding"]),
        ("-phase", ["support-reply-drafting", "address-matching", "invoice-coding"]),
        # Workflows without a figure go last, whichever the direction.
        ("adoption", ["support-reply-drafting", "address-matching", "invoice-coding"]),
        ("-adoption", ["support-reply-drafting", "address-matching", "invoice-coding"]),
    ],
)
def test_sort_by_health_phase_and_adoption(client, ops_leader, measured, sort, expected):
    client.force_login(ops_leader)

    response = client.get(URL, {"sort": sort})

    assert slugs_in(response) == expected
    assert response.context["sort"] == sort


def test_cohort_members_see_the_phase_but_not_health_or_adoption(client, ops_leader, measured):
    from rollout.models import Cohort

    member = Cohort.objects.get(name="EU agents").members.first()
    client.force_login(member)

    response = client.get(URL)

    [row] = response.context["workflows"]
    assert row.shows_health is False
    html = response.content.decode()
    assert "Limited roll-out" in html
    assert "Failing" not in html
    assert "2 of 4 members" not in html
    assert "sparkline" not in html


def test_portfolio_queries_stay_bounded_with_usage_and_health(
    django_assert_max_num_queries, ops_leader, workflow_owner
):
    from rollout.models import CohortDrift
    from rollout.services.escalations import escalation_open
    from tests.rollout.outcome_fixtures import handle_time, person_days
    from tests.rollout.promotion_fixtures import make_plan
    from tests.rollout.views.usage_page_data import (
        day_events,
        days_ago,
        make_cohort,
        member_ref,
        record_usage,
    )

    for n in range(12):
        flow = make_workflow(owner=workflow_owner, actor=ops_leader, slug=f"flow-{n}")
        make_plan(flow, current="limited")
        cohort = make_cohort(flow, ops_leader, f"Cohort {n}", 2)
        events = []
        for day in range(0, 30, 3):
            events += day_events(member_ref(cohort, day % 2), days_ago(day), invocations=2)
        record_usage(flow, events)
        CohortDrift.objects.create(
            workflow=flow,
            cohort=cohort,
            scope_key=str(cohort.pk),
            metric="override_rate",
            status="degrading",
            explanation="Rose.",
            computed_at=timezone.now(),
        )
        for severity in ("critical", "high"):
            escalation_open(workflow=flow, title="Refunds", source="manual", severity=severity)
        handle_time(flow)
        for day in range(0, 28, 4):
            person_days(flow, cohort, "ai", [100.0 + i for i in range(12)], day=days_ago(day))
            person_days(flow, cohort, "holdout", [130.0 + i for i in range(12)], day=days_ago(day))
    leader, owner_client = as_user(ops_leader), as_user(workflow_owner)

    # As test_portfolio_queries_are_bounded: 16, +1 for the open escalations, +2 for the
    # outcomes (metrics, per-person sums).
    leader.get(URL)  # fills the process's caches (content types), as any earlier test may have
    with django_assert_max_num_queries(19):
        response = leader.get(URL, {"sort": "health"})
    assert {w.health.status for w in response.context["workflows"]} == {"at_risk"}
    assert {w.open_escalations for w in response.context["workflows"]} == {(2, 1)}
    assert {w.impact_headline for w in response.context["workflows"]} == {
        "Handle time: AI -30.0 s vs holdout (95% interval -33.1 s to -26.9 s; 12 and 12 people)"
    }
    # The row shows a few words (lower is better for handle time), the sentence on hover.
    assert {w.impact_short for w in response.context["workflows"]} == {
        "Handle time: AI -30.0 s, better"
    }
    with django_assert_max_num_queries(19):
        response = owner_client.get(URL, {"sort": "-adoption"})
    assert len(response.context["workflows"]) == 12
    assert all(w.adoption == 1.0 for w in response.context["workflows"])


# --- Open escalations -------------------------------------------------------------------------


def test_open_escalations_are_flagged_under_the_health_badge_critical_ones_highlighted(
    client, ops_leader, portfolio
):
    from rollout.services.escalations import (
        escalation_acknowledge,
        escalation_open,
        escalation_resolve,
    )

    support, invoice, address = portfolio

    def escalate(workflow, severity="high"):
        return escalation_open(
            workflow=workflow, title="Refunds", source="manual", severity=severity
        )

    escalate(support, "critical")
    escalate(support)
    escalation_acknowledge(escalation=escalate(support, "critical"), actor=ops_leader)
    escalation_resolve(escalation=escalate(support, "critical"), actor=ops_leader, note="Fixed")
    escalate(address, "medium")
    client.force_login(ops_leader)

    response = client.get(URL)

    rows = {w.slug: w for w in response.context["workflows"]}
    # Open and acknowledged count; resolved ones do not.
    assert rows[support.slug].open_escalations == (3, 2)
    assert rows[address.slug].open_escalations == (1, 0)
    assert rows[invoice.slug].open_escalations == (0, 0)
    html = response.content.decode()
    support_link = reverse("escalation_path", kwargs={"slug": support.slug})
    address_link = reverse("escalation_path", kwargs={"slug": address.slug})
    assert (
        f'<a class="sub escalation-flag" href="{support_link}">3 open escalations, '
        "<strong>2 critical</strong></a>" in html
    )
    assert f'<a class="sub escalation-flag" href="{address_link}">1 open escalation</a>' in html
    assert reverse("escalation_path", kwargs={"slug": invoice.slug}) not in html


def test_cohort_members_do_not_see_open_escalations(client, ops_leader, measured):
    from rollout.models import Cohort
    from rollout.services.escalations import escalation_open

    support = measured[0]
    escalation_open(workflow=support, title="Refunds", source="manual", severity="critical")
    client.force_login(Cohort.objects.get(name="EU agents").members.first())

    html = client.get(URL).content.decode()

    assert "open escalation" not in html

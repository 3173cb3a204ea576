from django.urls import reverse

from accounts.services import user_deactivate
from rollout.services.escalations import MSG_NOT_OPEN, escalation_acknowledge
from rollout.views.home import OWNERLESS_SHOWN
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import as_user, login_redirect, template_names

URL = reverse("home")


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == login_redirect(URL)


def test_post_is_not_allowed(client, other_user):
    client.force_login(other_user)

    assert client.post(URL).status_code == 405


def test_user_without_a_role_gets_an_explanation_and_the_portfolio_link(client, other_user):
    client.force_login(other_user)

    response = client.get(URL)

    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/home.html"
    html = response.content.decode()
    assert "<h1>My home</h1>" in html
    assert "What's here for you" in html
    assert "You don't own a workflow and hold no org-wide role." in html
    assert f'<a href="{reverse("workflow_portfolio")}">Browse the workflow portfolio</a>' in html
    assert "Workflows I own" not in html
    assert "need a new owner" not in html
    assert "New workflow" not in html


def test_owner_sees_the_workflows_they_own(client, workflow, workflow_owner):
    someone_elses = make_workflow(name="Someone else's", slug="someone-elses")
    client.force_login(workflow_owner)

    response = client.get(URL)

    html = response.content.decode()
    assert [row.workflow for row in response.context["owned"]] == [workflow]
    assert "Workflows I own" in html
    assert f'<a href="/workflows/support-reply-drafting/">{workflow.name}</a>' in html
    assert "No plan yet" in html and "Not enough data" in html
    assert f'<time datetime="{workflow.last_activity_at.isoformat()}">' in html
    assert someone_elses.name not in html
    assert "What's here for you" not in html


def test_owned_workflows_are_listed_most_recently_active_first(client, workflow_owner, ops_leader):
    first = make_workflow(owner=workflow_owner, actor=ops_leader, name="A first", slug="a-first")
    second = make_workflow(owner=workflow_owner, actor=ops_leader, name="B second", slug="b-second")
    client.force_login(workflow_owner)

    response = client.get(URL)

    assert [row.workflow for row in response.context["owned"]] == [second, first]


def test_ops_leader_sees_ownerless_workflows_to_hand_over(client, ops_leader, ownerless_workflow):
    client.force_login(ops_leader)

    response = client.get(URL)

    html = response.content.decode()
    assert "1 workflow needs a new owner" in html
    assert (
        '<a href="/workflows/invoice-coding/handover/">Name a new owner for Invoice coding</a>'
        in html
    )
    assert "(was Gina Gone)" in html
    assert "You are an <strong>ops leader</strong>" in html
    assert '<a class="button" href="/workflows/new/">New workflow</a>' in html


def test_the_ownerless_callout_is_capped_with_a_link_to_the_rest(client, ops_leader):
    gone = UserFactory()
    for n in range(OWNERLESS_SHOWN + 2):
        make_workflow(owner=gone, actor=ops_leader, name=f"Flow {n:02}", slug=f"flow-{n}")
    user_deactivate(actor=ops_leader, user=gone)
    client.force_login(ops_leader)

    response = client.get(URL)

    html = response.content.decode()
    assert f"{OWNERLESS_SHOWN + 2} workflows need a new owner" in html
    assert len(response.context["ownerless"]) == OWNERLESS_SHOWN
    assert (
        f'<a href="/workflows/?ownerless=on">See all {OWNERLESS_SHOWN + 2} ownerless workflows</a>'
        in html
    )


def test_ops_leader_without_ownerless_workflows_sees_no_callout(client, ops_leader, workflow):
    client.force_login(ops_leader)

    html = client.get(URL).content.decode()

    assert "need a new owner" not in html
    assert "needs a new owner" not in html


def test_executive_is_told_they_see_everything_read_only_and_gets_no_callout(
    client, executive, ownerless_workflow
):
    client.force_login(executive)

    html = client.get(URL).content.decode()

    assert "You are an <strong>executive viewer</strong>" in html
    assert "You don't own a workflow yourself." in html
    assert "needs a new owner" not in html
    assert "New workflow" not in html


def test_home_queries_are_bounded(django_assert_max_num_queries, ops_leader):
    owner = UserFactory()
    gone = UserFactory()
    for n in range(25):
        make_workflow(owner=owner, actor=ops_leader, slug=f"owned-{n}")
        make_workflow(owner=gone, actor=ops_leader, slug=f"orphan-{n}")
    user_deactivate(actor=ops_leader, user=gone)
    leader, owner_client = as_user(ops_leader), as_user(owner)

    # The ops leader: 8, plus one each for escalations waiting on me, my open feedback, my
    # notices and the review queues waiting for me, plus the portfolio summary (10, +1 for the
    # live data sources' flags). The owner: 8 + 4 + the owned rows' health (3, +1 for the live
    # data sources' flags), open feedback and escalations (3).
    with django_assert_max_num_queries(23):
        assert leader.get(URL).status_code == 200
    with django_assert_max_num_queries(19):
        response = owner_client.get(URL)
    assert len(response.context["owned"]) == 25


def test_escalations_waiting_on_me_are_listed(workflow, workflow_owner, ops_leader):
    from rollout.models import EscalationLevel
    from rollout.services.escalations import escalation_open

    EscalationLevel.objects.create(
        workflow=workflow,
        position=1,
        contact=ops_leader,
        channel="in_app",
        response_target_minutes=30,
    )
    escalation = escalation_open(
        workflow=workflow, title="Refund promises in replies", source="manual", actor=workflow_owner
    )

    response = as_user(ops_leader).get(URL)

    assert response.context["my_escalations"] == [escalation]
    assert "Refund promises in replies" in response.content.decode()
    assert as_user(workflow_owner).get(URL).context["my_escalations"] == []


def test_my_open_feedback_is_listed(workflow, workflow_owner):
    from rollout.services.feedback import feedback_create

    feedback = feedback_create(
        workflow=workflow, rating="not_helpful", category="wrong_output", author=workflow_owner
    )

    response = as_user(workflow_owner).get(URL)

    assert response.context["my_feedback"] == [feedback]
    assert "Wrong output on Support reply drafting" in response.content.decode()


def test_my_notices_are_listed_unread_first(db):
    from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
    from tests.rollout.notice_fixtures import make_notice, make_scene

    scene = make_scene()
    make_notice(scene, title="Older, already read")
    notices_publish_due()
    notice_deliveries_send()
    scene.amy.notice_receipts.update(read_at=scene.amy.date_joined)
    make_notice(scene, title="New reply prompt")
    notices_publish_due()
    notice_deliveries_send()

    response = as_user(scene.amy).get(URL)

    titles = [r.notice.title for r in response.context["my_notices"]]
    assert titles == ["New reply prompt", "Older, already read"]
    assert "<strong>New reply prompt</strong>" in response.content.decode()


def _critical_escalation(workflow, contact, actor, title):
    from rollout.models import EscalationLevel
    from rollout.services.escalations import escalation_open

    EscalationLevel.objects.get_or_create(
        workflow=workflow,
        position=1,
        defaults={"contact": contact, "channel": "in_app", "response_target_minutes": 30},
    )
    return escalation_open(
        workflow=workflow, title=title, source="manual", actor=actor, severity="critical"
    )


def test_executive_home_opens_with_the_portfolio_in_numbers(
    executive, ops_leader, workflow, workflow_owner
):
    from rollout.models import Cohort, CohortMember

    other = make_workflow(owner=workflow_owner, actor=ops_leader, name="Claims triage")
    cohort = Cohort.objects.create(workflow=workflow, name="EU agents")
    CohortMember.objects.bulk_create(
        [CohortMember(cohort=cohort, user=UserFactory()) for _ in range(4)]
    )
    escalation = _critical_escalation(other, ops_leader, workflow_owner, "Wrong refund amounts")

    response = as_user(executive).get(URL)

    summary = response.context["summary"]
    assert (summary.workflows, summary.members, summary.active) == (2, 4, 0)
    assert (summary.open_escalations, summary.critical_count) == (1, 1)
    assert summary.critical == [escalation]
    assert [(t.label, t.count) for t in summary.by_phase] == [("No phase in progress", 2)]
    assert [(t.label, t.count) for t in summary.by_health] == [("Not enough data", 2)]
    html = response.content.decode()
    assert "The portfolio" in html and "Active in the last 30 days" in html
    assert "0.0%" in html and "0 of 4 cohort members" in html
    assert "Wrong refund amounts" in html and "Claims triage" in html


def test_only_those_who_see_every_workflow_get_the_portfolio_summary(
    ops_leader, workflow, workflow_owner, other_user
):
    assert "summary" in as_user(ops_leader).get(URL).context
    for person in (workflow_owner, other_user):
        response = as_user(person).get(URL)
        assert "summary" not in response.context
        assert "The portfolio" not in response.content.decode()


def test_the_owner_sees_each_workflow_with_its_phase_health_feedback_and_escalations(
    workflow, workflow_owner, ops_leader
):
    from rollout.models import Feedback

    Feedback.objects.create(workflow=workflow, rating="negative", category="wrong", text="x")
    Feedback.objects.create(
        workflow=workflow, rating="negative", category="wrong", text="y", status="resolved"
    )
    _critical_escalation(workflow, ops_leader, workflow_owner, "Refund promises")

    response = as_user(workflow_owner).get(URL)

    [row] = response.context["owned"]
    assert (row.open_feedback, row.open_escalations, row.unacknowledged) == (1, 1, 1)
    html = response.content.decode()
    assert f'<a href="/workflows/{workflow.slug}/feedback/">1 open</a>' in html
    assert f'<a href="/workflows/{workflow.slug}/escalation/">1 open</a>' in html
    assert "1 not acknowledged" in html


def test_the_executive_home_costs_the_same_queries_for_one_workflow_or_many(
    executive, ops_leader, workflow, workflow_owner
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(executive)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    few = queries()
    for n in range(6):
        other = make_workflow(owner=workflow_owner, actor=ops_leader, slug=f"more-{n}")
        _critical_escalation(other, ops_leader, workflow_owner, f"Critical {n}")
    assert queries() == few


def _paged_about(workflow, contact, actor):
    """An escalation whose level 1 is `contact`, and the notification that paged them."""
    from rollout.models import Notification

    escalation = _critical_escalation(workflow, contact, actor, "Harmful draft")
    notification = Notification.objects.get(
        recipient=contact, url=f"/workflows/{workflow.slug}/escalations/{escalation.pk}/"
    )
    return escalation, notification


def test_a_page_about_an_escalation_offers_acknowledge_and_acknowledging_stops_the_climb(
    workflow, workflow_owner, ops_leader
):
    escalation, notification = _paged_about(workflow, ops_leader, workflow_owner)
    leader = as_user(ops_leader)

    html = leader.get(URL).content.decode()
    ack_url = f"/notifications/{notification.pk}/acknowledge/"
    assert f'action="{ack_url}"' in html
    assert "Acknowledge<span" in html

    response = leader.post(ack_url)

    assert response.status_code == 302
    assert response["Location"] == f"/workflows/{workflow.slug}/escalations/{escalation.pk}/"
    escalation.refresh_from_db()
    notification.refresh_from_db()
    assert (escalation.status, escalation.acknowledged_by) == ("acknowledged", ops_leader)
    assert notification.read_at is not None
    # Read now, and the case taken on: nothing left to acknowledge.
    assert ack_url not in leader.get(URL).content.decode()


def test_acknowledging_twice_says_why_and_changes_nothing(workflow, workflow_owner, ops_leader):
    escalation, notification = _paged_about(workflow, ops_leader, workflow_owner)
    leader = as_user(ops_leader)
    escalation_acknowledge(escalation=escalation, actor=workflow_owner)

    response = leader.post(f"/notifications/{notification.pk}/acknowledge/", follow=True)

    assert response.redirect_chain[-1][0] == URL
    assert MSG_NOT_OPEN in response.content.decode()
    escalation.refresh_from_db()
    notification.refresh_from_db()
    assert escalation.acknowledged_by == workflow_owner
    assert notification.read_at is None


def test_only_a_page_about_an_escalation_can_be_acknowledged(workflow, workflow_owner, other_user):
    from rollout.models import Notification

    plain = Notification.objects.create(recipient=workflow_owner, workflow=workflow, title="Hi")
    owner = as_user(workflow_owner)
    assert owner.post(f"/notifications/{plain.pk}/acknowledge/").status_code == 404
    assert owner.get(f"/notifications/{plain.pk}/acknowledge/").status_code == 405
    assert as_user(other_user).post(f"/notifications/{plain.pk}/acknowledge/").status_code == 404


def test_reviewers_and_the_owner_are_pointed_to_outputs_waiting_for_review(
    workflow, workflow_owner, ops_leader, other_user
):
    from rollout.models import OutputReviewer
    from tests.rollout.output_review_fixtures import make_review

    reviewer = UserFactory(email="rita.reviewer@example.com")
    OutputReviewer.objects.create(workflow=workflow, user=reviewer, added_by=workflow_owner)
    make_review(workflow, None, days_ago=3)
    make_review(workflow, None, days_ago=1)
    make_review(workflow, None, grade="right", days_ago=2)
    queue_url = reverse("workflow_review_queue", args=[workflow.slug])

    for person in (reviewer, workflow_owner):
        response = as_user(person).get(URL)
        [queue] = response.context["my_review_queues"]
        assert (queue.workflow, queue.waiting) == (workflow, 2)
        html = response.content.decode()
        assert f'href="{queue_url}"' in html
        assert "Support reply drafting: 2 outputs to grade" in html
    # Nobody else is pointed there: not an unrelated person, not an ops leader who was not named.
    for person in (other_user, ops_leader):
        response = as_user(person).get(URL)
        assert response.context["my_review_queues"] == []
        assert "waiting for your review" not in response.content.decode()


def test_a_graded_queue_or_a_retired_workflow_points_nobody_to_it(workflow, workflow_owner):
    from django.utils import timezone

    from tests.rollout.output_review_fixtures import make_review

    make_review(workflow, None, grade="wrong")
    assert as_user(workflow_owner).get(URL).context["my_review_queues"] == []
    make_review(workflow, None)
    assert len(as_user(workflow_owner).get(URL).context["my_review_queues"]) == 1
    type(workflow).objects.filter(pk=workflow.pk).update(retired_at=timezone.now())
    assert as_user(workflow_owner).get(URL).context["my_review_queues"] == []

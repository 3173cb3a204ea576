"""The notices pages: the list with its "New notice" form, the edit page with its actions, the
live preview, and the urgent notices on the approvals page — for every role."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from rollout.models import ChangeNotice, Cohort, NoticeStatus, Workflow
from rollout.services import notices as svc
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.views import notices as views
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user
from tests.rollout.views.conftest import as_user, login_redirect, template_names

pytestmark = pytest.mark.django_db

LIST = "rollout/workflow_notices.html"
EDIT = "rollout/notice_edit.html"
FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def eu(workflow: Workflow, workflow_owner: User) -> Cohort:
    return cohort_create(workflow=workflow, name="EU agents", actor=workflow_owner)


@pytest.fixture
def member(workflow_owner: User, eu: Cohort) -> User:
    person = UserFactory(email="amy@example.com", display_name="Amy Agent")
    cohort_members_add(cohort=eu, users=[person], actor=workflow_owner)
    return person


def list_url(workflow: Workflow) -> str:
    return reverse("workflow_notices", args=[workflow.slug])


def edit_url(notice: ChangeNotice) -> str:
    return reverse("notice_edit", args=[notice.workflow.slug, notice.pk])


def preview_url(workflow: Workflow) -> str:
    return reverse("notice_preview", args=[workflow.slug])


def form_data(cohorts: list[Cohort], *, lead_days: float = 6, **over) -> dict:
    publish = timezone.localtime() + timedelta(days=1)
    data = {
        "title": "New model from Monday",
        "kind": "model_change",
        "body": "We move to **gpt-6**. <script>alert(1)</script>",
        "audience": "cohorts",
        "cohorts": [c.pk for c in cohorts],
        "include_followers": "on",
        "publish_at": publish.strftime(FMT),
        "effective_at": (publish + timedelta(days=lead_days)).strftime(FMT),
        "requires_ack": "on",
        "reminder_hours": "",
        "urgent_reason": "",
    }
    data.update(over)
    return data


def a_notice(workflow: Workflow, actor: User, cohorts: list[Cohort], **over) -> ChangeNotice:
    now = timezone.now()
    values = {
        "kind": "prompt_change",
        "title": "Shorter replies",
        "body": "Replies get *shorter*.",
        "publish_at": now + timedelta(days=1),
        "effective_at": now + timedelta(days=8),
    }
    values.update(over)
    return svc.notice_create(workflow=workflow, actor=actor, cohorts=cohorts, **values)


# --- the list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "ops"])
def test_authors_see_the_list_and_the_form(workflow, workflow_owner, ops_leader, eu, who):
    notice = a_notice(workflow, workflow_owner, [eu])
    user = workflow_owner if who == "owner" else ops_leader
    response = as_user(user).get(list_url(workflow))
    assert response.status_code == 200
    assert template_names(response)[0] == LIST
    html = response.content.decode()
    assert '<h2 id="new-notice-heading">New notice</h2>' in html
    assert f'<a href="{edit_url(notice)}">Shorter replies</a>' in html
    assert '<h3 id="notices-draft">Drafts <span class="muted">(1)</span></h3>' in html
    assert '<td data-label="Audience">EU agents + followers</td>' in html
    assert 'aria-current="page">Notices</a>' in html


def test_executives_read_the_list_without_the_form(workflow, workflow_owner, eu):
    a_notice(workflow, workflow_owner, [eu])
    response = as_user(executive_user()).get(list_url(workflow))
    assert response.status_code == 200
    html = response.content.decode()
    assert "New notice" not in html
    assert "Shorter replies" in html
    assert edit_url(ChangeNotice.objects.get()) not in html


def test_members_and_strangers_get_404(workflow, member):
    assert as_user(member).get(list_url(workflow)).status_code == 404
    assert as_user(UserFactory()).get(list_url(workflow)).status_code == 404
    # and the tab is not shown to members
    html = as_user(member).get(reverse("workflow_feedback", args=[workflow.slug])).content
    assert b">Notices</a>" not in html


def test_anonymous_is_sent_to_sign_in(client, workflow):
    response = client.get(list_url(workflow))
    assert response["Location"] == login_redirect(list_url(workflow))


def test_executive_cannot_post(workflow, eu):
    response = as_user(executive_user()).post(list_url(workflow), form_data([eu]))
    assert response.status_code == 404
    assert not ChangeNotice.objects.exists()


def test_the_list_groups_by_status_with_urgent_badge(
    workflow, workflow_owner, ops_leader, eu, member
):
    a_notice(workflow, workflow_owner, [eu], title="A draft")
    scheduled = a_notice(workflow, workflow_owner, [eu], title="Scheduled one")
    svc.notice_schedule(notice=scheduled, actor=workflow_owner)
    urgent = a_notice(
        workflow,
        workflow_owner,
        [eu],
        title="Urgent one",
        effective_at=timezone.now() + timedelta(days=2),
        urgent_reason="Security fix.",
    )
    svc.notice_schedule(notice=urgent, actor=workflow_owner)
    cancelled = a_notice(workflow, workflow_owner, [eu], title="Cancelled one")
    svc.notice_cancel(notice=cancelled, actor=workflow_owner)
    html = as_user(workflow_owner).get(list_url(workflow)).content.decode()
    order = [html.index(f'id="notices-{s}"') for s in ("draft", "awaiting_approval", "scheduled")]
    assert order == sorted(order)
    assert html.index('id="notices-scheduled"') < html.index('id="notices-cancelled"')
    assert '<span class="badge badge-danger">Urgent</span>' in html


def test_the_list_uses_a_bounded_number_of_queries(
    django_assert_max_num_queries, workflow, workflow_owner, eu
):
    others = [
        cohort_create(workflow=workflow, name=f"C{n}", actor=workflow_owner) for n in range(3)
    ]
    for n in range(15):
        a_notice(workflow, workflow_owner, [eu, *others], title=f"Notice {n}")
    client = as_user(workflow_owner)
    with django_assert_max_num_queries(14):
        response = client.get(list_url(workflow))
    assert response.content.decode().count("Notice ") >= 15


# --- writing -------------------------------------------------------------------------------------


def test_save_a_draft(workflow, workflow_owner, eu):
    response = as_user(workflow_owner).post(list_url(workflow), form_data([eu], action="draft"))
    notice = ChangeNotice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == edit_url(notice)
    assert notice.status == NoticeStatus.DRAFT
    assert notice.body_html == "<p>We move to <strong>gpt-6</strong>. </p>"


def test_schedule_from_the_new_form(workflow, workflow_owner, eu):
    client = as_user(workflow_owner)
    response = client.post(list_url(workflow), form_data([eu], action="schedule"), follow=True)
    notice = ChangeNotice.objects.get()
    assert notice.status == NoticeStatus.SCHEDULED
    assert "Scheduled “New model from Monday” to publish" in response.content.decode()


def test_urgent_without_a_reason_stays_on_the_form(workflow, workflow_owner, eu):
    response = as_user(workflow_owner).post(
        list_url(workflow), form_data([eu], lead_days=1, action="schedule")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert svc.MSG_URGENT_REASON_REQUIRED.format(days=5).replace("'", "&#x27;") in html
    assert '<details class="notice-urgent-reason" open>' in html
    assert not ChangeNotice.objects.exists()


def test_urgent_with_a_reason_waits_for_approval(workflow, workflow_owner, eu):
    data = form_data([eu], lead_days=1, action="schedule", urgent_reason="Security fix.")
    as_user(workflow_owner).post(list_url(workflow), data)
    notice = ChangeNotice.objects.get()
    assert (notice.status, notice.urgent) == (NoticeStatus.AWAITING_APPROVAL, True)


def test_effective_before_publish_is_shown_beside_the_field(workflow, workflow_owner, eu):
    response = as_user(workflow_owner).post(
        list_url(workflow), form_data([eu], lead_days=-1, action="draft")
    )
    html = response.content.decode()
    assert (
        f'<p class="error" id="id_effective_at_error">{svc.MSG_EFFECTIVE_BEFORE_PUBLISH}</p>'
        in html
    )


def test_foreign_cohorts_are_refused_by_name(workflow, workflow_owner, ops_leader, eu):
    other = make_workflow(actor=ops_leader)
    foreign = cohort_create(workflow=other, name="Finance team", actor=ops_leader)
    response = as_user(workflow_owner).post(
        list_url(workflow), form_data([eu, foreign], action="draft")
    )
    assert response.status_code == 200
    message = svc.MSG_FOREIGN_COHORTS.format(names="“Finance team”")
    assert f'<p class="error">{message}</p>' in response.content.decode()
    assert not ChangeNotice.objects.exists()


def test_preview_without_javascript(workflow, workflow_owner, eu):
    response = as_user(workflow_owner).post(list_url(workflow), form_data([eu], action="preview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<p>We move to <strong>gpt-6</strong>. </p>" in html
    assert "alert(1)" not in html.split('id="notice-preview"')[1]
    assert not ChangeNotice.objects.exists()


def test_live_preview_fragment(workflow, workflow_owner, eu, member):
    response = as_user(workflow_owner).post(
        preview_url(workflow), form_data([eu], lead_days=2), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/_notice_preview.html"
    html = response.content.decode()
    assert "<!doctype" not in html.lower()
    assert "New model from Monday" in html
    assert "To: EU agents + followers" in html
    assert "it is urgent" in html  # two days is shorter than the lead time
    assert '<span class="badge badge-danger">Urgent</span>' in html


def test_preview_warns_of_an_empty_audience(workflow, workflow_owner, eu):
    response = as_user(workflow_owner).post(preview_url(workflow), form_data([eu]))
    assert "Nobody would receive this notice today" in response.content.decode()


def test_preview_of_nothing(workflow, workflow_owner):
    response = as_user(workflow_owner).post(preview_url(workflow), {})
    assert response.status_code == 200
    assert "(No title yet)" in response.content.decode()


def test_preview_is_for_authors_only(workflow, member):
    assert as_user(executive_user()).post(preview_url(workflow), {}).status_code == 404
    assert as_user(member).post(preview_url(workflow), {}).status_code == 404


# --- the edit page -------------------------------------------------------------------------------


def test_edit_page_for_authors_only(workflow, workflow_owner, ops_leader, eu, member):
    notice = a_notice(workflow, workflow_owner, [eu])
    for user in (workflow_owner, ops_leader):
        response = as_user(user).get(edit_url(notice))
        assert response.status_code == 200
        assert template_names(response)[0] == EDIT
    for user in (executive_user(), member, UserFactory()):
        assert as_user(user).get(edit_url(notice)).status_code == 404


def test_a_notice_of_another_workflow_is_404(workflow, workflow_owner, ops_leader, eu):
    other = make_workflow(owner=workflow_owner, actor=ops_leader)
    notice = a_notice(workflow, workflow_owner, [eu])
    url = reverse("notice_edit", args=[other.slug, notice.pk])
    assert as_user(workflow_owner).get(url).status_code == 404


def test_edit_save(workflow, workflow_owner, eu):
    notice = a_notice(workflow, workflow_owner, [eu])
    data = form_data([eu], action="save", title="Renamed")
    response = as_user(workflow_owner).post(edit_url(notice), data)
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.title == "Renamed"


def test_edit_schedule_then_cancel(workflow, workflow_owner, eu):
    notice = a_notice(workflow, workflow_owner, [eu])
    client = as_user(workflow_owner)
    assert client.post(edit_url(notice), {"action": "schedule"}).status_code == 302
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SCHEDULED
    response = client.post(edit_url(notice), {"action": "cancel"}, follow=True)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.CANCELLED
    assert "Cancelled “Shorter replies”" in response.content.decode()


def test_refused_schedule_is_flashed(workflow, workflow_owner, eu):
    notice = a_notice(
        workflow, workflow_owner, [eu], effective_at=timezone.now() + timedelta(days=2)
    )
    response = as_user(workflow_owner).post(edit_url(notice), {"action": "schedule"})
    assert response.status_code == 200
    assert "it is urgent: write why it cannot wait" in response.content.decode()


def test_approve_urgent_from_the_edit_page(workflow, workflow_owner, ops_leader, eu):
    notice = a_notice(
        workflow,
        workflow_owner,
        [eu],
        effective_at=timezone.now() + timedelta(days=2),
        urgent_reason="Security fix.",
    )
    svc.notice_schedule(notice=notice, actor=workflow_owner)
    owner_html = as_user(workflow_owner).get(edit_url(notice)).content.decode()
    assert "Approve urgent notice" not in owner_html
    ops = as_user(ops_leader)
    assert "Approve urgent notice" in ops.get(edit_url(notice)).content.decode()
    assert ops.post(edit_url(notice), {"action": "approve"}).status_code == 302
    notice.refresh_from_db()
    assert (notice.status, notice.approved_by) == (NoticeStatus.SCHEDULED, ops_leader)


def test_an_ops_leader_is_not_offered_to_approve_their_own(workflow, ops_leader, eu):
    notice = a_notice(
        workflow,
        ops_leader,
        [eu],
        effective_at=timezone.now() + timedelta(days=2),
        urgent_reason="Fix.",
    )
    svc.notice_schedule(notice=notice, actor=ops_leader)
    client = as_user(ops_leader)
    assert "Approve urgent notice" not in client.get(edit_url(notice)).content.decode()
    response = client.post(edit_url(notice), {"action": "approve"})
    assert svc.MSG_OWN_NOTICE in response.content.decode()
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.AWAITING_APPROVAL


def test_a_published_notice_is_read_only(workflow, workflow_owner, eu):
    notice = a_notice(workflow, workflow_owner, [eu])
    ChangeNotice.objects.filter(pk=notice.pk).update(
        status=NoticeStatus.PUBLISHED, published_at=timezone.now()
    )
    client = as_user(workflow_owner)
    html = client.get(edit_url(notice)).content.decode()
    assert "it can no longer be changed" in html
    assert 'name="action" value="save"' not in html
    response = client.post(edit_url(notice), form_data([eu], action="save", title="X"), follow=True)
    assert svc.MSG_PUBLISHED in response.content.decode()
    notice.refresh_from_db()
    assert notice.title == "Shorter replies"


def test_unknown_action(workflow, workflow_owner, eu):
    notice = a_notice(workflow, workflow_owner, [eu])
    response = as_user(workflow_owner).post(edit_url(notice), {"action": "explode"})
    assert response.status_code == 400
    assert response.content.decode() == views.MSG_UNKNOWN_ACTION


def test_the_edit_page_uses_a_bounded_number_of_queries(
    django_assert_max_num_queries, workflow, workflow_owner, eu
):
    others = [
        cohort_create(workflow=workflow, name=f"C{n}", actor=workflow_owner) for n in range(8)
    ]
    notice = a_notice(workflow, workflow_owner, [eu, *others])
    client = as_user(workflow_owner)
    with django_assert_max_num_queries(16):
        assert client.get(edit_url(notice)).status_code == 200


# --- approvals page ------------------------------------------------------------------------------


def test_urgent_notices_are_listed_for_ops_leaders(workflow, workflow_owner, ops_leader, eu):
    notice = a_notice(
        workflow,
        workflow_owner,
        [eu],
        effective_at=timezone.now() + timedelta(days=2),
        urgent_reason="Security fix.",
    )
    svc.notice_schedule(notice=notice, actor=workflow_owner)
    html = as_user(ops_leader).get(reverse("approval_list")).content.decode()
    assert "Urgent notices waiting for approval" in html
    assert f'<a href="{edit_url(notice)}">Shorter replies</a>' in html
    assert "Security fix." in html
    second = ops_leader_user()
    assert as_user(second).get(reverse("approval_list")).status_code == 200


def test_a_title_with_a_line_break_stays_on_the_form_with_a_clear_message(
    workflow, workflow_owner, eu
):
    """Issue 13, item 1: a title reaches the email subject, which must be one line."""
    from core.text import MSG_ONE_LINE

    response = as_user(workflow_owner).post(
        list_url(workflow),
        form_data([eu], title="New model\r\nBcc: all@example.com", action="draft"),
    )

    assert response.status_code == 200
    assert MSG_ONE_LINE in response.content.decode()
    assert not ChangeNotice.objects.exists()


def test_the_service_refuses_a_title_with_a_control_character(workflow, workflow_owner, eu):
    from core.errors import ApplicationError
    from core.text import MSG_ONE_LINE

    with pytest.raises(ApplicationError) as error:
        a_notice(workflow, workflow_owner, [eu], title="Shorter\nreplies")
    assert (error.value.field, error.value.message) == ("title", MSG_ONE_LINE)

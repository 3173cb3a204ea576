from django.urls import path

from rollout.views.activity import workflow_activity
from rollout.views.ai_config import workflow_configuration
from rollout.views.api_tokens import workflow_token_revoke, workflow_tokens
from rollout.views.approval_links import approval_link
from rollout.views.blackouts import (
    blackout_delete,
    blackout_list,
    workflow_blackout_add,
    workflow_blackout_delete,
)
from rollout.views.briefings import workflow_briefing
from rollout.views.calendar import calendar, calendar_feed, calendar_feed_token
from rollout.views.cohort_review_level import cohort_review_level
from rollout.views.cohorts import workflow_cohort_csv, workflow_cohorts
from rollout.views.escalation_path import escalation_path
from rollout.views.escalations import escalation_detail
from rollout.views.evidence import (
    evidence_board_pack,
    evidence_csv,
    evidence_json,
    evidence_timeline,
    workflow_evidence,
)
from rollout.views.feedback import feedback_detail, feedback_new, workflow_feedback
from rollout.views.follows import workflow_follow
from rollout.views.holdouts import workflow_cohort_holdout
from rollout.views.home import home, notification_acknowledge, notification_read
from rollout.views.inbox import inbox, inbox_count, inbox_notice
from rollout.views.incidents import incident_detail, workflow_incidents
from rollout.views.model_prices import workflow_model_prices
from rollout.views.notice_detail import notice_detail
from rollout.views.notices import notice_edit, notice_preview, workflow_notices
from rollout.views.org_activity import org_activity, org_activity_csv, org_activity_json
from rollout.views.outcome_metrics import workflow_outcomes
from rollout.views.people import people_search
from rollout.views.plan import (
    workflow_phase_edit,
    workflow_plan,
    workflow_plan_create,
    workflow_plan_settings,
    workflow_readiness_answer,
    workflow_source_delete,
    workflow_source_edit,
    workflow_source_new,
)
from rollout.views.portfolio import workflow_portfolio
from rollout.views.promotions import approval_list, workflow_gate, workflow_promotions
from rollout.views.review_queue import workflow_review_queue
from rollout.views.reviews import review_detail, workflow_reviews
from rollout.views.thresholds import threshold_delete, threshold_edit, workflow_thresholds
from rollout.views.usage import workflow_usage, workflow_usage_csv
from rollout.views.webhooks import workflow_webhooks
from rollout.views.workflows import (
    workflow_edit,
    workflow_handover,
    workflow_new,
    workflow_overview,
)

urlpatterns = [
    path("", home, name="home"),
    path("workflows/", workflow_portfolio, name="workflow_portfolio"),
    # The people picker's matches (rollout.forms.people), for the form named by ?purpose=.
    path("people/search/", people_search, name="people_search"),
    # Before the slug pattern: "new" is a reserved slug (rollout.services.workflows.RESERVED_SLUGS).
    path("workflows/new/", workflow_new, name="workflow_new"),
    path("workflows/<slug:slug>/", workflow_overview, name="workflow_overview"),
    path("workflows/<slug:slug>/edit/", workflow_edit, name="workflow_edit"),
    path("workflows/<slug:slug>/handover/", workflow_handover, name="workflow_handover"),
    path("workflows/<slug:slug>/activity/", workflow_activity, name="workflow_activity"),
    path(
        "workflows/<slug:slug>/configuration/",
        workflow_configuration,
        name="workflow_configuration",
    ),
    path(
        "workflows/<slug:slug>/configuration/prices/",
        workflow_model_prices,
        name="workflow_model_prices",
    ),
    path("workflows/<slug:slug>/reviews/", workflow_reviews, name="workflow_reviews"),
    path("workflows/<slug:slug>/reviews/<int:review_id>/", review_detail, name="review_detail"),
    path("workflows/<slug:slug>/tokens/", workflow_tokens, name="workflow_tokens"),
    path("workflows/<slug:slug>/webhooks/", workflow_webhooks, name="workflow_webhooks"),
    path("workflows/<slug:slug>/follow/", workflow_follow, name="workflow_follow"),
    path(
        "workflows/<slug:slug>/tokens/<int:token_id>/revoke/",
        workflow_token_revoke,
        name="workflow_token_revoke",
    ),
    path("workflows/<slug:slug>/plan/", workflow_plan, name="workflow_plan"),
    path("workflows/<slug:slug>/plan/create/", workflow_plan_create, name="workflow_plan_create"),
    path("workflows/<slug:slug>/plan/phase/", workflow_phase_edit, name="workflow_phase_edit"),
    path(
        "workflows/<slug:slug>/plan/settings/",
        workflow_plan_settings,
        name="workflow_plan_settings",
    ),
    path(
        "workflows/<slug:slug>/plan/readiness/",
        workflow_readiness_answer,
        name="workflow_readiness_answer",
    ),
    path(
        "workflows/<slug:slug>/plan/sources/new/", workflow_source_new, name="workflow_source_new"
    ),
    path(
        "workflows/<slug:slug>/plan/sources/edit/",
        workflow_source_edit,
        name="workflow_source_edit",
    ),
    path(
        "workflows/<slug:slug>/plan/sources/delete/",
        workflow_source_delete,
        name="workflow_source_delete",
    ),
    path("workflows/<slug:slug>/escalation/", escalation_path, name="escalation_path"),
    path(
        "workflows/<slug:slug>/escalations/<int:escalation_id>/",
        escalation_detail,
        name="escalation_detail",
    ),
    path("workflows/<slug:slug>/thresholds/", workflow_thresholds, name="workflow_thresholds"),
    path(
        "workflows/<slug:slug>/thresholds/<int:threshold_id>/edit/",
        threshold_edit,
        name="threshold_edit",
    ),
    path(
        "workflows/<slug:slug>/thresholds/<int:threshold_id>/delete/",
        threshold_delete,
        name="threshold_delete",
    ),
    path("workflows/<slug:slug>/incidents/", workflow_incidents, name="workflow_incidents"),
    path(
        "workflows/<slug:slug>/incidents/<int:incident_id>/",
        incident_detail,
        name="incident_detail",
    ),
    # Change notices: authoring (the detail page and the inbox are delivery's)
    path("workflows/<slug:slug>/notices/", workflow_notices, name="workflow_notices"),
    path("workflows/<slug:slug>/notices/<int:notice_id>/", notice_detail, name="notice_detail"),
    path("inbox/", inbox, name="inbox"),
    path("inbox/count/", inbox_count, name="inbox_count"),
    path("inbox/<int:receipt_id>/", inbox_notice, name="inbox_notice"),
    path("workflows/<slug:slug>/notices/preview/", notice_preview, name="notice_preview"),
    path("workflows/<slug:slug>/notices/<int:notice_id>/edit/", notice_edit, name="notice_edit"),
    path("workflows/<slug:slug>/usage/", workflow_usage, name="workflow_usage"),
    path("workflows/<slug:slug>/feedback/", workflow_feedback, name="workflow_feedback"),
    path(
        "workflows/<slug:slug>/feedback/<int:feedback_id>/",
        feedback_detail,
        name="feedback_detail",
    ),
    path("feedback/new/", feedback_new, name="feedback_new"),
    path("workflows/<slug:slug>/usage.csv", workflow_usage_csv, name="workflow_usage_csv"),
    path("workflows/<slug:slug>/cohorts/", workflow_cohorts, name="workflow_cohorts"),
    path("workflows/<slug:slug>/briefing/", workflow_briefing, name="workflow_briefing"),
    path(
        "workflows/<slug:slug>/cohorts/<int:cohort_id>/review-level/",
        cohort_review_level,
        name="cohort_review_level",
    ),
    path(
        "workflows/<slug:slug>/review-queue/", workflow_review_queue, name="workflow_review_queue"
    ),
    path(
        "workflows/<slug:slug>/cohorts/<int:cohort_id>/csv/",
        workflow_cohort_csv,
        name="workflow_cohort_csv",
    ),
    path(
        "workflows/<slug:slug>/cohorts/<int:cohort_id>/holdout/",
        workflow_cohort_holdout,
        name="workflow_cohort_holdout",
    ),
    path("workflows/<slug:slug>/outcomes/", workflow_outcomes, name="workflow_outcomes"),
    # Promotions, phase control and blackout windows
    path("workflows/<slug:slug>/gate/", workflow_gate, name="workflow_gate"),
    path("workflows/<slug:slug>/promotions/", workflow_promotions, name="workflow_promotions"),
    path("workflows/<slug:slug>/blackouts/", workflow_blackout_add, name="workflow_blackout_add"),
    path(
        "workflows/<slug:slug>/blackouts/<int:blackout_id>/delete/",
        workflow_blackout_delete,
        name="workflow_blackout_delete",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        notification_read,
        name="notification_read",
    ),
    path(
        "notifications/<int:notification_id>/acknowledge/",
        notification_acknowledge,
        name="notification_acknowledge",
    ),
    path("calendar/", calendar, name="calendar"),
    path("calendar/feed/", calendar_feed_token, name="calendar_feed_token"),
    path("calendar/feed/<slug:token>.ics", calendar_feed, name="calendar_feed"),
    path("approvals/", approval_list, name="approval_list"),
    path("approve/<str:token>/", approval_link, name="approval_link"),
    path("blackouts/", blackout_list, name="blackout_list"),
    # Executive evidence and the org-wide activity log (read only)
    path("evidence/", evidence_timeline, name="evidence_timeline"),
    path("evidence/export.csv", evidence_csv, name="evidence_csv"),
    path("evidence/export.json", evidence_json, name="evidence_json"),
    path("evidence/board-pack/", evidence_board_pack, name="evidence_board_pack"),
    path("workflows/<slug:slug>/evidence/", workflow_evidence, name="workflow_evidence"),
    path("activity/", org_activity, name="org_activity"),
    path("activity/export.csv", org_activity_csv, name="org_activity_csv"),
    path("activity/export.json", org_activity_json, name="org_activity_json"),
    path("blackouts/<int:blackout_id>/delete/", blackout_delete, name="blackout_delete"),
]

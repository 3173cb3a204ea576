from django.urls import path

from rollout.views.activity import workflow_activity
from rollout.views.home import home
from rollout.views.portfolio import workflow_portfolio
from rollout.views.workflows import (
    workflow_edit,
    workflow_handover,
    workflow_new,
    workflow_overview,
)

urlpatterns = [
    path("", home, name="home"),
    path("workflows/", workflow_portfolio, name="workflow_portfolio"),
    # Before the slug pattern: "new" is a reserved slug (rollout.services.workflows.RESERVED_SLUGS).
    path("workflows/new/", workflow_new, name="workflow_new"),
    path("workflows/<slug:slug>/", workflow_overview, name="workflow_overview"),
    path("workflows/<slug:slug>/edit/", workflow_edit, name="workflow_edit"),
    path("workflows/<slug:slug>/handover/", workflow_handover, name="workflow_handover"),
    path("workflows/<slug:slug>/activity/", workflow_activity, name="workflow_activity"),
]

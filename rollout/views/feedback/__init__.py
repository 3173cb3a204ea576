"""Feedback pages, one module each: the quick form members fill in (`new`), the workflow's
feedback page (`inbox`: the triage inbox for viewers, with the bulk bar for the owner and ops
leaders; own feedback and the public status list for cohort members), and one item with its
comments (`item`: its page and the inbox's side panel).

Every action on an item is a POST to `feedback_detail` with a named action, a bulk change a POST
to `workflow_feedback` with action=bulk. htmx gets the partial back (the item's, the panel with
its row out of band, or the list), a plain POST a flash message and a redirect, so all of it works
without JavaScript.
"""

from rollout.views.feedback.inbox import workflow_feedback
from rollout.views.feedback.item import feedback_detail
from rollout.views.feedback.new import feedback_new

__all__ = ["feedback_detail", "feedback_new", "workflow_feedback"]

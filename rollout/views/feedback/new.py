"""The quick form members fill in (and the AI tool links to)."""

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.feedback import FeedbackForm
from rollout.forms.fields import add_application_error
from rollout.permissions import access_workflow, can_give_feedback
from rollout.selectors.feedback import feedback_get_by_author, feedback_title
from rollout.services import feedback as services

NEW = "rollout/feedback_new.html"

MSG_THANKS = "Thank you: your feedback reached the owner of {workflow}."


@require_http_methods(["GET", "POST"])
def feedback_new(request: HtmxHttpRequest) -> HttpResponse:
    """`?workflow=<slug>[&event=<event id>]`: the form; after sending, `&thanks=<id>` says
    thank you and links to the feedback. No role on the workflow: 404, as for any page of it."""
    user = request.user
    workflow = access_workflow(user, request.GET.get("workflow", ""), members=True)
    if not can_give_feedback(user, workflow):
        raise Http404("No such workflow.")
    context: dict[str, Any] = {"workflow": workflow}
    thanks = request.GET.get("thanks", "")
    if request.method == "GET" and thanks.isdigit():
        sent = feedback_get_by_author(workflow, user, int(thanks))
        if sent is not None:
            sent.workflow = workflow
            context.update(sent=sent, title=feedback_title(sent))
            return render(request, NEW, context)
    form = FeedbackForm(
        request.POST or None,
        initial={"event_id": request.GET.get("event", ""), "notify_by_email": True},
    )
    # People who want feedback updates by email get them anyway: the box is for those who do not.
    if user.email_feedback:
        del form.fields["notify_by_email"]
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            feedback = services.feedback_create(
                workflow=workflow,
                author=user,
                rating=data["rating"],
                category=data["category"],
                text=data["text"],
                event_id=data["event_id"] or None,
                source="form",
                notify_by_email=data.get("notify_by_email", True),
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            query = f"?workflow={workflow.slug}&thanks={feedback.pk}"
            return redirect(reverse("feedback_new") + query)
    context.update(
        form=form,
        show_event=bool(form["event_id"].value() or form["event_id"].errors),
        ask_email="notify_by_email" in form.fields,
        action=request.get_full_path(),
    )
    return render(request, NEW, context)

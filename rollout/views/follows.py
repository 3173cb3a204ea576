"""Following a workflow from its overview: the Follow / Unfollow button."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.htmx import HtmxHttpRequest
from rollout.permissions import access_workflow
from rollout.services.follows import follow, unfollow

MSG_FOLLOWING = "You now follow “{name}”: you will get its notices and phase changes."
MSG_UNFOLLOWED = "You no longer follow “{name}”."


@require_POST
def workflow_follow(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Named actions `follow` and `unfollow`. htmx gets the button back; a plain POST goes back
    to the overview with a message."""
    workflow = access_workflow(request.user, slug)
    action = request.POST.get("action")
    if action == "follow":
        follow(workflow=workflow, user=request.user)
    elif action == "unfollow":
        unfollow(workflow=workflow, user=request.user)
    else:
        raise Http404("No such action.")
    following = action == "follow"
    if request.htmx:
        context = {"workflow": workflow, "is_following": following, "can_follow": True}
        return render(request, "rollout/_follow_button.html", context)
    message = MSG_FOLLOWING if following else MSG_UNFOLLOWED
    messages.success(request, message.format(name=workflow.name))
    return redirect(workflow)

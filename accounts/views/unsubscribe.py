"""One-click unsubscribe (RFC 8058) from the link in an email's List-Unsubscribe header.

A mail client POSTs `List-Unsubscribe=One-Click` to the link, with no cookie and no CSRF token:
the signed link is the authority, so the view needs neither a session nor a CSRF token. A GET
(a person opening the link, or a link scanner fetching it) only shows a page with a button, so
nobody is unsubscribed by a prefetch."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.selectors import user_find
from accounts.services import user_email_unsubscribe
from accounts.unsubscribe import BadUnsubscribeLink, unsubscribe_token_read

TEMPLATE = "accounts/email_unsubscribe.html"


@login_not_required
@csrf_exempt  # the signature in the link is the authority (RFC 8058: no cookie, no token)
@never_cache
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user_id, category = unsubscribe_token_read(token)
    except BadUnsubscribeLink:
        return render(request, TEMPLATE, {"bad_link": True}, status=400)
    if request.method == "POST":
        if request.POST.get("List-Unsubscribe") != "One-Click":
            return render(request, TEMPLATE, {"bad_request": True}, status=400)
        account = user_email_unsubscribe(user_id=user_id, category=category)
        return render(request, TEMPLATE, {"done": True, "account": account, "category": category})
    context = {"account": user_find(user_id), "category": category, "action": request.path}
    return render(request, TEMPLATE, context)

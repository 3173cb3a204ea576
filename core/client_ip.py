"""The client's IP address, as sign-in lockout (django-axes) and the password-reset throttle
count it.

By default it is REMOTE_ADDR, the peer that opened the connection. A header such as
X-Forwarded-For is written by whoever sends the request, so trusting it by default would let
anyone choose the address they are counted under (and lock out someone else's). Behind N reverse
proxies of our own that each append the address they received the request from (nginx's
$proxy_add_x_forwarded_for, most load balancers), set ROLLOUT_TRUSTED_PROXY_COUNT=N: the client
is then the N-th address from the right of that header — the one our outermost proxy saw.
Entries further left are the client's own claims and are ignored.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.ROLLOUT_TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    header = request.META.get(settings.ROLLOUT_CLIENT_IP_HEADER, "")
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    if len(hops) < proxies:
        # Not through every proxy we were told about: a request straight to the app server, or
        # a miscounted setting. The peer is the only address we know to be real.
        return remote
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote

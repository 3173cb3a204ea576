"""Sign-in lockout with a limit of its own for each lockout parameter (a django-axes handler,
named in settings.AXES_HANDLER and imported by nothing else).

AXES_LOCKOUT_PARAMETERS counts failures for the account on this address and for the address
across all accounts, but axes compares every count with the one AXES_FAILURE_LIMIT. An office
behind one NAT address must not lock itself out after five typos among fifty people, so the
per-address count has its own, much higher limit: ROLLOUT_SIGN_IN_FAILURES_PER_IP. Each count is
expressed on the per-account scale (count × account limit ÷ its own limit, rounded down) before
axes takes the highest, so axes' own comparison with AXES_FAILURE_LIMIT locks exactly when some
count reaches its own limit.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit, get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

IP_ONLY = "ip_address"


class PerParameterLimitHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        account_limit = get_failure_limit(request, credentials)
        parameters = get_lockout_parameters(request, credentials)
        attempts_list = self.get_user_attempts(request, credentials)
        failures = 0
        for parameter, attempts in zip(parameters, attempts_list, strict=True):
            count = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if parameter == IP_ONLY:
                limit = settings.ROLLOUT_SIGN_IN_FAILURES_PER_IP
                # The lockout page then says "this network", not "this account" (lockout.html).
                request.sign_in_locked_by_address = count >= limit
            else:
                limit = account_limit
            failures = max(failures, count * account_limit // limit)
        return failures

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """After a successful sign-in, forget this account's failures on this address only.

        Axes would delete every attempt matching any lockout parameter, the address's failures on
        other accounts included: one valid account would then reset the per-address count
        between two rounds of guessing on everyone else's.
        """
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count

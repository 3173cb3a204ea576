from django.http import HttpRequest

from accounts.roles import is_executive, is_ops_leader


def roles(request: HttpRequest) -> dict[str, bool]:
    """Expose the signed-in user's org roles to every template (navigation shows them)."""
    user = getattr(request, "user", None)
    if user is None:
        return {"is_ops_leader": False, "is_executive": False}
    return {"is_ops_leader": is_ops_leader(user), "is_executive": is_executive(user)}

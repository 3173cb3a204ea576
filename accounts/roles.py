"""Org-wide roles are Django groups, created by a data migration."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

OPS_LEADERS = "Ops leaders"
EXECUTIVES = "Executives"
ORG_ROLES = (OPS_LEADERS, EXECUTIVES)


def role_names(user: User | AnonymousUser) -> frozenset[str]:
    """The org roles the user holds, read once per user instance (one query) and cached on it."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_rollout_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ORG_ROLES).values_list("name", flat=True))
        user._rollout_role_names = cached
    return cached


def forget_roles(user: User) -> None:
    """Drop the cached roles after they change."""
    user.__dict__.pop("_rollout_role_names", None)


def is_ops_leader(user: User | AnonymousUser) -> bool:
    return OPS_LEADERS in role_names(user)


def is_executive(user: User | AnonymousUser) -> bool:
    return EXECUTIVES in role_names(user)

"""Reads on people, shaped for the people pages: org roles prefetched, owned workflows counted."""

from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.models import User
from accounts.roles import ORG_ROLES


def user_list_people(*, query: str = "") -> QuerySet[User]:
    """Every account, active or not, matching `query` on name or email.

    Each user carries `org_groups` (their org-role groups, a list) and `workflows_owned` (a count),
    so a page of people costs three queries whatever its size.
    """
    users = User.objects.annotate(workflows_owned=Count("owned_workflows")).prefetch_related(
        Prefetch(
            "groups",
            queryset=Group.objects.filter(name__in=ORG_ROLES).order_by("name"),
            to_attr="org_groups",
        )
    )
    query = query.strip()
    if query:
        users = users.filter(Q(display_name__icontains=query) | Q(email__icontains=query))
    return users.order_by("display_name", "email")


def user_get(user_id: int) -> User:
    """One account, active or not; User.DoesNotExist if there is none. Also gives a fresh
    instance, without the permissions cached on the request's user."""
    return User.objects.get(pk=user_id)


def user_find(user_id: int) -> User | None:
    """One account, active or not, or None if there is none."""
    return User.objects.filter(pk=user_id).first()


def user_list_active() -> list[User]:
    """Every active account by name: the people pickers."""
    return list(User.objects.filter(is_active=True).order_by("display_name", "email"))

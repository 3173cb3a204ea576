"""Reads on people, shaped for the people pages (org roles prefetched, owned workflows counted),
and on the organisation: its settings, their change log, and the zone each person reads in."""

from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser, Group
from django.db.models import Count, Prefetch, Q, QuerySet, Subquery

from accounts.models import (
    ORGANISATION_PK,
    Organisation,
    OrganisationChange,
    User,
    settings_time_zone,
)
from accounts.roles import ORG_ROLES
from core.time_zones import zone

ORGANISATION_CHANGES_SHOWN = 50


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


def user_find_by_email(email: str) -> User | None:
    """The account with this email (any case), active or not, or None if there is none."""
    return User.objects.filter(email__iexact=email.strip()).first()


def organisation_get() -> Organisation:
    """The organisation's settings. Without a saved row (a new installation), an unsaved
    Organisation with the defaults: reading never writes."""
    return Organisation.objects.filter(pk=ORGANISATION_PK).first() or Organisation(
        pk=ORGANISATION_PK
    )


def organisation_change_list() -> list[OrganisationChange]:
    """The latest changes to the organisation's settings, newest first, with their actor."""
    return list(OrganisationChange.objects.select_related("actor")[:ORGANISATION_CHANGES_SHOWN])


def user_get_signed_in(user_id: object) -> User:
    """The signed-in person, read once per request by the authentication backend, carrying the
    organisation's default zone (`organisation_time_zone`; None without a saved organisation) in
    the same query: every page reads in the person's zone (accounts.middleware), and this way it
    costs no query of its own. User.DoesNotExist if there is none."""
    users = User._default_manager.annotate(organisation_time_zone=organisation_time_zone_subquery())
    return users.get(pk=user_id)


def organisation_time_zone_subquery() -> Subquery:
    """The organisation's default zone as a column of another query (None without a saved
    organisation): annotate a person's row with it as `organisation_time_zone`, and
    user_time_zone() reads it from there instead of asking the database again."""
    default_zone = Organisation.objects.filter(pk=ORGANISATION_PK).values("default_time_zone")
    return Subquery(default_zone[:1])


def organisation_time_zone_name(user: User | AnonymousUser | None = None) -> str:
    """The organisation's default zone: from `user` when the backend read it with them
    (user_get_signed_in), else from the database."""
    if user is not None and hasattr(user, "organisation_time_zone"):
        return user.organisation_time_zone or settings_time_zone()
    return organisation_get().default_time_zone


def user_time_zone(
    user: User | AnonymousUser, organisation: Organisation | None = None
) -> ZoneInfo:
    """The zone `user` reads times in: their own, else the organisation's default (read only
    when needed; pass `organisation` when reading for many people)."""
    chosen = getattr(user, "time_zone", "")
    if chosen:
        return zone(chosen)
    if organisation is not None:
        return zone(organisation.default_time_zone)
    return zone(organisation_time_zone_name(user))

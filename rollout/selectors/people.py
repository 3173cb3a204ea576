"""Reads for the people picker (rollout.forms.people): search as you type, and what typed text
names. Each answers in one query whatever the number of people."""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from accounts.models import User
from rollout.models import Cohort, CohortMember, Workflow

PEOPLE_SHOWN = 10
MIN_QUERY_LENGTH = 2


@dataclass(frozen=True)
class PeopleMatches:
    """Up to PEOPLE_SHOWN people, best first; `more` when others matched too."""

    people: list[User]
    more: bool


def people_search(
    query: str, *, among: QuerySet[User] | None = None, members_of: Cohort | None = None
) -> PeopleMatches:
    """Active people whose name or email address contains `query` (case-insensitive), those whose
    name or address starts with it first, then by name. `among` narrows who may be found;
    `members_of` marks each person with `is_member` (in that cohort or not). One query; a query
    shorter than MIN_QUERY_LENGTH finds nobody (the picker shows a hint instead)."""
    query = query.strip()
    if len(query) < MIN_QUERY_LENGTH:
        return PeopleMatches(people=[], more=False)
    users = (among if among is not None else User.objects.all()).filter(
        Q(display_name__icontains=query) | Q(email__icontains=query), is_active=True
    )
    if members_of is not None:
        users = users.annotate(
            is_member=Exists(CohortMember.objects.filter(cohort=members_of, user_id=OuterRef("pk")))
        )
    rank = Case(
        When(display_name__istartswith=query, then=Value(0)),
        When(email__istartswith=query, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    found = list(
        users.annotate(rank=rank).order_by("rank", "display_name", "email")[: PEOPLE_SHOWN + 1]
    )
    return PeopleMatches(people=found[:PEOPLE_SHOWN], more=len(found) > PEOPLE_SHOWN)


def people_named(*, emails: Iterable[str], names: Iterable[str], ids: Iterable[int]) -> list[User]:
    """Everyone a picker's input may name, in one query: any account with one of these email
    addresses or ids (active or not: the services refuse a deactivated person with their own
    message), and active people with exactly one of these names (case-insensitive)."""
    conditions = [Q(email__in=[e.lower() for e in emails]), Q(pk__in=list(ids))]
    conditions += [Q(display_name__iexact=name, is_active=True) for name in names]
    return list(User.objects.filter(reduce(or_, conditions)).order_by("display_name", "email"))


def escalation_contact_candidates(workflow: Workflow) -> QuerySet[User]:
    """Whom an escalation is handed to: the people who see the workflow through its path, its
    contacts and its owner. The service still checks each one's access."""
    return User.objects.filter(
        Q(pk__in=workflow.escalation_levels.values("contact_id")) | Q(pk=workflow.owner_id)
    )

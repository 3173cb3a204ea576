"""Typed factory_boy factories. Domain objects are built through services where rules apply."""

import factory
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import EXECUTIVES, OPS_LEADERS
from rollout.models import Workflow

PASSWORD = "correct-horse-battery"


# Every email that can be turned off, off: UserFactory(**NO_EMAIL) wants the app only.
NO_EMAIL = dict.fromkeys(
    ("email_notices", "email_reminders", "email_feedback", "email_updates"), False
)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.django.Password(PASSWORD)
    is_active = True

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            # get_or_create: transactional tests flush the groups the data migration made.
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))


def ops_leader_user(**kwargs: object) -> User:
    return UserFactory(roles=[OPS_LEADERS], **kwargs)


def executive_user(**kwargs: object) -> User:
    return UserFactory(roles=[EXECUTIVES], **kwargs)


def make_workflow(
    *, owner: User | None = None, actor: User | None = None, **fields: str
) -> Workflow:
    """A workflow created the way the product creates one (permissions granted, activity logged)."""
    from rollout.services.workflows import workflow_create

    n = Workflow.objects.count() + 1
    owner = owner or UserFactory()
    actor = actor or ops_leader_user()
    values = {
        "name": f"Workflow {n}",
        "slug": f"workflow-{n}",
        "business_action": "Reply email sent to the customer",
        "summary": "Drafts replies to tier-1 support tickets.",
        "model_provider": "OpenAI",
        "model_name": "gpt-5",
        "model_version": "2026-09",
    }
    values.update(fields)
    return workflow_create(actor=actor, owner=owner, **values)

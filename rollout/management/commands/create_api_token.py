"""`python manage.py create_api_token <workflow-slug> --name <name>`: an API token for scripts."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from rollout.models import Workflow
from rollout.services.api_tokens import api_token_create

MSG_UNKNOWN_WORKFLOW = "No workflow has the slug {slug!r}."
MSG_OWNERLESS = (
    "The workflow {slug!r} has no active owner to create the token in the name of: an ops leader "
    "must name a new owner first."
)


class Command(BaseCommand):
    help = (
        "Create an API token for one workflow and print it (only the token, so scripts can "
        "capture it). It is created in the name of the workflow's owner, who appears as its "
        "creator in the tokens list and the activity log. The token is not stored and cannot be "
        "shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workflow_slug", help="The workflow's slug.")
        parser.add_argument(
            "--name",
            required=True,
            help="What will use the token; unique among the workflow's active tokens.",
        )

    def handle(self, *args: object, workflow_slug: str, name: str, **options: object) -> None:
        try:
            workflow = Workflow.objects.with_owner().get(slug=workflow_slug)
        except Workflow.DoesNotExist:
            raise CommandError(MSG_UNKNOWN_WORKFLOW.format(slug=workflow_slug)) from None
        if workflow.is_ownerless:
            raise CommandError(MSG_OWNERLESS.format(slug=workflow_slug))
        try:
            _, plaintext = api_token_create(workflow=workflow, actor=workflow.owner, name=name)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(plaintext)

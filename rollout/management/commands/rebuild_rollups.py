"""`python manage.py rebuild_rollups [--workflow <slug>]`: recompute the usage rollups from the raw
events, for every workflow or one. The recovery tool when rollups are suspected wrong or lost;
safe to run while events arrive (each day is replaced in one transaction)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rollout.models import Workflow
from rollout.services.usage_rollup import usage_rollup_rebuild

MSG_UNKNOWN_WORKFLOW = "No workflow has the slug {slug!r}."


class Command(BaseCommand):
    help = (
        "Rebuild the daily and hourly usage rollups from the raw usage events, for every workflow "
        "or the one given, and print how many days were rebuilt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workflow", metavar="SLUG", help="Only this workflow (its slug).")

    def handle(self, *args: object, workflow: str | None = None, **options: object) -> None:
        target = None
        if workflow is not None:
            target = Workflow.objects.filter(slug=workflow).first()
            if target is None:
                raise CommandError(MSG_UNKNOWN_WORKFLOW.format(slug=workflow))
        days = usage_rollup_rebuild(workflow=target)
        scope = target.name if target else "all workflows"
        plural = "" if days == 1 else "s"
        self.stdout.write(f"Rebuilt {days} day{plural} of usage rollups ({scope}) from raw events.")

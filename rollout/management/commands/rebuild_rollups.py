"""`python manage.py rebuild_rollups [--workflow <slug>]`: recompute the usage rollups from the raw
events, for every workflow or one. The recovery tool when rollups are suspected wrong or lost;
safe to run while events arrive (each day is replaced in one transaction)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rollout.models import RollupPeriod, UsageRollup, Workflow
from rollout.selectors.retention import retention_cutoffs
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
        cutoffs = retention_cutoffs()
        kept_from = cutoffs.first_rebuildable_day
        older = UsageRollup.objects.filter(period=RollupPeriod.DAY, day__lt=kept_from)
        if target is not None:
            older = older.filter(workflow=target)
        old_days = older.values("day").distinct().count()
        if old_days:
            plural = "" if old_days == 1 else "s"
            self.stdout.write(
                f"{old_days} earlier day{plural} of rollups (before {kept_from:%d %b %Y}) were "
                "kept as they are and can no longer be rebuilt: raw usage events are kept "
                f"{cutoffs.usage_events_months} months (organisation settings)."
            )

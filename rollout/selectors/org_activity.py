"""The org-wide activity log: entries that belong to no workflow (invites, role changes,
deactivations, org-wide blackout windows), for ops leaders."""

from datetime import datetime

from django.db.models import QuerySet

from rollout.models import ActivityEntry

# (key, label, verbs) — the verbs accounts.services and rollout.services.blackouts write. An entry
# of any other verb is in "every kind".
ORG_ACTIVITY_KINDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("invites", "Invitations", ("invited",)),
    ("roles", "Role changes", ("changed roles of",)),
    ("deactivations", "Deactivations and erasures", ("deactivated", "reactivated", "erased")),
    (
        "blackouts",
        "Blackout windows",
        ("added an org-wide blackout window", "removed an org-wide blackout window"),
    ),
)
VERBS_BY_KIND = {key: verbs for key, _label, verbs in ORG_ACTIVITY_KINDS}


def org_activity_list(
    *, kind: str = "", start: datetime | None = None, end: datetime | None = None
) -> QuerySet[ActivityEntry]:
    """Entries with no workflow, newest first, of one kind (key of ORG_ACTIVITY_KINDS, "" for
    all) in [start, end)."""
    entries = ActivityEntry.objects.filter(workflow__isnull=True).select_related("actor")
    if kind:
        entries = entries.filter(verb__in=VERBS_BY_KIND[kind])
    if start is not None:
        entries = entries.filter(created_at__gte=start)
    if end is not None:
        entries = entries.filter(created_at__lt=end)
    return entries.order_by("-created_at", "-id")

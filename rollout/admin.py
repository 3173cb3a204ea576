from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from rollout.models import ActivityEntry, Workflow


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nothing is added, changed or deleted here: those go through the product's services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Workflow)
class WorkflowAdmin(ReadOnlyAdmin):
    """Read-mostly: ownership and permissions change only through the product's services."""

    list_display = ["name", "slug", "owner", "model_name", "last_activity_at"]
    search_fields = ["name", "slug", "owner__email"]
    readonly_fields = ["owner", "slug", "created_at", "updated_at", "last_activity_at"]


@admin.register(ActivityEntry)
class ActivityEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "workflow", "actor", "verb", "target"]
    list_filter = ["verb"]
    readonly_fields = [f.name for f in ActivityEntry._meta.fields]

from django.contrib import admin

from rollout.models import ActivityEntry, Workflow


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    """Read-mostly: ownership and permissions change only through the product's services."""

    list_display = ["name", "slug", "owner", "model_name", "last_activity_at"]
    search_fields = ["name", "slug", "owner__email"]
    readonly_fields = ["owner", "slug", "created_at", "updated_at", "last_activity_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ActivityEntry)
class ActivityEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "workflow", "actor", "verb", "target"]
    list_filter = ["verb"]
    readonly_fields = [f.name for f in ActivityEntry._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

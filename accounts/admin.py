from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction

from accounts.models import User
from accounts.services import user_memberships_changed

# What a person's cohort memberships answer depends on (their decisions, their usage's cohort).
MEMBERSHIP_FIELDS = frozenset({"email", "is_active"})


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_active", "is_staff"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name",)}),
        (
            "Email",
            {"fields": ("email_notices", "email_reminders", "email_feedback", "email_updates")},
        ),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "display_name", "password1", "password2")},
        ),
    )

    # An address or an active flag changed here bypasses the product's services: their workflows
    # must still drop what they cached of the person.

    @transaction.atomic
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and MEMBERSHIP_FIELDS & set(form.changed_data):
            user_memberships_changed(obj)

    @transaction.atomic
    def delete_model(self, request, obj) -> None:
        user_memberships_changed(obj)  # before: deleting takes the memberships with it
        super().delete_model(request, obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            user_memberships_changed(user)
        super().delete_queryset(request, queryset)

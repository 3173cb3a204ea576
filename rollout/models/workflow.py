from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "Use lowercase letters, digits and single hyphens, e.g. support-reply-drafting.",
)


class WorkflowQuerySet(models.QuerySet["Workflow"]):
    def with_owner(self) -> "WorkflowQuerySet":
        return self.select_related("owner")

    def ownerless(self) -> "WorkflowQuerySet":
        return self.filter(owner__is_active=False)


class Workflow(models.Model):
    """One AI-assisted business process being rolled out. Exactly one owner, always.

    A workflow whose owner has been deactivated is "ownerless" (derived, not stored) until an ops
    leader hands it over to an active user.
    """

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True, validators=[SLUG_VALIDATOR])
    summary = models.TextField(blank=True, max_length=2000)
    business_action = models.CharField(
        "business action",
        max_length=200,
        help_text="What the AI output drives, e.g. “reply email sent to the customer”.",
    )
    model_provider = models.CharField("model provider", max_length=80, blank=True)
    model_name = models.CharField("model", max_length=120, blank=True)
    model_version = models.CharField("model version", max_length=80, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_workflows"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("workflow_overview", kwargs={"slug": self.slug})

    @property
    def is_ownerless(self) -> bool:
        return not self.owner.is_active

    @property
    def model_label(self) -> str:
        parts = [p for p in (self.model_provider, self.model_name, self.model_version) if p]
        return " · ".join(parts)


# Guardian's direct foreign-key permission tables: real FKs (cascade on delete, joinable, indexed)
# instead of the generic content-type table.
class WorkflowUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Workflow, on_delete=models.CASCADE)


class WorkflowGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Workflow, on_delete=models.CASCADE)

"""The user (email is the login, plus a display name, their time zone and which emails they
want; custom from the first migration) and the organisation they belong to (one, with its
settings and their change log)."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.currencies import validate_currency
from core.text import refuse_control_characters
from core.time_zones import validate_time_zone


class EmailCategory(models.TextChoices):
    """Every kind of email Rollout sends about the work. The first four each have a switch on the
    profile page (and a one-click unsubscribe link); the last two always go, because someone must
    act on them."""

    NOTICES = "notices", "Change notices"
    REMINDERS = "reminders", "Reminders to acknowledge a notice"
    FEEDBACK = "feedback", "Feedback updates"
    UPDATES = "updates", "Workflow alerts and updates"
    ESCALATIONS = "escalations", "Escalation pages"
    APPROVALS = "approvals", "Approval requests"


# The categories a person may turn off, each stored as the User field `email_<category>`.
OPTIONAL_EMAIL = (
    EmailCategory.NOTICES,
    EmailCategory.REMINDERS,
    EmailCategory.FEEDBACK,
    EmailCategory.UPDATES,
)


def email_field(category: str) -> str:
    """The User field that holds the switch of an optional category."""
    return f"email_{EmailCategory(category).value}"


def wanting_email(category: str, *, through: str = "") -> models.Q:
    """Users who get this category's email: a filter of User, or of a model whose `through`
    relation (say "recipient") is the user."""
    if category not in OPTIONAL_EMAIL:
        return models.Q()
    return models.Q(
        **{f"{through}__{email_field(category)}" if through else email_field(category): True}
    )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)  # None gives an unusable password (invited users set theirs)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> "User":
        # Sign-in is case-insensitive on the email address.
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=120, validators=[refuse_control_characters])
    is_active = models.BooleanField(
        default=True, help_text="Deactivated users cannot sign in and own no workflow."
    )
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    external_id = models.CharField(
        "external id",
        max_length=120,
        blank=True,
        help_text="The id the AI tool knows this person by, if not their email address.",
    )
    email_notices = models.BooleanField(
        "email change notices", default=True, help_text="Change notices of your workflows."
    )
    email_reminders = models.BooleanField(
        "email reminders",
        default=True,
        help_text="A reminder before a change you have not acknowledged takes effect.",
    )
    email_feedback = models.BooleanField(
        "email feedback updates",
        default=True,
        help_text="When feedback you gave or backed changes status or gets a comment.",
    )
    email_updates = models.BooleanField(
        "email workflow alerts and updates",
        default=True,
        help_text="Threshold alerts, phase changes, escalation news, promotions that did not run.",
    )
    # Blank: the organisation's default zone, and it follows that default when it changes.
    time_zone = models.CharField(
        "time zone",
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The zone every time is shown in for you. Blank: the organisation's default.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        ordering = ["display_name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="accounts_user_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()
        self.display_name = (self.display_name or "").strip()
        if not self.display_name and self.email:
            self.display_name = self.email.split("@", 1)[0]

    def wants_email(self, category: str) -> bool:
        """Whether this person gets emails of `category` (escalation pages and approval
        requests always)."""
        if category not in OPTIONAL_EMAIL:
            return True
        return getattr(self, email_field(category))

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name

    @property
    def is_erased(self) -> bool:
        """Erased (accounts.services.user_erase): their name and address are gone for good."""
        return self.email.endswith("@" + ERASED_DOMAIN)


# The notice lead time a new workflow gets unless the organisation says otherwise (PRODUCT.md's
# default of 5 days), and the longest a workflow may have (rollout.models.Workflow).
DEFAULT_LEAD_TIME_DAYS = 5
MAX_LEAD_TIME_DAYS = 90
ORGANISATION_PK = 1
# The address domain of erased accounts (RFC 2606: never delivered to).
ERASED_DOMAIN = "erased.invalid"
DEFAULT_USAGE_EVENTS_RETENTION_MONTHS = 13
MAX_RETENTION_MONTHS = 120


def settings_time_zone() -> str:
    """The organisation's default zone until an ops leader sets one: the deployment's TIME_ZONE."""
    return settings.TIME_ZONE


class Organisation(models.Model):
    """The one organisation this Rollout serves: a singleton row (pk 1, held by a constraint).

    Read through accounts.selectors.organisation_get (cached; an unsaved default when the row is
    missing) and written only by accounts.services.organisation_update, which logs each change.
    """

    name = models.CharField(
        max_length=120, default="Rollout", validators=[refuse_control_characters]
    )
    default_time_zone = models.CharField(
        "default time zone",
        max_length=64,
        default=settings_time_zone,
        validators=[validate_time_zone],
        help_text="Times are shown in this zone to everyone who has not chosen their own.",
    )
    currency = models.CharField(
        max_length=3,
        default="EUR",
        validators=[validate_currency],
        help_text="The ISO 4217 code of the currency costs and savings are counted in, e.g. EUR.",
    )
    default_lead_time_days = models.PositiveSmallIntegerField(
        "default notice lead time (days)",
        default=DEFAULT_LEAD_TIME_DAYS,
        validators=[MaxValueValidator(MAX_LEAD_TIME_DAYS)],
        help_text="The lead time a new workflow starts with; each workflow can change its own.",
    )
    # Retention (PRODUCT.md "Personal data"): what is older is deleted each night by
    # rollout.services.retention. Rollups are kept whatever the raw events' retention.
    usage_events_retention_months = models.PositiveSmallIntegerField(
        "keep raw usage events (months)",
        default=DEFAULT_USAGE_EVENTS_RETENTION_MONTHS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RETENTION_MONTHS)],
        help_text=(
            "Older events are deleted each night; the daily figures made from them are kept, "
            "but can no longer be rebuilt. Events older than this are refused when reported."
        ),
    )
    feedback_text_retention_months = models.PositiveSmallIntegerField(
        "keep feedback text (months)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RETENTION_MONTHS)],
        help_text=(
            "Leave empty to keep it. Older feedback keeps its rating, category, status and "
            "votes; its text and comments are deleted."
        ),
    )
    notice_receipts_retention_months = models.PositiveSmallIntegerField(
        "keep notice receipts (months)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RETENTION_MONTHS)],
        help_text=(
            "Leave empty to keep them. Who read and acknowledged a notice published longer ago "
            "is deleted; the notice keeps its counts per cohort."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pk=ORGANISATION_PK), name="accounts_organisation_singleton"
            )
        ]

    def __str__(self) -> str:
        return self.name


class OrganisationChange(models.Model):
    """One change to the organisation's settings: who, when, and each field before → after."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    changes = models.JSONField(help_text="{field label: [before, after]}")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.actor} changed {', '.join(self.changes)} at {self.at:%Y-%m-%d %H:%M}"

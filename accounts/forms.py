"""Forms for signing in, resetting passwords, the profile and managing people."""

from datetime import date

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts.models import MAX_LEAD_TIME_DAYS, MAX_RETENTION_MONTHS, Organisation, User
from accounts.roles import ORG_ROLES
from core.currencies import validate_currency
from core.text import SingleLineCharField
from core.time_zones import MSG_UNKNOWN_ZONE, time_zone_choices
from rollout.models import PersonalToken, PersonalTokenScope

MSG_INVALID_LOGIN = "That email address and password do not match an account. Please try again."
MSG_INACTIVE_LOGIN = (
    "This account has been deactivated, so it cannot sign in. "
    "Ask an ops leader if you need it back."
)

ROLE_CHOICES = [(role, role) for role in ORG_ROLES]


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with an email address, whatever its case."""

    username = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        "invalid_login": MSG_INVALID_LOGIN,
        "inactive": MSG_INACTIVE_LOGIN,
    }

    def clean_username(self) -> str:
        # Lower-cased before authenticate() so axes counts OPS@x and ops@x as one account.
        return self.cleaned_data["username"].strip().lower()

    def get_invalid_login_error(self) -> ValidationError:
        if not getattr(self.request, "axes_locked_out", False) and self._is_deactivated():
            return ValidationError(MSG_INACTIVE_LOGIN, code="inactive")
        return ValidationError(MSG_INVALID_LOGIN, code="invalid_login")

    def _is_deactivated(self) -> bool:
        # ModelBackend refuses inactive users before checking the password. Saying "deactivated"
        # only when the password is right tells nothing to someone guessing addresses.
        user = User.objects.filter(
            email__iexact=self.cleaned_data.get("username", ""), is_active=False
        ).first()
        return user is not None and user.check_password(self.cleaned_data.get("password", ""))


class PasswordResetRequestForm(forms.Form):
    """The address to send a reset link to. Only validated here: the request looks nothing up
    (accounts.services.password_reset_request), so it reads and takes the same for any address."""

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ProfileForm(forms.Form):
    display_name = SingleLineCharField(
        label="Display name",
        max_length=120,
        help_text="How your name appears to colleagues in Rollout.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class EmailPreferencesForm(forms.Form):
    """Which emails to get: one box per category that can be turned off (accounts.models)."""

    notices = forms.BooleanField(
        label="Change notices",
        required=False,
        help_text="Announcements of changes to the workflows you use or follow.",
    )
    reminders = forms.BooleanField(
        label="Reminders to acknowledge",
        required=False,
        help_text="A reminder before a change you have not acknowledged takes effect.",
    )
    feedback = forms.BooleanField(
        label="Feedback updates",
        required=False,
        help_text=(
            "When feedback you gave or backed changes status or gets a comment. Turning this "
            "off also stops the emails you asked for on single reports."
        ),
    )
    updates = forms.BooleanField(
        label="Workflow alerts and updates",
        required=False,
        help_text=(
            "Threshold alerts and phase changes of your workflows, news of their escalations, "
            "a scheduled promotion that did not run."
        ),
    )

    def wanted(self) -> list[str]:
        return [name for name, on in self.cleaned_data.items() if on]


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    display_name = SingleLineCharField(
        label="Display name",
        max_length=120,
        help_text="Their name as colleagues will see it. They can change it later.",
    )
    roles = forms.MultipleChoiceField(
        label="Org roles",
        choices=ROLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=(
            "Ops leaders manage people and every workflow; executives see the whole portfolio, "
            "read-only. Leave both unticked for someone who owns or uses workflows."
        ),
    )


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label="Org roles",
        choices=ROLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class TimeZoneForm(forms.Form):
    """The profile's time-zone section (a form of its own beside the profile's settings)."""

    time_zone = forms.ChoiceField(
        label="Your time zone",
        required=False,
        help_text="Every time in Rollout and in its emails is shown to you in this zone.",
        error_messages={"invalid_choice": MSG_UNKNOWN_ZONE.replace("{zone}", "%(value)s")},
    )

    def __init__(self, *args: object, organisation_zone: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            ("", f"The organisation's default ({organisation_zone.replace('_', ' ')})"),
            *time_zone_choices(),
        ]


class OrganisationForm(forms.Form):
    name = SingleLineCharField(
        label="Organisation name", max_length=120, help_text="Shown in Rollout's pages and emails."
    )
    default_time_zone = forms.ChoiceField(
        label="Default time zone",
        choices=time_zone_choices,
        help_text="Times are shown in this zone to everyone who has not chosen their own.",
        error_messages={"invalid_choice": MSG_UNKNOWN_ZONE.replace("{zone}", "%(value)s")},
    )
    currency = forms.CharField(
        label="Currency",
        help_text="Its ISO 4217 code: three letters, e.g. EUR, USD or GBP.",
        # No max_length: "EURO" gets the ISO 4217 message below, not a character count.
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
    )
    default_lead_time_days = forms.IntegerField(
        label="Default notice lead time (days)",
        min_value=0,
        max_value=MAX_LEAD_TIME_DAYS,
        help_text=(
            "How many days before a change takes effect its notice must be published, for new "
            "workflows. Each workflow can change its own on its plan page."
        ),
    )

    usage_events_retention_months = forms.IntegerField(
        label="Keep raw usage events (months)",
        min_value=1,
        max_value=MAX_RETENTION_MONTHS,
        help_text=Organisation._meta.get_field("usage_events_retention_months").help_text,
    )
    feedback_text_retention_months = forms.IntegerField(
        label="Keep feedback text (months)",
        min_value=1,
        max_value=MAX_RETENTION_MONTHS,
        required=False,
        help_text=Organisation._meta.get_field("feedback_text_retention_months").help_text,
    )
    notice_receipts_retention_months = forms.IntegerField(
        label="Keep notice receipts (months)",
        min_value=1,
        max_value=MAX_RETENTION_MONTHS,
        required=False,
        help_text=Organisation._meta.get_field("notice_receipts_retention_months").help_text,
    )

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        validate_currency(code)
        return code


MSG_TOKEN_EXPIRY = "Choose the date the token stops working."


class PersonalTokenForm(forms.Form):
    """A new personal access token: its name, scope and the date it stops working (required, at
    most a year ahead; the service checks the bounds, the widget suggests them)."""

    name = SingleLineCharField(
        label="Name",
        max_length=PersonalToken._meta.get_field("name").max_length,
        help_text="What will use it, e.g. “laptop scripts” or “CI set-up job”.",
    )
    scope = forms.ChoiceField(
        label="Scope",
        choices=PersonalTokenScope.choices,
        initial=PersonalTokenScope.READ,
        widget=forms.RadioSelect,
        help_text="Read only looks; read and write may change what you may change in the browser.",
    )
    expires_on = forms.DateField(
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": MSG_TOKEN_EXPIRY, "invalid": MSG_TOKEN_EXPIRY},
        help_text="It stops working at the end of this day: at most a year from today.",
    )

    def __init__(self, *args: object, first: date, last: date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["expires_on"].widget
        widget.attrs.update(min=first.isoformat(), max=last.isoformat())

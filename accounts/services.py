"""Writes on people: invitations, org roles, deactivation. Each one transaction, each recorded."""

import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import (
    ERASED_DOMAIN,
    OPTIONAL_EMAIL,
    ORGANISATION_PK,
    EmailCategory,
    Organisation,
    OrganisationChange,
    User,
    email_field,
)
from accounts.roles import ORG_ROLES, forget_roles, is_ops_leader, role_names
from core.acting import refuse_via_token
from core.errors import ApplicationError
from core.mail import email_subject
from core.wake import wake
from rollout.lib.cache import CACHE_ERRORS, cache_answered, cache_failed
from rollout.models import (
    ActivityEntry,
    CohortMember,
    Feedback,
    FeedbackComment,
    Follow,
    NoticeDelivery,
    UsageActiveUser,
    UsageEvent,
    UsageLastActive,
    Workflow,
)
from rollout.services.activity import activity_record
from rollout.services.decision_cache import plan_changed
from rollout.services.notifications import feedback_email_requests_clear
from rollout.services.personal_tokens import personal_tokens_revoke_all

logger = logging.getLogger(__name__)

MSG_EMAIL_TAKEN = "Someone with the email address {email} already has an account."
MSG_UNKNOWN_ROLE = "Unknown role: {role}."
MSG_DEACTIVATE_SELF = "You cannot deactivate your own account."
MSG_ALREADY_INACTIVE = "{user} is already deactivated."
MSG_ALREADY_ACTIVE = "{user} is already active."
MSG_LAST_OPS_LEADER = "You cannot remove the last active ops leader."
MSG_ORGANISATION_OPS_ONLY = "Only ops leaders can change the organisation's settings."
MSG_ERASE_SELF = "You cannot erase your own account: another ops leader must."
MSG_ALREADY_ERASED = "This person was erased already."
MSG_ERASED_FOR_GOOD = "An erased person cannot be reactivated: invite them again instead."
ERASED_NAME = "Erased person"

ORGANISATION_FIELDS = (
    "name",
    "default_time_zone",
    "currency",
    "default_lead_time_days",
    "usage_events_retention_months",
    "feedback_text_retention_months",
    "notice_receipts_retention_months",
)

MSG_UNKNOWN_EMAIL_CATEGORY = "There is no kind of email called “{category}” to turn on or off."

RESET_SUBJECT_TEMPLATE = "accounts/email/password_reset_subject.txt"
RESET_BODY_TEMPLATE = "accounts/email/password_reset.txt"
RESET_WINDOW_SECONDS = 60 * 60


def set_password_url(*, user: User, base_url: str) -> str:
    """A one-time link to choose a password (Django's password-reset confirm view)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return base_url.rstrip("/") + path


@transaction.atomic
def user_invite(
    *, actor: User, email: str, display_name: str, roles: Iterable[str] = (), base_url: str
) -> User:
    """Create an account without a usable password and email a set-your-password link."""
    refuse_via_token()
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ApplicationError(MSG_EMAIL_TAKEN.format(email=email), field="email")
    roles = list(roles)
    _check_roles(roles)
    user = User(email=email, display_name=display_name.strip())
    user.set_unusable_password()
    user.full_clean()
    user.save()
    user.groups.set(Group.objects.filter(name__in=roles))
    activity_record(
        workflow=None,
        actor=actor,
        verb="invited",
        target=f"user {user.email}",
        changes={"roles": ["—", ", ".join(sorted(roles)) or "—"]},
    )
    link = set_password_url(user=user, base_url=base_url)
    context = {"user": user, "actor": actor, "link": link}
    # Sent after commit: a rolled-back invitation must not leave a working link in someone's inbox.
    transaction.on_commit(
        lambda: send_mail(
            subject=email_subject("You have been invited"),
            message=render_to_string("accounts/email/invite.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    )
    return user


def password_reset_request(*, email: str, client_ip: str, domain: str, use_https: bool) -> bool:
    """Ask for a reset link to be emailed to `email`, after the response; False if throttled.

    The request itself neither looks the address up nor talks to the mail server, so it does the
    same work and takes the same time whether or not an account uses the address (measured
    before: ~100 ms for a known address, 6 ms for an unknown one). The task does the rest.

    At most ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_ADDRESS requests for one address and
    ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_IP from one client IP are passed on: nobody can fill a
    colleague's inbox, nor spray every address from one machine. Beyond either the caller still
    answers as for success (the page must not tell who has an account) and a warning is logged.
    """
    email = email.strip().lower()
    per_address = _count_reset("address", email)
    per_ip = _count_reset("ip", client_ip)
    if (
        per_address > settings.ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_ADDRESS
        or per_ip > settings.ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_IP
    ):
        logger.warning(
            "Password reset throttled: %d requests this hour for the address, %d from %s;"
            " nothing sent.",
            per_address,
            per_ip,
            client_ip,
        )
        return False
    wake("accounts.tasks.send_password_reset", email, domain, use_https)
    return True


def _count_reset(kind: str, value: str) -> int:
    """Count one request in this hour's window for `value`, in the shared cache; return the
    window's total. The window opens with the first request and lasts an hour; the key is a
    digest, so no address is stored in the cache.

    While the cache is unreachable each process counts on its own (the same limit per process:
    a limit still, where failing would refuse every reset and failing open would allow any)."""
    digest = hashlib.sha256(value.encode()).hexdigest()
    key = f"password-reset:{kind}:{digest}"
    try:
        count = _shared_reset_count(key)
    except CACHE_ERRORS as exc:
        cache_failed(exc, "counting password resets")
        return _local_reset_count(key)
    cache_answered()
    return count


def _shared_reset_count(key: str) -> int:
    if cache.add(key, 1, timeout=RESET_WINDOW_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        # The window closed between add() and incr(): this request opens the next one.
        cache.add(key, 1, timeout=RESET_WINDOW_SECONDS)
        return 1


# key → (window start, count) of this process, used only while the cache is unreachable.
_local_resets: dict[str, tuple[float, int]] = {}
_local_resets_lock = threading.Lock()


def _local_reset_count(key: str) -> int:
    now = time.monotonic()
    with _local_resets_lock:
        started, count = _local_resets.get(key, (now, 0))
        if now - started >= RESET_WINDOW_SECONDS:
            started, count = now, 0
        _local_resets[key] = (started, count + 1)
        return count + 1


def forget_local_reset_counts() -> None:
    """This process's outage-time reset counts (tests start from nothing)."""
    with _local_resets_lock:
        _local_resets.clear()


def password_reset_send(*, email: str, domain: str, use_https: bool) -> int:
    """Email a reset link to each active account using `email`; return how many were sent.

    Invited people who never chose a password are included (Django's own form skips unusable
    passwords): for them a fresh link is the invitation again, and the templates say so.
    """
    sent = 0
    for user in User.objects.filter(email__iexact=email.strip(), is_active=True):
        context = {
            "user": user,
            "email": user.email,
            "domain": domain,
            "site_name": domain,
            "protocol": "https" if use_https else "http",
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        }
        # A header must be one line (Django's PasswordResetForm.send_mail does the same).
        subject = email_subject(
            "".join(render_to_string(RESET_SUBJECT_TEMPLATE, context).splitlines())
        )
        send_mail(
            subject=subject,
            message=render_to_string(RESET_BODY_TEMPLATE, context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
        sent += 1
    return sent


def _check_roles(roles: Iterable[str]) -> None:
    for role in roles:
        if role not in ORG_ROLES:
            raise ApplicationError(MSG_UNKNOWN_ROLE.format(role=role), field="roles")


def _active_ops_leaders_excluding(user: User) -> int:
    return (
        User.objects.filter(is_active=True, groups__name=ORG_ROLES[0]).exclude(pk=user.pk).count()
    )


@transaction.atomic
def user_roles_set(*, actor: User, user: User, roles: Iterable[str]) -> User:
    """Grant and remove org roles so that the user holds exactly `roles`."""
    refuse_via_token()
    roles = set(roles)
    _check_roles(roles)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = (
        set(role_names(user))
        if user.is_active
        else set(user.groups.filter(name__in=ORG_ROLES).values_list("name", flat=True))
    )
    if before == roles:
        return user
    if (
        ORG_ROLES[0] in before
        and ORG_ROLES[0] not in roles
        and not _active_ops_leaders_excluding(user)
    ):
        raise ApplicationError(MSG_LAST_OPS_LEADER, field="roles")
    keep = user.groups.exclude(name__in=ORG_ROLES)
    user.groups.set([*keep, *Group.objects.filter(name__in=roles)])
    forget_roles(user)
    activity_record(
        workflow=None,
        actor=actor,
        verb="changed roles of",
        target=f"user {user.email}",
        changes={"roles": [", ".join(sorted(before)) or "—", ", ".join(sorted(roles)) or "—"]},
    )
    return user


def user_memberships_changed(user: User) -> None:
    """Call when what the user's cohort memberships mean changed: their account was
    deactivated, reactivated, deleted or given another address. Each of their workflows' cached
    decisions, and the attribution of usage remembered with them, go at commit."""
    for workflow in Workflow.objects.filter(cohorts__memberships__user=user).distinct():
        plan_changed(workflow)


@transaction.atomic
def user_deactivate(*, actor: User, user: User) -> User:
    """Deactivate an account; its workflows are ownerless until an ops leader hands them over."""
    refuse_via_token()
    if actor.pk == user.pk:
        raise ApplicationError(MSG_DEACTIVATE_SELF)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise ApplicationError(MSG_ALREADY_INACTIVE.format(user=user))
    if ORG_ROLES[0] in role_names(user) and not _active_ops_leaders_excluding(user):
        raise ApplicationError(MSG_LAST_OPS_LEADER)
    user.is_active = False
    user.save(update_fields=["is_active"])
    forget_roles(user)
    # Their personal access tokens stop with them (authentication also checks is_active; the
    # revocation makes it last through a reactivation and shows on the tokens pages).
    personal_tokens_revoke_all(user=user, actor=actor)
    activity_record(
        workflow=None,
        actor=actor,
        verb="deactivated",
        target=f"user {user.email}",
        changes={"active": ["yes", "no"]},
    )
    # A deactivated member gets "off" from now on: drop the cached decisions of their workflows.
    user_memberships_changed(user)
    for workflow in user.owned_workflows.all():
        activity_record(
            workflow=workflow,
            actor=actor,
            verb="made ownerless",
            target=f"workflow {workflow.name}",
            changes={"owner": [str(user), f"{user} (deactivated)"]},
            note="The owner was deactivated. An ops leader must name a new owner.",
        )
    return user


def erasure_pseudonym(user_pk: int, ref: str) -> str:
    """The stable stand-in for one of a person's references (their email, lowercased, or their
    external id) once erased: the same reference always gives the same pseudonym, different
    ones different pseudonyms, so distinct-people counts stay what they were. Keyed with the
    SECRET_KEY, so nobody can test a guessed address against it."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"erasure:{user_pk}:{ref}".encode(), hashlib.sha256
    ).hexdigest()
    return f"erased-{digest[:16]}"


def _erase_refs(model: type, refs: dict[str, str], **scope: object) -> int:
    """Replace each reference in `refs` (old → pseudonym) in model.user_ref."""
    changed = 0
    for old, new in refs.items():
        changed += model.objects.filter(user_ref=old, **scope).update(user_ref=new)
    return changed


@transaction.atomic
def user_erase(*, actor: User, user: User) -> str:
    """Erase a person (PRODUCT.md "Personal data"; ops leaders): their user_ref becomes a stable
    pseudonym in usage events and rollups, their feedback text and comments are deleted, they
    leave their cohorts and follows, and their account is deactivated and emptied of their name
    and address. Counts stay right: events, feedback (its rating, category and votes) and the
    people counted stay, under the pseudonym. Logged without the personal data. Returns the
    pseudonym of their email, which names them in the log from now on."""
    refuse_via_token()
    if not is_ops_leader(actor):
        raise ApplicationError("Only ops leaders erase people.")
    if actor.pk == user.pk:
        raise ApplicationError(MSG_ERASE_SELF)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_erased:
        raise ApplicationError(MSG_ALREADY_ERASED)
    if ORG_ROLES[0] in role_names(user) and not _active_ops_leaders_excluding(user):
        raise ApplicationError(MSG_LAST_OPS_LEADER)
    email = user.email.lower()
    label = erasure_pseudonym(user.pk, email)
    # An address reported in any case is one person to the rollups (lowercased): every spelling
    # gets the one pseudonym. An external id is its own reference, as the rollups count it.
    spellings = set(
        UsageEvent.objects.filter(user_ref__iexact=email)
        .values_list("user_ref", flat=True)
        .distinct()
    ) | set(Feedback.objects.filter(user_ref__iexact=email).values_list("user_ref", flat=True))
    refs = {spelling: label for spelling in spellings | {email}}
    if user.external_id:
        refs[user.external_id] = erasure_pseudonym(user.pk, user.external_id)
    workflows = list(Workflow.objects.filter(cohorts__memberships__user=user).distinct())
    # Events attributed to them, whatever reference the tool used, and every reference of theirs.
    attributed = UsageEvent.objects.filter(user=user).exclude(user_ref__in=refs.values())
    for old in set(attributed.values_list("user_ref", flat=True).distinct()) - set(refs):
        refs[old] = erasure_pseudonym(user.pk, old.lower() if "@" in old else old)
    _erase_refs(UsageEvent, refs)
    for model in (UsageActiveUser, UsageLastActive):
        _erase_refs(model, refs)
    # Their words go; what was counted of them stays.
    FeedbackComment.objects.filter(author=user).delete()
    Feedback.objects.filter(author=user).update(text="")
    for old, new in refs.items():
        Feedback.objects.filter(user_ref=old).update(user_ref=new, text="")
    NoticeDelivery.objects.filter(recipient=user).exclude(last_error="").update(last_error="")
    for entry in ActivityEntry.objects.filter(target__icontains=email):
        entry.target = re.sub(re.escape(email), label, entry.target, flags=re.IGNORECASE)
        entry.save(update_fields=["target"])
    CohortMember.objects.filter(user=user).delete()
    Follow.objects.filter(user=user).delete()
    owned = list(user.owned_workflows.all())
    user.email = f"{label}@{ERASED_DOMAIN}"
    user.display_name = ERASED_NAME
    user.external_id = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    forget_roles(user)
    activity_record(
        workflow=None,
        actor=actor,
        verb="erased",
        target=f"person {label}",
        note="Their references are pseudonymised in usage, their feedback text and comments "
        "deleted, their account deactivated and emptied.",
    )
    for workflow in workflows:
        plan_changed(workflow)  # cached decisions for their address go
    for workflow in owned:
        activity_record(
            workflow=workflow,
            actor=actor,
            verb="made ownerless",
            target=f"workflow {workflow.name}",
            changes={"owner": [label, f"{label} (erased)"]},
            note="The owner was erased. An ops leader must name a new owner.",
        )
    return label


@transaction.atomic
def user_reactivate(*, actor: User, user: User) -> User:
    refuse_via_token()
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        raise ApplicationError(MSG_ALREADY_ACTIVE.format(user=user))
    if user.is_erased:
        raise ApplicationError(MSG_ERASED_FOR_GOOD)
    user.is_active = True
    user.save(update_fields=["is_active"])
    activity_record(
        workflow=None,
        actor=actor,
        verb="reactivated",
        target=f"user {user.email}",
        changes={"active": ["no", "yes"]},
    )
    # Their cohorts get them live again: the "off" cached while they were away must go.
    user_memberships_changed(user)
    for workflow in user.owned_workflows.all():
        activity_record(
            workflow=workflow,
            actor=actor,
            verb="owner reactivated",
            target=f"workflow {workflow.name}",
            changes={"owner": [f"{user} (deactivated)", str(user)]},
            note="The owner's account is active again; the workflow is no longer ownerless.",
        )
    return user


@transaction.atomic
def user_profile_update(*, user: User, display_name: str) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    user.display_name = display_name.strip()
    user.full_clean(exclude=["password"])
    user.save(update_fields=["display_name"])
    return user


@transaction.atomic
def user_time_zone_set(*, user: User, time_zone: str) -> User:
    """The zone `user` reads times in; "" follows the organisation's default."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.time_zone = time_zone.strip()
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc
    user.save(update_fields=["time_zone"])
    return user


@transaction.atomic
def user_email_preferences_update(*, user: User, wanted: Iterable[str]) -> User:
    """Turn each optional category of email on if it is in `wanted`, off if not. Turning feedback
    updates off also withdraws the "email me" the person ticked on single feedback reports: off
    means no feedback email at all. Raises ApplicationError for a category that is not one."""
    wanted = set(wanted)
    unknown = wanted - set(OPTIONAL_EMAIL)
    if unknown:
        raise ApplicationError(MSG_UNKNOWN_EMAIL_CATEGORY.format(category=sorted(unknown)[0]))
    user = User.objects.select_for_update().get(pk=user.pk)
    fields = []
    for category in OPTIONAL_EMAIL:
        setattr(user, email_field(category), category in wanted)
        fields.append(email_field(category))
    user.save(update_fields=fields)
    if EmailCategory.FEEDBACK not in wanted:
        feedback_email_requests_clear(user=user)
    return user


def _setting_text(value: object) -> object:
    return "kept for ever" if value is None else value


@transaction.atomic
def organisation_update(
    *,
    actor: User,
    name: str,
    default_time_zone: str,
    currency: str,
    default_lead_time_days: int,
    usage_events_retention_months: int | None = None,
    feedback_text_retention_months: int | None = None,
    notice_receipts_retention_months: int | None = None,
) -> Organisation:
    """Change the organisation's settings (ops leaders only) and log what changed, before →
    after, in one transaction. Invalid values change nothing and raise ApplicationError."""
    refuse_via_token()
    if not is_ops_leader(actor):
        raise ApplicationError(MSG_ORGANISATION_OPS_ONLY)
    # The singleton row, locked: two ops leaders saving at once log two changes, each against
    # what the other left. get_or_create: a new installation has no row until its first save.
    organisation, _ = Organisation.objects.select_for_update().get_or_create(pk=ORGANISATION_PK)
    before = {field: getattr(organisation, field) for field in ORGANISATION_FIELDS}
    organisation.name = name.strip()
    organisation.default_time_zone = default_time_zone.strip()
    organisation.currency = currency.strip().upper()
    organisation.default_lead_time_days = default_lead_time_days
    if usage_events_retention_months is not None:  # required: None leaves it as it is
        organisation.usage_events_retention_months = usage_events_retention_months
    # None: kept for ever.
    organisation.feedback_text_retention_months = feedback_text_retention_months
    organisation.notice_receipts_retention_months = notice_receipts_retention_months
    try:
        organisation.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        # The first reason only: "EURO" is not a currency, whatever its length.
        raise ApplicationError(messages[0], field=field) from exc
    changes = {
        str(Organisation._meta.get_field(field).verbose_name): [
            _setting_text(before[field]),
            _setting_text(value),
        ]
        for field in ORGANISATION_FIELDS
        if (value := getattr(organisation, field)) != before[field]
    }
    if not changes:
        return organisation
    organisation.save()
    OrganisationChange.objects.create(actor=actor, changes=changes)
    return organisation


@transaction.atomic
def user_email_unsubscribe(*, user_id: int, category: str) -> User | None:
    """One-click unsubscribe: turn one category of email off for this person, leaving the others
    as they are. Doing it twice changes nothing. None if the account no longer exists."""
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        return None
    wanted = [c for c in OPTIONAL_EMAIL if c != category and user.wants_email(c)]
    return user_email_preferences_update(user=user, wanted=wanted)

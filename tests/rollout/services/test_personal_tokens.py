from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import User
from accounts.services import user_deactivate, user_roles_set
from core.acting import MSG_NOT_VIA_TOKEN, act_via_token, stop_acting_via_token
from core.errors import ApplicationError
from rollout.models import ActivityEntry, PersonalToken, PersonalTokenStatus, Workflow
from rollout.services import personal_tokens as svc
from rollout.services.workflows import workflow_update
from tests.factories import UserFactory


def _create(user: User, **kwargs: object) -> tuple[PersonalToken, str]:
    values: dict[str, object] = {
        "name": "Laptop scripts",
        "scope": "write",
        "expires_on": timezone.localdate() + timedelta(days=90),
    }
    values.update(kwargs)
    return svc.personal_token_create(user=user, actor=user, **values)


@pytest.fixture
def via_token():
    act_via_token("CI bot")
    yield
    stop_acting_via_token()


def test_create_stores_only_the_hash_and_shows_the_plaintext_once(workflow_owner: User) -> None:
    token, plaintext = _create(workflow_owner)
    assert plaintext.startswith("rop_")
    assert len(plaintext) > 40
    assert plaintext not in token.token_hash
    assert token.prefix == plaintext[4:12]
    assert token.scope == "write"
    assert token.status_at(timezone.now()) == PersonalTokenStatus.ACTIVE
    entry = ActivityEntry.objects.get(verb="created a personal access token")
    assert entry.actor == workflow_owner
    assert entry.workflow is None
    assert entry.target == str(token)


@pytest.mark.parametrize(
    ("kwargs", "message", "field"),
    [
        ({"name": "  "}, svc.MSG_NAME_REQUIRED, "name"),
        ({"name": "x" * 81}, svc.MSG_NAME_TOO_LONG, "name"),
        ({"scope": "admin"}, svc.MSG_SCOPE, "scope"),
        ({"expires_on": None}, svc.MSG_EXPIRY_REQUIRED, "expires_on"),
        ({"expires_on": "today"}, svc.MSG_EXPIRY_PAST, "expires_on"),
        ({"expires_on": "a year and a day"}, svc.MSG_EXPIRY_TOO_FAR, "expires_on"),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(
    workflow_owner: User, kwargs: dict, message: str, field: str
) -> None:
    today = timezone.localdate()
    if kwargs.get("expires_on") == "today":
        kwargs = {"expires_on": today}
    elif kwargs.get("expires_on") == "a year and a day":
        kwargs = {"expires_on": today + timedelta(days=366)}
    with pytest.raises(ApplicationError) as caught:
        _create(workflow_owner, **kwargs)
    assert (caught.value.message, caught.value.field) == (message, field)
    assert not PersonalToken.objects.exists()


def test_a_year_is_the_longest_lifetime(workflow_owner: User) -> None:
    token, _ = _create(workflow_owner, expires_on=timezone.localdate() + timedelta(days=365))
    assert token.expires_at - timezone.now() <= timedelta(days=366)


def test_one_live_name_per_person(workflow_owner: User, other_user: User) -> None:
    token, _ = _create(workflow_owner)
    with pytest.raises(ApplicationError) as caught:
        _create(workflow_owner, name="laptop   SCRIPTS")
    assert caught.value.message == svc.MSG_NAME_TAKEN
    _create(other_user)  # another person may use the name
    svc.personal_token_revoke(token=token, actor=workflow_owner)
    _create(workflow_owner)  # and so may its person once the old one is revoked


def test_nobody_creates_a_token_for_someone_else(ops_leader: User, workflow_owner: User) -> None:
    with pytest.raises(ApplicationError, match=svc.MSG_NOT_YOURS):
        svc.personal_token_create(
            user=workflow_owner,
            actor=ops_leader,
            name="x",
            scope="read",
            expires_on=timezone.localdate() + timedelta(days=1),
        )


def test_authenticate_accepts_a_live_token_and_notes_its_use(workflow_owner: User) -> None:
    token, plaintext = _create(workflow_owner)
    found = svc.personal_token_authenticate(plaintext)
    assert found == token
    assert found.user == workflow_owner
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_authenticate_refuses_unknown_revoked_expired_and_deactivated(
    workflow_owner: User, ops_leader: User
) -> None:
    assert svc.personal_token_authenticate("rop_nonsense") is None
    assert svc.personal_token_refusal("rop_nonsense") == svc.MSG_TOKEN_INVALID
    assert svc.personal_token_refusal("ro_workflow-token") == svc.MSG_TOKEN_INVALID

    token, plaintext = _create(workflow_owner)
    later = token.expires_at + timedelta(seconds=1)
    assert svc.personal_token_authenticate(plaintext, now=later) is None
    assert svc.personal_token_refusal(plaintext, now=later) == svc.MSG_TOKEN_EXPIRED

    svc.personal_token_revoke(token=token, actor=workflow_owner)
    assert svc.personal_token_authenticate(plaintext) is None
    assert svc.personal_token_refusal(plaintext) == svc.MSG_TOKEN_REVOKED


def test_deactivating_a_person_revokes_all_their_tokens(
    workflow_owner: User, ops_leader: User
) -> None:
    first, first_plain = _create(workflow_owner, name="one")
    _create(workflow_owner, name="two")
    user_deactivate(actor=ops_leader, user=workflow_owner)
    assert svc.personal_token_authenticate(first_plain) is None
    assert svc.personal_token_refusal(first_plain) == svc.MSG_TOKEN_REVOKED
    assert set(PersonalToken.objects.values_list("revoked_by", flat=True)) == {ops_leader.pk}
    entry = ActivityEntry.objects.get(verb="revoked all personal access tokens of")
    assert entry.note == "2 tokens."


def test_only_the_person_or_an_ops_leader_revokes(
    workflow_owner: User, ops_leader: User, other_user: User, executive: User
) -> None:
    token, _ = _create(workflow_owner)
    for outsider in (other_user, executive):
        with pytest.raises(ApplicationError, match=svc.MSG_NOT_ALLOWED):
            svc.personal_token_revoke(token=token, actor=outsider)
    svc.personal_token_revoke(token=token, actor=ops_leader)
    token.refresh_from_db()
    assert token.revoked_by == ops_leader
    with pytest.raises(ApplicationError, match=svc.MSG_ALREADY_REVOKED):
        svc.personal_token_revoke(token=token, actor=workflow_owner)
    assert ActivityEntry.objects.get(verb="revoked a personal access token").target == (
        f"{token} of {workflow_owner.email}"
    )


@pytest.mark.usefixtures("via_token")
def test_a_token_never_creates_tokens_or_changes_people(
    workflow_owner: User, ops_leader: User
) -> None:
    with pytest.raises(PermissionDenied, match=MSG_NOT_VIA_TOKEN):
        _create(ops_leader)
    with pytest.raises(PermissionDenied, match=MSG_NOT_VIA_TOKEN):
        user_roles_set(actor=ops_leader, user=workflow_owner, roles=["Executives"])
    with pytest.raises(PermissionDenied, match=MSG_NOT_VIA_TOKEN):
        user_deactivate(actor=ops_leader, user=workflow_owner)
    assert not workflow_owner.groups.exists()


def test_changes_through_a_token_say_so_in_the_log(
    via_token: None, workflow: Workflow, workflow_owner: User
) -> None:
    workflow_update(workflow=workflow, actor=workflow_owner, summary="New words")
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert entry.note.endswith("via token CI bot")


def test_changes_signed_in_do_not(workflow: Workflow, workflow_owner: User) -> None:
    workflow_update(workflow=workflow, actor=workflow_owner, summary="New words")
    assert "via token" not in ActivityEntry.objects.filter(workflow=workflow).first().note


def test_a_person_with_no_account_left_cannot_create(db) -> None:
    user = UserFactory(is_active=False)
    with pytest.raises(ApplicationError, match=svc.MSG_INACTIVE):
        _create(user)

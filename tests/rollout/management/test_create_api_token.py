from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.services import user_deactivate
from rollout.management.commands.create_api_token import MSG_OWNERLESS, MSG_UNKNOWN_WORKFLOW
from rollout.models import ApiToken
from rollout.services.api_tokens import MSG_NAME_TAKEN, api_token_authenticate


def _run(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue()


def test_prints_only_the_token(workflow, workflow_owner):
    output = _run(workflow.slug, "--name", "Nightly script")
    plaintext = output.strip()
    assert output == plaintext + "\n"
    token = api_token_authenticate(plaintext)
    assert token is not None
    token = ApiToken.objects.get(pk=token.pk)
    assert (token.workflow, token.name, token.created_by) == (
        workflow,
        "Nightly script",
        workflow_owner,
    )


def test_unknown_slug(db):
    with pytest.raises(CommandError, match="No workflow has the slug 'nope'."):
        _run("nope", "--name", "X")
    assert MSG_UNKNOWN_WORKFLOW.format(slug="nope") == "No workflow has the slug 'nope'."
    assert ApiToken.objects.count() == 0


def test_duplicate_name(workflow):
    _run(workflow.slug, "--name", "CI")
    with pytest.raises(CommandError) as exc:
        _run(workflow.slug, "--name", "CI")
    assert str(exc.value) == MSG_NAME_TAKEN
    assert ApiToken.objects.count() == 1


def test_ownerless_workflow(workflow, workflow_owner, ops_leader):
    user_deactivate(user=workflow_owner, actor=ops_leader)
    with pytest.raises(CommandError) as exc:
        _run(workflow.slug, "--name", "CI")
    assert str(exc.value) == MSG_OWNERLESS.format(slug=workflow.slug)
    assert ApiToken.objects.count() == 0


def test_name_is_required(workflow):
    with pytest.raises(CommandError, match="--name"):
        _run(workflow.slug)

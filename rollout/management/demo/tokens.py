"""The demo's integration tokens (issue 19), for `seed_demo`: Support reply drafting's support
tool is mid-rotation — its new token in use, the old one still accepted for the rest of its
24-hour grace period — and a nightly data pipeline reports the CRM export's health with a token of
its own. Made through the services (as the tokens page does), then back-dated: when each was
created and last used. The plaintexts are thrown away, as they would be once shown.
"""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from rollout.models import ApiToken, RotationGrace, Workflow
from rollout.services.api_tokens import api_token_create, api_token_rotate

WORKFLOW = "support-reply-drafting"
SUPPORT_TOOL = "Support tool production"
PIPELINE = "Nightly CRM pipeline"


def demo_tokens_seed(*, workflow: Workflow, owner: User) -> bool:
    """Adds the tokens to the demo workflow that has them in its story, unless it has tokens
    already; whether it added them."""
    if workflow.slug != WORKFLOW or ApiToken.objects.filter(workflow=workflow).exists():
        return False
    now = timezone.now()
    old, _ = api_token_create(workflow=workflow, actor=owner, name=SUPPORT_TOOL)
    pipeline, _ = api_token_create(workflow=workflow, actor=owner, name=PIPELINE)
    new, _ = api_token_rotate(
        token=old, actor=owner, grace=timedelta(seconds=RotationGrace.DAY.value)
    )
    backdate = {
        old.pk: (now - timedelta(days=96), now - timedelta(minutes=4)),
        pipeline.pk: (now - timedelta(days=30), now - timedelta(hours=5)),
        new.pk: (now - timedelta(hours=3), now - timedelta(seconds=40)),
    }
    for pk, (created_at, last_used_at) in backdate.items():
        ApiToken.objects.filter(pk=pk).update(created_at=created_at, last_used_at=last_used_at)
    # The rotation happened when the new token was made: its grace ends 24 hours after that.
    ApiToken.objects.filter(pk=old.pk).update(
        expires_at=backdate[new.pk][0] + timedelta(seconds=RotationGrace.DAY.value)
    )
    return True

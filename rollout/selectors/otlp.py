"""What API tokens exported over OTLP (rollout.models.OtlpTokenCount), for the tokens page."""

from collections.abc import Sequence

from django.db.models import prefetch_related_objects

from rollout.models import ApiToken


def otlp_counts_prefetch[T: Sequence[ApiToken]](tokens: T) -> T:
    """The tokens, each with its OTLP counts loaded (`token.otlp_count`; a token that never
    exported has none): one query for the whole list."""
    prefetch_related_objects(list(tokens), "otlp_count")
    return tokens

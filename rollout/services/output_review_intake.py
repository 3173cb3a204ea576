"""Sampled AI outputs arriving with usage events (issue 18 §2), called from ingestion
(rollout.services.usage_ingest).

`attrs.output` never reaches the events table: `outputs_take` drops it from every event of a
batch. An `invocation` event whose person's cohort reviews a sample, and whose event id falls in
the sample (rollout.lib.output_sampling), becomes a review item holding the output, in the same
transaction as the events and in one statement: an INSERT … SELECT that joins the cohorts to
keep only the picked ones, idempotent on (workflow, event_id) — a batch sent twice creates the
item once. A batch without `attrs.output` costs one dictionary lookup per event and no
statement.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from rollout.lib.output_sampling import output_bucket, output_problem
from rollout.models import Cohort, OutputReview, ReviewLevel

OUTPUT_KEY = "output"


def outputs_take(events: Sequence[Any]) -> tuple[Sequence[Any], list[tuple[Any, str]]]:
    """(the events without `attrs.output`, [(event, output) of the invocations that carried
    one]). `events` are rollout.services.usage_ingest.EventData; the same sequence comes back
    untouched when no event carries an output."""
    # A plain loop: a generator in any() costs twice as much, and this runs for every batch.
    for event in events:
        if OUTPUT_KEY in event.attrs:
            break
    else:
        return events, []
    kept, outputs = [], []
    for event in events:
        if OUTPUT_KEY not in event.attrs:
            kept.append(event)
            continue
        output = event.attrs[OUTPUT_KEY]
        attrs = {k: v for k, v in event.attrs.items() if k != OUTPUT_KEY}
        event = event._replace(attrs=attrs)
        kept.append(event)
        # The events API refuses a bad output per item; another caller's is dropped here.
        if output_problem(event.kind, output) is None:
            outputs.append((event, output))
    return kept, outputs


def _prep(model: type, name: str, value: object) -> object:
    return model._meta.get_field(name).get_db_prep_value(value, connection)


def output_reviews_pick(
    *,
    workflow_id: int,
    outputs: Sequence[tuple[Any, str]],
    attribution: Mapping[str, tuple[int, int | None]],
    now: datetime,
) -> None:
    """Store the picked outputs as review items (one statement; nothing when none can be)."""
    rows: list[list[object]] = []
    for event, output in outputs:
        user_id, cohort_id = attribution.get(event.user_ref, (None, None))
        if cohort_id is None:
            continue  # nobody's cohort: no sample to be in
        rows.append(
            [
                _prep(OutputReview, "event_id", uuid.UUID(str(event.event_id))),
                cohort_id,
                user_id,
                event.user_ref,
                _prep(OutputReview, "occurred_at", event.occurred_at),
                output,
                output_bucket(event.event_id),
            ]
        )
    if not rows:
        return
    reviews, cohorts = OutputReview._meta.db_table, Cohort._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    # VALUES columns are column1…column7 on PostgreSQL and SQLite alike.
    sql = f"""
        INSERT INTO {reviews}
            (workflow_id, event_id, cohort_id, user_id, user_ref, occurred_at, excerpt,
             created_at, grade, note)
        SELECT %s, v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, %s, '', ''
        FROM (VALUES {values}) AS v
        JOIN {cohorts} AS c ON c.id = v.column2
        WHERE c.workflow_id = %s AND c.review_level = %s
          AND v.column7 < c.review_sample_rate * 100
        ON CONFLICT (workflow_id, event_id) DO NOTHING
    """  # noqa: S608 — the table names are ours; every value is a parameter.
    params: list[object] = [workflow_id, _prep(OutputReview, "created_at", now)]
    for row in rows:
        params += row
    params += [workflow_id, str(ReviewLevel.SAMPLE)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)

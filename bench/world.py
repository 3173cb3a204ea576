"""The bench's data: a workflow in its limited roll-out, its people, a token, and usage events."""

from datetime import timedelta

MEMBERS = 500
WARM_UP = 20  # people of the notice that warms the workers up before the fan-out figure


def make_world(fanout: int) -> dict:
    """A workflow in its limited roll-out with four cohorts of MEMBERS people in all (asked about
    by the decision figure), a cohort of `fanout` people (the notice figure's audience) and one
    of WARM_UP, an API token and a signed-in session of the owner."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from accounts.models import User
    from rollout.models import Cohort, CohortMember, Phase, PhaseStatus
    from rollout.services.api_tokens import api_token_create
    from tests.factories import make_workflow, ops_leader_user

    ops = ops_leader_user(email="ops@bench.example", display_name="Bench Ops")
    owner = User.objects.create_user("owner@bench.example", "bench", display_name="Bench Owner")
    now = timezone.now()
    start = timezone.localdate(now) - timedelta(days=200)
    workflow = make_workflow(
        owner=owner, actor=ops, name="Bench workflow", slug="bench-workflow", plan_start_date=start
    )
    # Straight to the limited phase (bench set-up, not a product path).
    for phase in Phase.objects.filter(workflow=workflow):
        if phase.kind in ("audit", "shadow"):
            phase.status, phase.actual_start = PhaseStatus.COMPLETED, now - timedelta(days=200)
            phase.actual_end = now - timedelta(days=190)
        elif phase.kind == "limited":
            phase.status, phase.actual_start = PhaseStatus.ACTIVE, now - timedelta(days=190)
        phase.save()
    users = User.objects.bulk_create(
        [User(email=f"agent{i}@bench.example", display_name=f"Agent {i}") for i in range(MEMBERS)]
    )
    cohorts = [
        Cohort.objects.create(workflow=workflow, name=name, enrolled_phase="limited")
        for name in ("Bench cohort", "EU agents", "US agents", "APAC agents")
    ]
    CohortMember.objects.bulk_create(
        [CohortMember(cohort=cohorts[i % len(cohorts)], user=u) for i, u in enumerate(users)]
    )
    audiences = {}
    for name, size in (("Fan-out", fanout), ("Warm-up", WARM_UP)):
        audiences[name] = Cohort.objects.create(workflow=workflow, name=name)
        people = User.objects.bulk_create(
            [
                User(email=f"{name.lower()}{i}@bench.example", display_name=f"{name} {i}")
                for i in range(size)
            ],
            batch_size=1000,
        )
        CohortMember.objects.bulk_create(
            [CohortMember(cohort=audiences[name], user=u) for u in people], batch_size=1000
        )
    _, token = api_token_create(workflow=workflow, actor=owner, name="bench")
    session = SessionStore()
    session["_auth_user_id"] = str(owner.pk)
    session["_auth_user_backend"] = "accounts.backends.UserBackend"
    session["_auth_user_hash"] = owner.get_session_auth_hash()
    session.create()
    return {
        "token": token,
        "slug": workflow.slug,
        "workflow_id": workflow.pk,
        "users": [u.email for u in users],
        "session": session.session_key,
        "owner_id": owner.pk,
        "fanout_cohort_id": audiences["Fan-out"].pk,
        "warm_up_cohort_id": audiences["Warm-up"].pk,
        "fanout": fanout,
    }


def bulk_events(workflow_id: int, count: int, days: int) -> None:
    """COUNT events over the last DAYS days, generated inside PostgreSQL (fast), for people of
    the workflow's decision cohorts with their real user and cohort ids. Then VACUUM ANALYZE, as
    autovacuum would soon do after such a load (and would otherwise do during the timings)."""
    from django.db import connection

    sql = """
        WITH members AS (
            SELECT row_number() OVER (ORDER BY m.id) - 1 AS i, u.id AS user_id, u.email,
                   m.cohort_id
            FROM rollout_cohortmember m JOIN accounts_user u ON u.id = m.user_id
            JOIN rollout_cohort c ON c.id = m.cohort_id
            WHERE c.workflow_id = %(wf)s AND c.enrolled_phase = 'limited'
        ), n AS (SELECT count(*) AS n FROM members)
        INSERT INTO rollout_usageevent (workflow_id, event_id, user_ref, user_id, cohort_id, kind,
            latency_ms, latency_bucket, occurred_at, received_at, attrs)
        SELECT %(wf)s, gen_random_uuid(), m.email, m.user_id, m.cohort_id,
               (ARRAY['invocation','invocation','accepted','edited','overridden','error',
                      'invocation','accepted'])[1 + (g %% 8)],
               lat, LEAST(20, width_bucket(lat, ARRAY[25,50,75,100,150,200,300,400,500,750,1000,
                      1500,2000,3000,5000,7500,10000,20000,30000,60000]::int[])),
               now() - (random() * %(days)s * interval '1 day'), now(), '{}'::jsonb
        FROM generate_series(1, %(count)s) AS g
        CROSS JOIN n
        JOIN members m ON m.i = (g::bigint * 7919) %% n.n
        CROSS JOIN LATERAL (SELECT (300 + random() * 1500)::int + g %% 2 AS lat) l
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"wf": workflow_id, "count": count, "days": days})
        cursor.execute("VACUUM (ANALYZE) rollout_usageevent")


def rollup_all(workflow_id: int) -> int:
    """Rebuilds every day's rollup from raw events (the recovery command's work). Returns days."""
    from rollout.models import Workflow
    from rollout.services.usage_rollup import usage_rollup_rebuild

    return usage_rollup_rebuild(workflow=Workflow.objects.get(pk=workflow_id))

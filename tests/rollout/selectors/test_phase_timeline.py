from datetime import UTC, date, datetime

from rollout.models import Phase
from rollout.selectors.plan import phase_timeline
from rollout.services.phases import plan_create_default


def test_no_plan_no_timeline(workflow):
    assert phase_timeline(workflow, date(2027, 1, 10)) is None


def test_geometry(workflow, ops_leader):
    plan_create_default(workflow=workflow, start_date=date(2027, 1, 4), actor=ops_leader)
    started = datetime(2027, 1, 4, 9, tzinfo=UTC)
    Phase.objects.filter(workflow=workflow, kind="audit").update(actual_start=started)
    today = date(2027, 2, 1)
    timeline = phase_timeline(workflow, today)
    assert timeline.start == date(2027, 1, 4)
    # broad ends 3 Jul 2027; the open-ended steady state shows 60 days beyond.
    assert timeline.end == date(2027, 9, 1)
    assert [r.kind for r in timeline.rows] == ["audit", "shadow", "limited", "broad", "steady"]
    audit, shadow = timeline.rows[0], timeline.rows[1]
    assert audit.planned.x == timeline.chart_left
    # Bars touch: shadow starts where audit's last day ends.
    assert abs(shadow.planned.x - (audit.planned.x + audit.planned.width)) < 0.2
    assert timeline.rows[-1].planned.x + timeline.rows[-1].planned.width <= timeline.chart_right + 1
    assert audit.actual is not None and shadow.actual is None
    assert shadow.actual_text == "Not started"
    assert audit.actual_text == "Since 4 Jan 2027"
    assert audit.actual.x == audit.planned.x
    assert timeline.rows[4].planned_text == "From 4 Jul 2027, open-ended"
    assert timeline.chart_left < timeline.today_x < timeline.chart_right
    assert timeline.today_label == "Today, 1 Feb 2027"
    assert [t.label for t in timeline.ticks][:2] == ["Feb 2027", "Mar 2027"]
    assert timeline.rows[1].y - timeline.rows[0].y == timeline.row_height


def test_today_far_away_is_off_the_axis(workflow, ops_leader):
    plan_create_default(workflow=workflow, start_date=date(2027, 1, 4), actor=ops_leader)
    timeline = phase_timeline(workflow, date(2030, 1, 1))
    assert timeline.today_x is None


def test_month_labels_never_overlap_even_at_the_right_edge():
    from rollout.selectors.plan import TICK_LABEL_WIDTH, Tick, _apart

    # Apr at 860, May at 900+: May's label would end at its line, over Apr's.
    ticks = [Tick(700.0, "Mar 2027"), Tick(860.0, "Apr 2027"), Tick(905.0, "May 2027")]
    kept = _apart(ticks)
    assert [t.label for t in kept] == ["Mar 2027", "Apr 2027"]
    spans = [
        (t.x - TICK_LABEL_WIDTH, t.x) if t.anchor_end else (t.x, t.x + TICK_LABEL_WIDTH)
        for t in kept
    ]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # Far enough apart, the edge label is kept and ends at its line.
    kept = _apart([Tick(700.0, "Apr 2027"), Tick(975.0, "May 2027")])
    assert [(t.label, t.anchor_end) for t in kept] == [("Apr 2027", False), ("May 2027", True)]

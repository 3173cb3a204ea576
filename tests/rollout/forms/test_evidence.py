from datetime import date

import pytest
from django.http import QueryDict
from django.utils import timezone

from rollout.forms.evidence import (
    MSG_BAD_END,
    MSG_BAD_QUARTER,
    MSG_REVERSED,
    BoardPackForm,
    OrgActivityFilterForm,
    Quarter,
    quarter_of,
)


@pytest.mark.parametrize(
    ("quarter", "first", "last"),
    [
        (Quarter(2026, 1), date(2026, 1, 1), date(2026, 3, 31)),
        (Quarter(2024, 1), date(2024, 1, 1), date(2024, 3, 31)),
        (Quarter(2026, 2), date(2026, 4, 1), date(2026, 6, 30)),
        (Quarter(2026, 3), date(2026, 7, 1), date(2026, 9, 30)),
        (Quarter(2026, 4), date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_quarter_days(quarter, first, last):
    assert (quarter.first_day, quarter.last_day) == (first, last)
    assert quarter_of(first) == quarter_of(last) == quarter


def test_quarters_step_back_across_years():
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter(2026, 1).key == "2026-Q1"
    assert Quarter(2026, 1).label == "Q1 2026"


@pytest.mark.parametrize("raw", ["2026-Q5", "Q4", "2026Q4", "99999-Q1", "1900-Q1"])
def test_a_quarter_not_understood_is_the_current_one_with_a_message(raw):
    quarter, notes = BoardPackForm(QueryDict(f"quarter={raw}")).chosen()
    assert quarter == quarter_of(timezone.localdate())
    assert notes == [MSG_BAD_QUARTER]


def test_any_well_written_quarter_is_understood():
    assert BoardPackForm(QueryDict("quarter=2019-Q3")).chosen() == (Quarter(2019, 3), [])
    assert BoardPackForm(None).chosen() == (quarter_of(timezone.localdate()), [])


def test_date_range_reversed_and_bad():
    form = OrgActivityFilterForm(QueryDict("start=2026-03-10&end=2026-03-01"))
    assert form.notes() == [MSG_REVERSED]
    dates = form.date_range()
    assert (dates.first_day, dates.last_day) == (date(2026, 3, 1), date(2026, 3, 10))
    assert dates.start < dates.end
    form = OrgActivityFilterForm(QueryDict("end=2026-13-40"))
    assert form.notes() == [MSG_BAD_END]
    assert form.date_range().end is None

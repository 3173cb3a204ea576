import csv
import io

import pytest

from rollout.lib.csv_cells import Echo, csv_cell, csv_row


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("EU tier-1 agents", "EU tier-1 agents"),
        ("", ""),
        (-3, -3),  # a number is not a formula
        (None, None),
    ],
)
def test_a_cell_that_would_run_as_a_formula_is_text(value, shown):
    assert csv_cell(value) == shown


def test_a_row_streams_through_echo():
    line = csv.writer(Echo()).writerow(csv_row(["=1+1", 2, "plain"]))
    assert next(csv.reader(io.StringIO(line))) == ["'=1+1", "2", "plain"]

from datetime import UTC

from django.utils import timezone

from rollout.lib.activity_changes import ChangeRow, change_rows, change_summary


def test_labels_times_and_booleans_read_like_the_rest_of_the_app():
    with timezone.override(UTC):
        rows = change_rows(
            {
                "publish at": ["2026-12-06 17:00:00+00:00", "2026-12-06T17:22:11.970348+00:00"],
                "acknowledgement required": ["False", "True"],
                "also send to followers": [False, True],
                "Status": ["Draft", "Scheduled"],
            }
        )
    assert rows == [
        ChangeRow("Publish at", "6 Dec 2026, 17:00 UTC", "6 Dec 2026, 17:22 UTC"),
        ChangeRow("Acknowledgement required", "not required", "required"),
        ChangeRow("Also send to followers", "no", "yes"),
        ChangeRow("Status", "Draft", "Scheduled"),
    ]


def test_times_are_shown_in_the_readers_zone():
    with timezone.override("Europe/Paris"):
        [row] = change_rows({"effective at": ["—", "2026-12-11T17:00:00+00:00"]})
    assert (row.before, row.after) == ("—", "11 Dec 2026, 18:00 CET")


def test_a_long_or_multi_line_text_is_marked_long():
    long_text = "A draft promised a customer a full refund. " * 3
    rows = change_rows({"body": ["Short.", long_text], "title": ["One\nTwo", "One"]})
    assert [row.long for row in rows] == [True, True]
    assert rows[0].after == long_text


def test_odd_stored_values_never_break_the_page():
    assert change_rows(None) == []
    assert change_rows({"limit": "0.15"}) == [ChangeRow("Limit", "", "0.15")]
    assert change_rows({"when": ["2026-13-45 99:99", None]}) == [
        ChangeRow("When", "2026-13-45 99:99", "")
    ]
    assert change_rows({"": ["a", "b"]}) == [ChangeRow("", "a", "b")]


def test_the_summary_names_what_changed_in_one_line():
    assert change_summary({}) == ""
    assert change_summary({"status": ["New", "Open"]}) == "Status changed."
    assert (
        change_summary({"status": [1, 2], "Severity": [1, 2], "assignee": [1, 2]})
        == "Status, severity and assignee changed."
    )


def test_a_naive_iso_time_is_read_as_utc():
    with timezone.override(UTC):
        [row] = change_rows({"at": ["2026-12-06 09:30", "2026-12-06 10:00:00"]})
    assert (row.before, row.after) == ("6 Dec 2026, 09:30 UTC", "6 Dec 2026, 10:00 UTC")

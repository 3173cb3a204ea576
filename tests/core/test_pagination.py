import pytest
from django.http import QueryDict

from core.pagination import page_number, paginate, paginate_counted


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 1),
        ("", 1),
        ("abc", 1),
        ("1.5", 1),
        ("0", 1),
        ("-1", 1),
        ("2", 2),
        (" 3 ", 3),
        ("4", 4),
        ("5", 4),
        ("9" * 40, 4),
    ],
)
def test_a_page_number_becomes_the_nearest_real_page(raw, expected):
    assert page_number(raw, 4) == expected


def test_an_empty_list_has_one_empty_page():
    page = paginate([], QueryDict("page=7"))["page_obj"]

    assert (page.number, page.object_list, page.has_other_pages()) == (1, [], False)


def test_the_links_keep_every_other_parameter_once():
    context = paginate(range(500), QueryDict("status=new&cohort=3&cohort=4&page=2&q=a b"))

    assert context["page_query"] == "status=new&cohort=3&cohort=4&q=a+b&"
    assert context["page_obj"].object_list == list(range(50, 100))
    assert context["page_range"] == [1, 2, 3, 4, "…", 9, 10]


def test_a_long_range_of_pages_leaves_out_the_middle():
    context = paginate(range(5000), QueryDict("page=50"), per_page=10)

    ellipsis = context["page_obj"].paginator.ELLIPSIS
    assert context["page_range"] == [1, 2, ellipsis, 48, 49, 50, 51, 52, ellipsis, 499, 500]
    assert context["page_query"] == ""


def test_a_counted_list_gives_the_positions_to_load_under_its_own_parameter():
    context = paginate_counted(120, QueryDict("members_3=3&members_4=2"), param="members_3")

    page = context["page_obj"]
    assert (page.object_list[0], page.object_list[-1]) == (100, 119)
    assert (page.start_index(), page.end_index(), page.paginator.count) == (101, 120, 120)
    assert context["page_query"] == "members_4=2&"
    assert context["page_param"] == "members_3"

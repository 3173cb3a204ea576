"""Cutting a long list into pages: the one way every list page does it.

A page asks :func:`paginate` for the page its query string names and hands the result to the
template, which includes ``_shared/pagination.html``. Whatever is asked for, a page is shown:
a missing or malformed number ("abc", "1.5") is the first page, 0 or a negative number the
first, one past the end the last. Two queries whatever the list's length: a COUNT and the
page's slice. The links keep every other parameter of the query string (the filters).
"""

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import QueryDict

PER_PAGE = 50


def page_number(raw: str | None, num_pages: int) -> int:
    """The valid page nearest to what was asked for (1 when it is not a whole number)."""
    try:
        number = int(raw or "")
    except ValueError:
        return 1
    return min(max(number, 1), num_pages)


def paginate(
    items: Any, params: QueryDict, *, per_page: int = PER_PAGE, param: str = "page"
) -> dict[str, Any]:
    """The template context of one page of `items`: ``page_obj``, ``page_range`` (page numbers
    with Paginator.ELLIPSIS where some are left out), ``page_param`` and ``page_query`` (the rest
    of the query string, ending in "&" when not empty, to put before ``page_param=N``)."""
    return _context(Paginator(items, per_page), params, param)


def paginate_counted(
    count: int, params: QueryDict, *, per_page: int = PER_PAGE, param: str = "page"
) -> dict[str, Any]:
    """Like paginate, for a list whose length is already known and whose rows the caller loads
    itself (several lists of one page in one query): the page's object_list is the range of
    0-based positions to load, to be replaced by the rows."""
    return _context(Paginator(range(count), per_page), params, param)


def _context(paginator: Paginator, params: QueryDict, param: str) -> dict[str, Any]:
    page: Page = paginator.page(page_number(params.get(param), paginator.num_pages))
    page.object_list = list(page.object_list)  # one query, however often the page reads it
    others = params.copy()
    others.pop(param, None)
    query = others.urlencode()
    return {
        "page_obj": page,
        "page_range": list(paginator.get_elided_page_range(page.number, on_each_side=2)),
        "page_param": param,
        "page_query": f"{query}&" if query else "",
    }

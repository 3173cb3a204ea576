"""Every list page cuts its list into pages the same way (core.pagination and
_shared/pagination.html): a fixed number of queries whatever the number of rows, "Showing 51–100
of 107", page links that keep the other parameters, the nearest valid page for any page number,
and the page's own access rules.

Rows are bulk-inserted (like bench/lists.py): these tests are about reading long lists, and the
services that write each row one by one are tested beside them.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rollout.models import Cohort, CohortMember, NoticeReceipt
from tests.rollout.list_fixtures import (
    CALENDAR_MONTH,
    LARGE,
    PER_PAGE,
    SMALL,
    Scene,
    make_people,
    seed_activity,
    seed_approvals,
    seed_calendar,
    seed_cohort_members,
    seed_escalations,
    seed_feedback,
    seed_inbox,
    seed_incidents,
    seed_not_acknowledged,
    seed_notices,
)
from tests.rollout.views.conftest import as_user


@dataclass
class ListPage:
    name: str
    url: Callable[[Scene], str]
    seed: Callable[[Scene, int, int], None]
    per_page: int = PER_PAGE
    param: str = "page"
    # Rows the page lists besides the seeded ones (the workflow's "created" activity entry)
    # and how many listed items each seeded row makes (a calendar notice: two events).
    extra: int = 0
    items_per_row: int = 1
    viewer: str = "owner"
    refused: str = "stranger"
    refused_status: int = 404
    # A parameter the page's links must keep (a filter, the calendar's month).
    kept: tuple[str, str] = ("q", "kept")


def _workflow_url(name: str, **kwargs) -> Callable[[Scene], str]:
    return lambda scene: reverse(name, kwargs={"slug": scene.workflow.slug, **kwargs})


PAGES = [
    ListPage("notices", _workflow_url("workflow_notices"), seed_notices),
    ListPage("incidents", _workflow_url("workflow_incidents"), seed_incidents),
    ListPage("inbox", lambda scene: reverse("inbox"), seed_inbox, refused=""),
    ListPage(
        "calendar",
        lambda scene: reverse("calendar"),
        seed_calendar,
        refused="",
        kept=("month", CALENDAR_MONTH),
    ),
    ListPage(
        "approvals",
        lambda scene: reverse("approval_list"),
        seed_approvals,
        param="notices_page",
        viewer="ops_leader",
        refused="owner",
        refused_status=403,
    ),
    ListPage("escalations", _workflow_url("escalation_path"), seed_escalations, param="open_page"),
    ListPage(
        "cohort members",
        _workflow_url("workflow_cohorts"),
        seed_cohort_members,
        param="members_{cohort}",
    ),
    ListPage(
        "who has not acknowledged",
        lambda scene: reverse(
            "notice_detail",
            kwargs={"slug": scene.workflow.slug, "notice_id": scene.notice.pk},
        ),
        seed_not_acknowledged,
        param="pending_page",
    ),
    ListPage(
        "feedback",
        _workflow_url("workflow_feedback"),
        seed_feedback,
        per_page=25,
        kept=("status", "new"),
    ),
    ListPage(
        "activity",
        _workflow_url("workflow_activity"),
        seed_activity,
        per_page=25,
        extra=1,
        viewer="executive",
    ),
]


@pytest.fixture
def scene(workflow, workflow_owner, ops_leader, executive, other_user) -> Scene:
    return Scene(workflow, workflow_owner, ops_leader, executive, other_user)


def _param(page: ListPage, scene: Scene) -> str:
    return page.param.format(cohort=scene.cohort.pk if scene.cohort else "")


def _query(page: ListPage, scene: Scene, number: object) -> dict[str, object]:
    key, value = page.kept
    return {key: value, _param(page, scene): number}


def _get(page: ListPage, scene: Scene, number: object, user: str | None = None):
    client = as_user(getattr(scene, user or page.viewer))
    return client.get(page.url(scene), _query(page, scene, number))


def _queries(page: ListPage, scene: Scene, number: int) -> int:
    client = as_user(getattr(scene, page.viewer))
    url, query = page.url(scene), _query(page, scene, number)
    client.get(url, query)  # warm: the first request of a session may fill caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query)
    assert response.status_code == 200
    return len(captured)


def _rows(page: ListPage, seeded: int) -> int:
    return seeded * page.items_per_row + page.extra


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_the_same_number_of_queries_whatever_the_number_of_rows(scene, page):
    page.seed(scene, 0, SMALL)
    small = _queries(page, scene, 1)

    page.seed(scene, SMALL, LARGE * 2)

    assert _queries(page, scene, 1) == small
    assert _queries(page, scene, 2) == small


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_a_middle_page_says_what_it_shows_and_links_to_the_others(scene, page):
    page.seed(scene, 0, LARGE)
    total = _rows(page, LARGE) if page.name != "calendar" else 2 * ((LARGE + 1) // 2)
    param, (key, value) = _param(page, scene), page.kept

    response = _get(page, scene, 2)

    assert response.status_code == 200
    html = response.content.decode()
    per = page.per_page
    assert f"Showing {per + 1}–{2 * per} of {total:,}" in html
    links = f"?{key}={value}&amp;{param}="
    assert (
        f'href="{links}2' in html
        and 'aria-current="page" aria-label="Page 2, current page"' in html
    )
    assert f'href="{links}1' in html and 'aria-label="Page 1"' in html
    assert f'href="{links}3' in html and 'rel="next"' in html and 'rel="prev"' in html


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
@pytest.mark.parametrize(
    ("asked", "shown"),
    [("0", 1), ("-1", 1), ("abc", 1), ("1.5", 1), ("", 1), ("3", 3), ("99", 99), ("9" * 30, 99)],
)
def test_any_page_number_shows_the_nearest_real_page(scene, page, asked, shown):
    page.seed(scene, 0, LARGE)
    last = -(-_rows(page, LARGE) // page.per_page) if page.name != "calendar" else 3
    shown = min(shown, last)  # past the end: the last page

    response = _get(page, scene, asked)

    assert response.status_code == 200
    assert f'aria-current="page" aria-label="Page {shown}, current page"' in (
        response.content.decode()
    )


@pytest.mark.parametrize("page", [p for p in PAGES if p.refused], ids=lambda p: p.name)
def test_someone_without_a_role_gets_no_page(scene, page):
    page.seed(scene, 0, SMALL)

    assert _get(page, scene, 2, user=page.refused).status_code == page.refused_status


def test_my_inbox_lists_only_my_notices_however_many_others_have(scene):
    seed_inbox(scene, 0, LARGE)

    response = _get(PAGES[2], scene, 1, user="stranger")

    assert response.status_code == 200
    assert list(response.context["receipts"]) == []
    assert "Showing" not in response.content.decode()


def test_the_calendar_shows_another_persons_workflow_to_nobody(scene):
    seed_calendar(scene, 0, LARGE)

    response = _get(PAGES[3], scene, 1, user="stranger")

    assert response.status_code == 200
    assert response.context["agenda"] == []


def test_the_inbox_counts_every_unread_notice_not_only_the_first_page(scene):
    seed_inbox(scene, 0, LARGE)
    NoticeReceipt.objects.filter(notice__title="Model update 0000").update(read_at=timezone.now())

    response = _get(PAGES[2], scene, 3)

    assert response.context["unread"] == LARGE - 1
    assert f"{LARGE - 1:,} unread." in response.content.decode()


def test_each_cohort_pages_its_members_on_its_own(scene):
    seed_cohort_members(scene, 0, LARGE)
    other = Cohort.objects.create(workflow=scene.workflow, name="Another")
    CohortMember.objects.bulk_create(
        CohortMember(cohort=other, user=person) for person in make_people(LARGE, LARGE)
    )
    client = as_user(scene.owner)

    response = client.get(page_url := PAGES[6].url(scene), {f"members_{scene.cohort.pk}": 3})

    cohorts = {c.name: c for c in response.context["cohorts"]}
    assert [m.user.display_name for m in cohorts["EU tier-1"].member_page] == [
        f"List {i:04}" for i in range(2 * PER_PAGE, LARGE)
    ]
    assert [m.user.display_name for m in cohorts["Another"].member_page][:2] == [
        f"List {LARGE:04}",
        f"List {LARGE + 1:04}",
    ]
    html = response.content.decode()
    # The other cohort's links keep this cohort's page, and land on the cohort's section.
    assert f'href="?members_{scene.cohort.pk}=3&amp;members_{other.pk}=2#cohort-{other.pk}"' in html
    assert client.get(page_url).status_code == 200

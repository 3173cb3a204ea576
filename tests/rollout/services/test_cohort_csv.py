import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import ActivityEntry, CohortMember
from rollout.services import cohort_csv as csvsvc
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.factories import UserFactory


@pytest.fixture
def cohort(workflow, ops_leader):
    return cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)


def _file(content: bytes | str, name: str = "people.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_preview_fates_and_writes_nothing(cohort, ops_leader):
    known = UserFactory(email="ann@example.com")
    already = UserFactory(email="bob@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    cohort_members_add(cohort=cohort, users=[already], actor=ops_leader)
    counts = (User.objects.count(), CohortMember.objects.count(), ActivityEntry.objects.count())
    content = "\ufeffname,Email\nAnn,ANN@example.com\nBob,bob@example.com\nNew,new@example.com\n"
    content += "Bad,not-an-email\nAnn again,ann@example.com\nGone,gone@example.com\n"
    rows = csvsvc.cohort_csv_preview(cohort=cohort, uploaded_file=_file(content))
    assert [(r.line, r.raw, r.email, r.fate) for r in rows] == [
        (2, "ANN@example.com", "ann@example.com", "added"),
        (3, "bob@example.com", "bob@example.com", "member"),
        (4, "new@example.com", "new@example.com", "unknown"),
        (5, "not-an-email", "", "malformed"),
        (6, "ann@example.com", "ann@example.com", "duplicate"),
        (7, "gone@example.com", "gone@example.com", "deactivated"),
    ]
    assert known.pk
    assert (
        User.objects.count(),
        CohortMember.objects.count(),
        ActivityEntry.objects.count(),
    ) == counts


def test_preview_one_address_per_line_without_header(cohort):
    rows = csvsvc.cohort_csv_preview(cohort=cohort, uploaded_file=_file("a@example.com\n\nb@x.org"))
    assert [(r.line, r.fate) for r in rows] == [(1, "unknown"), (3, "unknown")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", csvsvc.MSG_EMPTY),
        (b"  \n\n", csvsvc.MSG_EMPTY),
        (b"email\n", csvsvc.MSG_EMPTY),
        (b"\x89PNG\r\n\x1a\n\x00\x00", csvsvc.MSG_BINARY),
        ("café@example.com".encode("latin-1"), csvsvc.MSG_NOT_UTF8),
        (b"a" * (csvsvc.MAX_BYTES + 1), csvsvc.MSG_TOO_BIG),
        (("x@example.com\n" * (csvsvc.MAX_ROWS + 1)).encode(), csvsvc.MSG_TOO_MANY_ROWS),
        (b"name,mail\nAnn,ann@example.com\n", csvsvc.MSG_NO_EMAIL_COLUMN),
    ],
    ids=["empty", "blank", "header-only", "binary", "latin1", "too-big", "too-many", "no-column"],
)
def test_broken_files_refused_and_nothing_written(cohort, content, message):
    counts = (User.objects.count(), CohortMember.objects.count(), ActivityEntry.objects.count())
    with pytest.raises(ApplicationError) as exc:
        csvsvc.cohort_csv_preview(cohort=cohort, uploaded_file=_file(content))
    assert exc.value.message == message
    assert exc.value.field == "file"
    assert (
        User.objects.count(),
        CohortMember.objects.count(),
        ActivityEntry.objects.count(),
    ) == counts


def test_confirm_without_invite_adds_known_only(
    cohort, ops_leader, django_capture_on_commit_callbacks
):
    ann = UserFactory(email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        outcome = csvsvc.cohort_csv_confirm(
            cohort=cohort,
            emails=["ann@example.com", "new@example.com"],
            invite_unknown=False,
            actor=ops_leader,
            base_url="http://testserver/",
        )
    assert (outcome.added, outcome.invited, outcome.skipped) == ([ann], [], 1)
    assert not User.objects.filter(email="new@example.com").exists()
    assert mail.outbox == []


def test_confirm_rechecks_fates(cohort, ops_leader):
    ann = UserFactory(email="ann@example.com")
    cohort_members_add(cohort=cohort, users=[ann], actor=ops_leader)
    outcome = csvsvc.cohort_csv_confirm(
        cohort=cohort,
        emails=["ann@example.com"],
        invite_unknown=True,
        actor=ops_leader,
        base_url="http://testserver/",
    )
    assert (outcome.added, outcome.invited, outcome.skipped) == ([], [], 1)


def test_confirm_with_invite_sends_mail(cohort, ops_leader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = csvsvc.cohort_csv_confirm(
            cohort=cohort,
            emails=["jane.doe@example.com"],
            invite_unknown=True,
            actor=ops_leader,
            base_url="http://testserver/",
        )
    jane = User.objects.get(email="jane.doe@example.com")
    assert jane.display_name == "Jane Doe"
    assert outcome.invited == [jane] and outcome.added == [jane]
    assert CohortMember.objects.filter(cohort=cohort, user=jane).exists()
    assert [m.to for m in mail.outbox] == [["jane.doe@example.com"]]


def test_emails_add_gives_each_entry_its_fate_and_adds(cohort, ops_leader):
    ann = UserFactory(email="ann@example.com")
    bob = UserFactory(email="bob@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    cohort_members_add(cohort=cohort, users=[bob], actor=ops_leader)
    users = User.objects.count()
    rows = csvsvc.cohort_emails_add(
        cohort=cohort,
        emails=[
            " ANN@example.com",
            "bob@example.com",
            "new@example.com",
            "nope",
            "",
            "ann@example.com",
            "gone@example.com",
        ],
        actor=ops_leader,
    )
    assert [(r.line, r.raw, r.email, r.fate) for r in rows] == [
        (1, "ANN@example.com", "ann@example.com", "added"),
        (2, "bob@example.com", "bob@example.com", "member"),
        (3, "new@example.com", "new@example.com", "unknown"),
        (4, "nope", "", "malformed"),
        (5, "", "", "malformed"),
        (6, "ann@example.com", "ann@example.com", "duplicate"),
        (7, "gone@example.com", "gone@example.com", "deactivated"),
    ]
    assert set(cohort.members.all()) == {ann, bob}
    assert User.objects.count() == users  # nobody invited


def test_emails_add_of_nobody_new_writes_nothing(cohort, ops_leader):
    before = ActivityEntry.objects.count()
    rows = csvsvc.cohort_emails_add(cohort=cohort, emails=["x@example.com"], actor=ops_leader)
    assert [r.fate for r in rows] == ["unknown"]
    assert ActivityEntry.objects.count() == before


def test_emails_remove_gives_each_entry_its_fate_and_removes(cohort, ops_leader):
    ann = UserFactory(email="ann@example.com")
    gone = UserFactory(email="gone@example.com")
    stays = UserFactory(email="stays@example.com")
    UserFactory(email="outsider@example.com")
    cohort_members_add(cohort=cohort, users=[ann, gone, stays], actor=ops_leader)
    gone.is_active = False
    gone.save()
    rows = csvsvc.cohort_emails_remove(
        cohort=cohort,
        emails=[
            "Ann@Example.com",
            "outsider@example.com",
            "who@example.com",
            "bad@",
            "ann@example.com",
            "gone@example.com",
        ],
        actor=ops_leader,
    )
    assert [(r.line, r.email, r.fate, r.fate_label) for r in rows] == [
        (1, "ann@example.com", "removed", "removed"),
        (2, "outsider@example.com", "not_member", "not a member"),
        (3, "who@example.com", "unknown", "unknown email"),
        (4, "", "malformed", "malformed"),
        (5, "ann@example.com", "duplicate", "duplicate in file"),
        (6, "gone@example.com", "removed", "removed"),
    ]
    assert list(cohort.members.all()) == [stays]
    entry = ActivityEntry.objects.latest("pk")
    assert entry.changes == {"members removed": ["ann@example.com, gone@example.com", "—"]}

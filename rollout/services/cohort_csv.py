"""Adding cohort members from a CSV of email addresses: a preview that writes nothing, then a
confirmation that re-checks every address and writes everything in one transaction.

The management API adds and removes members from a list of addresses with the same fates, row
by row (cohort_emails_add, cohort_emails_remove)."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower

from accounts.models import User
from accounts.services import user_invite
from core.errors import ApplicationError
from rollout.models import Cohort, CohortMember
from rollout.services.cohorts import cohort_members_add, cohort_members_remove

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000

MSG_EMPTY = "The file is empty."
MSG_TOO_BIG = "The file is larger than 1 MB. Split it into smaller files."
MSG_TOO_MANY_ROWS = "The file has more than 5,000 rows. Split it into smaller files."
MSG_BINARY = "This is not a text file. Upload a CSV file saved as UTF-8."
MSG_NOT_UTF8 = "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
MSG_NO_EMAIL_COLUMN = (
    "The file has several columns but none is named “email”. Name the column of addresses "
    "“email”, or upload one address per line."
)
MSG_NOT_CSV = "The file could not be read as CSV: {error}."

# "removed" and "not_member" are the fates of a removal (cohort_emails_remove).
Fate = Literal[
    "added", "member", "unknown", "deactivated", "malformed", "duplicate", "removed", "not_member"
]
FATE_LABELS: dict[str, str] = {
    "added": "will be added",
    "member": "already a member",
    "unknown": "unknown email",
    "deactivated": "deactivated account",
    "malformed": "malformed",
    "duplicate": "duplicate in file",
    "removed": "removed",
    "not_member": "not a member",
}


@dataclass(frozen=True)
class Row:
    line: int
    raw: str
    email: str
    fate: Fate

    @property
    def fate_label(self) -> str:
        return FATE_LABELS[self.fate]


def _read_text(uploaded_file: UploadedFile) -> str:
    if uploaded_file.size is not None and uploaded_file.size > MAX_BYTES:
        raise ApplicationError(MSG_TOO_BIG, field="file")
    data = uploaded_file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ApplicationError(MSG_TOO_BIG, field="file")
    if b"\x00" in data:
        raise ApplicationError(MSG_BINARY, field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError(MSG_NOT_UTF8, field="file") from None
    if not text.strip():
        raise ApplicationError(MSG_EMPTY, field="file")
    return text


def _parse(text: str) -> list[tuple[int, str]]:
    """`(line number, cell)` for each data row: the "email" column, or the only column."""
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ApplicationError(MSG_NOT_CSV.format(error=exc), field="file") from None
    numbered = [(n, rec) for n, rec in enumerate(records, start=1) if any(c.strip() for c in rec)]
    if len(numbered) > MAX_ROWS + 1:  # + 1: the header, if there is one
        raise ApplicationError(MSG_TOO_MANY_ROWS, field="file")
    if not numbered:
        raise ApplicationError(MSG_EMPTY, field="file")
    header = [c.strip().lower() for c in numbered[0][1]]
    if "email" in header:
        column, numbered = header.index("email"), numbered[1:]
    elif len(header) == 1 or all(len([c for c in r if c.strip()]) <= 1 for _, r in numbered):
        column = None
    else:
        raise ApplicationError(MSG_NO_EMAIL_COLUMN, field="file")
    if len(numbered) > MAX_ROWS:
        raise ApplicationError(MSG_TOO_MANY_ROWS, field="file")
    if not numbered:
        raise ApplicationError(MSG_EMPTY, field="file")
    cells = []
    for line, record in numbered:
        if column is None:
            cell = next((c for c in record if c.strip()), "")
        else:
            cell = record[column] if column < len(record) else ""
        cells.append((line, cell.strip()))
    return cells


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _resolve(cohort: Cohort, entries: list[tuple[int, str]]) -> tuple[list[Row], dict[str, User]]:
    """Each entry's fate, and the users found, by lowercased email. Two queries."""
    wanted = {raw.lower() for _, raw in entries if _is_email(raw)}
    found = User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=wanted)
    users = {u.email.lower(): u for u in found}
    members = set(
        CohortMember.objects.filter(cohort=cohort, user__in=users.values()).values_list(
            "user__email", flat=True
        )
    )
    members = {m.lower() for m in members}
    seen: set[str] = set()
    rows = []
    for line, raw in entries:
        email = raw.lower()
        if not _is_email(raw):
            fate = "malformed"
        elif email in seen:
            fate = "duplicate"
        elif email in members:
            fate = "member"
        elif email not in users:
            fate = "unknown"
        elif not users[email].is_active:
            fate = "deactivated"
        else:
            fate = "added"
        seen.add(email)
        rows.append(Row(line=line, raw=raw, email=email if fate != "malformed" else "", fate=fate))
    return rows, users


def cohort_csv_preview(*, cohort: Cohort, uploaded_file: UploadedFile) -> list[Row]:
    """What confirming this file would do, row by row. Writes nothing. Raises ApplicationError
    (field "file") for a file that cannot be read as a list of addresses."""
    rows, _ = _resolve(cohort, _parse(_read_text(uploaded_file)))
    return rows


@dataclass(frozen=True)
class CsvOutcome:
    added: list[User]
    invited: list[User]
    skipped: int


def _name_from_email(email: str) -> str:
    local = email.split("@", 1)[0]
    words = local.replace(".", " ").replace("_", " ").replace("-", " ").split()
    return " ".join(w.capitalize() for w in words) or local


@transaction.atomic
def cohort_csv_confirm(
    *, cohort: Cohort, emails: list[str], invite_unknown: bool, actor: User, base_url: str
) -> CsvOutcome:
    """Add the people behind `emails` (as previewed). Fates are worked out again: someone may have
    joined or been invited since the preview. Unknown addresses are invited first when asked."""
    entries = [(n, e.strip()) for n, e in enumerate(emails[:MAX_ROWS], start=1) if e.strip()]
    rows, users = _resolve(cohort, entries)
    to_add = [users[r.email] for r in rows if r.fate == "added"]
    invited = []
    if invite_unknown:
        for row in rows:
            if row.fate == "unknown":
                invited.append(
                    user_invite(
                        actor=actor,
                        email=row.email,
                        display_name=_name_from_email(row.email),
                        base_url=base_url,
                    )
                )
    added = cohort_members_add(cohort=cohort, users=to_add + invited, actor=actor)
    return CsvOutcome(added=added, invited=invited, skipped=len(rows) - len(added))


def _numbered(emails: Sequence[str]) -> list[tuple[int, str]]:
    """(position from 1, address stripped) for every entry, blank ones too (malformed)."""
    return [(n, email.strip()) for n, email in enumerate(emails, start=1)]


@transaction.atomic
def cohort_emails_add(*, cohort: Cohort, emails: Sequence[str], actor: User) -> list[Row]:
    """Add the people behind a list of addresses; each entry's fate, in order, as the CSV import
    names them ("added" now means added). Worked out and written in one transaction. Unknown
    addresses are not invited: inviting creates an account, which only a person does from the
    cohorts page."""
    rows, users = _resolve(cohort, _numbered(emails))
    cohort_members_add(
        cohort=cohort, users=[users[r.email] for r in rows if r.fate == "added"], actor=actor
    )
    return rows


@transaction.atomic
def cohort_emails_remove(*, cohort: Cohort, emails: Sequence[str], actor: User) -> list[Row]:
    """Remove the people behind a list of addresses; each entry's fate, in order: removed, not a
    member, unknown email, malformed or duplicate. A deactivated member is removed like any
    other. One activity entry for the batch (cohort_members_remove)."""
    entries = _numbered(emails)
    wanted = {raw.lower() for _, raw in entries if _is_email(raw)}
    found = User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=wanted)
    users = {u.email.lower(): u for u in found}
    member_ids = set(
        CohortMember.objects.filter(cohort=cohort, user__in=users.values()).values_list(
            "user_id", flat=True
        )
    )
    seen: set[str] = set()
    rows = []
    for line, raw in entries:
        email = raw.lower()
        fate: Fate
        if not _is_email(raw):
            fate = "malformed"
        elif email in seen:
            fate = "duplicate"
        elif email not in users:
            fate = "unknown"
        elif users[email].pk not in member_ids:
            fate = "not_member"
        else:
            fate = "removed"
        seen.add(email)
        rows.append(Row(line=line, raw=raw, email=email if fate != "malformed" else "", fate=fate))
    cohort_members_remove(
        cohort=cohort, users=[users[r.email] for r in rows if r.fate == "removed"], actor=actor
    )
    return rows

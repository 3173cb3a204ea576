"""Writing CSV that people open in a spreadsheet: the one guard against formula injection, and the
echo "file" that lets csv.writer feed a streamed response row by row."""

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it text again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """The value as a spreadsheet must show it: text that would start a formula gets a leading
    apostrophe; numbers and everything else pass unchanged (a negative number is not a formula)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return f"'{value}"
    return value


def csv_row(values: list[object]) -> list[object]:
    """Every cell of a row guarded (csv_cell)."""
    return [csv_cell(value) for value in values]


class Echo:
    """A file-like object whose write returns the line, for csv.writer in a streamed response."""

    def write(self, value: str) -> str:
        return value

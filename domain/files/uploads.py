"""What every uploaded file shares: opening it as a table, finding its ID column, and the
shape of a row's error. Subsidy lists, payment files and enrolment history use these.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from domain.files.sheets import Row, SheetError, Table, map_headers, read_table, require
from tenants.problems import ErrorCode, Params, Problem, Rejected

# Row errors in a mutation's payload; the counts are always exact, and the row report
# (domain/row_reports) lists the rest.
ROW_ERROR_LIMIT = 1000


@dataclass(frozen=True)
class RowProblem:
    """A rejected row of a file: its number as Excel shows it, the file's own header of
    the column at fault, and why (worded by the catalogue like any `Problem`)."""

    row: int
    column: str | None
    code: ErrorCode
    params: Params = dataclasses.field(default_factory=dict)
    variant: str | None = None

    @property
    def message_id(self) -> str:
        return f"{self.code}.{self.variant}" if self.variant else str(self.code)


def unreadable(error: SheetError, file_name: str) -> Rejected:
    return Rejected([Problem(ErrorCode.UNREADABLE_FILE, ["file"], {"fileName": file_name, **error.params}, error.reason)])


def found_headers(table: Table) -> list[str]:
    return [h for h in table.headers if h]


def _readable(rows: Iterator[Row], file_name: str) -> Iterator[Row]:
    """The rows, where a file that breaks off while being read (a malformed CSV line, a
    damaged sheet, a cell too long) refuses the whole upload: nothing is written."""
    try:
        yield from rows
    except SheetError as error:
        raise unreadable(error, file_name) from None


def open_upload(data: bytes, file_name: str, aliases: dict[str, list[str]]) -> tuple[Table, dict[str, int]]:
    """The file as a table with its columns mapped; refused whole (one userError) when
    it is not a spreadsheet or has no ID number column."""
    try:
        table = read_table(data, file_name)
    except SheetError as error:
        raise unreadable(error, file_name) from None
    table = Table(table.headers, _readable(table.rows, file_name), table.header_row)
    mapping = map_headers(table.headers, aliases)
    if require(mapping, ["id_number"]):
        raise Rejected(
            [Problem(ErrorCode.NO_ID_COLUMN, ["file"], {"fileName": file_name, "found": found_headers(table)})]
        )
    return table, mapping

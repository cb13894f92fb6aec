"""What every uploaded file shares: opening it as a table, finding its ID column, and the
shape of a row's error. Subsidy lists, payment files and enrolment history use these.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from domain.files.sheets import Row, SheetError, Table, map_headers, read_table, require
from tenants.problems import Problem, Rejected


@dataclass(frozen=True)
class RowProblem:
    row: int  # as Excel shows it
    column: str | None  # the file's own header
    code: str
    message: str


def found_headers(table: Table) -> str:
    return ", ".join(h for h in table.headers if h) or "none"


def _readable(rows: Iterator[Row], file_name: str) -> Iterator[Row]:
    """The rows, where a file that breaks off while being read (a malformed CSV line, a
    damaged sheet, a cell too long) refuses the whole upload: nothing is written."""
    try:
        yield from rows
    except SheetError as error:
        raise Rejected([Problem("UNREADABLE_FILE", f"{file_name}: {error.message}", ["file"])]) from None


def open_upload(data: bytes, file_name: str, aliases: dict[str, list[str]]) -> tuple[Table, dict[str, int]]:
    """The file as a table with its columns mapped; refused whole (one userError) when
    it is not a spreadsheet or has no ID number column."""
    try:
        table = read_table(data, file_name)
    except SheetError as error:
        raise Rejected([Problem("UNREADABLE_FILE", f"{file_name}: {error.message}", ["file"])]) from None
    table = Table(table.headers, _readable(table.rows, file_name), table.header_row)
    mapping = map_headers(table.headers, aliases)
    if require(mapping, ["id_number"]):
        raise Rejected(
            [Problem(
                "NO_ID_COLUMN",
                f"{file_name}: no ID number column (证件号码 or 身份证号); headers found: {found_headers(table)}",
                ["file"],
            )]
        )
    return table, mapping

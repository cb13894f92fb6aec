"""What a row report holds and what a reader may see of it (no I/O)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from domain.files.uploads import RowProblem
from domain.persons.idnumber import mask

# The rejected rows kept per upload; the counts stay exact beyond it. A file with more
# bad rows than this is the wrong file as a whole: its report is for the first ones.
REPORT_ROW_LIMIT = 100_000


class RowReportKind(StrEnum):
    """The batch a report belongs to: its rights are the batch's."""

    SUBSIDY_LIST = "SUBSIDY_LIST"
    PAYMENT_IMPORT = "PAYMENT_IMPORT"
    HISTORY_IMPORT = "HISTORY_IMPORT"
    ROSTER = "ROSTER"


@dataclass(frozen=True)
class ReportFile:
    """The file as uploaded: its headers, and which columns the upload understood."""

    file_name: str
    headers: list[str]
    id_column: int
    known_columns: list[int]


@dataclass(frozen=True)
class ReportRow:
    row: int
    cells: list[str]
    problem: RowProblem
    messages: dict[str, str] = field(default_factory=dict)  # locale → the problem worded when found


@dataclass(frozen=True)
class ShownReport:
    headers: list[str]
    rows: list[tuple[int, list[str], ReportRow]]


def shown_report(file: ReportFile, rows: Iterable[ReportRow], whole: bool) -> ShownReport:
    """The report as its reader may see it. A reader of masked ID numbers gets only the
    columns the upload understood (an extra column may hold a birth date, which with a
    masked number rebuilds it) and the ID number masked; the original row number tells
    them which row of their own file to fix."""
    columns = list(range(len(file.headers))) if whole else sorted(set(file.known_columns))
    headers = [file.headers[i] for i in columns]
    return ShownReport(headers, [(r.row, list(_shown_cells(r.cells, columns, file.id_column, whole)), r) for r in rows])


def _shown_cells(cells: list[str], columns: list[int], id_column: int, whole: bool) -> Iterator[str]:
    for index in columns:
        cell = cells[index] if index < len(cells) else ""
        yield cell if whole or index != id_column else masked_cell(cell)


def masked_cell(cell: str) -> str:
    """An ID number cell as a masked reader sees it, valid number or not."""
    return mask(cell.strip())

"""Cells of the workbooks we write: every string is a text cell, never a formula.

openpyxl makes a cell a formula when its string starts with "="; Excel and WPS also
run cells that start with + - @ once they are edited, and a name like
`=HYPERLINK("http://…","点此领取补贴")` on a posting printed for a village would be a live
link (OWASP: CSV/formula injection). So a string is always written as an inline string
(data type "s"), whatever its first character, and characters a workbook cannot hold
(control characters of legacy data) become U+FFFD instead of failing the download.
Numbers stay numbers.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

REPLACEMENT = "\ufffd"


def printable(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, value)


def text_cell(ws: Any, value: str, font: Font | None = None) -> WriteOnlyCell:
    """A write-only sheet's cell holding `value` as text."""
    cell = WriteOnlyCell(ws, value=printable(value))
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def row_of(ws: Any, values: Iterable[Any]) -> list[Any]:
    """A row for a write-only sheet's `append`: strings as text cells, the rest as is."""
    return [text_cell(ws, v) if isinstance(v, str) else v for v in values]


def set_text(cell: Cell, value: str) -> None:
    """A normal sheet's cell set to `value` as text."""
    cell.value = printable(value)
    cell.data_type = "s"


def append_text(sheet: Worksheet, values: Iterable[str]) -> None:
    """Append a row of text cells to a normal sheet."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        set_text(sheet.cell(row=row, column=column), value)

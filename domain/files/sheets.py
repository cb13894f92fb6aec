"""Reading uploaded lists: subsidy lists from departments, payment files from the tax bureau.

Departments hand in whatever Excel gives them: .xlsx workbooks, or CSV that Excel in
China saves as GBK. `read_table` turns either into text cells with the row numbers a
person sees in Excel, so every row error can point at "row 17"; `map_headers` finds the
columns by their Chinese or English names.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from python_calamine import CalamineWorkbook

Row = tuple[int, list[str]]  # (row number as Excel shows it, trimmed cells)


SUPPORTED = (".xlsx", ".csv")


_ZIP_MAGIC = b"PK\x03\x04"


_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls (and .doc) files


_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.DOTALL)  # ="0123": Excel's way to force text in CSV


# What a cell is trimmed of: every character str.strip() takes by default (full-width
# spaces U+3000, NBSP, …; none lies above U+3000) and the zero-width ones it does not
# (U+200B, the BOM).
_BLANKS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\ufeff"


SUBSIDY_LIST_ALIASES: dict[str, list[str]] = {
    "name": ["姓名", "name"],
    "id_number": ["证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号", "id number", "idnumber", "id_number"],
    "unit": ["村/社区", "村（社区）", "村(社区)", "村", "社区", "所在村", "village", "unit"],
    "recognized_on": ["认定日期", "认定时间", "recognized on", "recognised on", "recognized_on", "date"],
    "note": ["备注", "note", "remark"],
}


PAYMENT_FILE_ALIASES: dict[str, list[str]] = {
    "id_number": ["证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号", "id number", "idnumber", "id_number"],
    "name": ["姓名", "缴费人姓名", "name"],
    "amount": ["金额", "缴费金额", "实缴金额", "amount"],
    "channel": ["渠道", "缴费渠道", "缴费方式", "channel"],
    "paid_at": ["缴费时间", "缴费日期", "paid at", "paid_at", "paidat"],
    "external_id": ["流水号", "交易流水号", "缴费流水号", "external id", "external_id", "externalid"],
    "receipt_no": ["收据号", "票据号", "票据号码", "receipt no", "receipt_no", "receiptno"],
}


ENROLLMENT_HISTORY_ALIASES: dict[str, list[str]] = {
    "id_number": ["证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号", "id number", "idnumber", "id_number"],
    "name": ["姓名", "name"],
    "year": ["年度", "参保年度", "年份", "缴费年度", "year"],
    "enrolled": ["参保状态", "是否参保", "状态", "enrolled", "status", "enrollment status"],
}


# No cell of a list or a channel file is longer (a note is a sentence); a longer one is a
# broken or hostile file, refused before it reaches the database.
MAX_CELL = 1_000


class SheetError(ValueError):
    """The upload cannot be read as a table at all; `reason` says why (the catalogue's
    `UNREADABLE_FILE.<reason>`), `params` the values that wording names."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


@dataclass
class Table:
    headers: list[str]
    # Data rows after the header, read lazily: iterate once. Completely empty rows are
    # skipped; a row is padded with "" to the header's width.
    rows: Iterator[Row]
    header_row: int = 1


def read_table(data: bytes, filename: str) -> Table:
    """The first sheet of an .xlsx file, or a CSV file (UTF-8 with or without BOM, or GB18030)."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in SUPPORTED:
        raise SheetError("OLD_EXCEL" if suffix == ".xls" else "FILE_TYPE", suffix=suffix or "-")
    if not data:
        raise SheetError("NO_CONTENT")
    if suffix == ".xlsx":
        return _with_header(_xlsx_rows(data))
    return _with_header(_csv_rows(data))


def _with_header(rows: Iterator[Row]) -> Table:
    """Take the first non-empty row as the header; the rest stay lazy."""
    for number, cells in rows:
        if any(cells):
            headers = _drop_trailing_empty(cells)
            return Table(headers=headers, rows=_data_rows(rows, len(headers)), header_row=number)
    raise SheetError("NO_HEADER")


def _data_rows(rows: Iterator[Row], width: int) -> Iterator[Row]:
    for number, cells in rows:
        if any(cells):
            if max(map(len, cells)) > MAX_CELL:
                raise SheetError("CELL_TOO_LONG", row=number, limit=MAX_CELL)
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            yield number, cells


def _drop_trailing_empty(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def _xlsx_rows(data: bytes) -> Iterator[Row]:
    # Opened here, not in the generator, so a corrupt file fails read_table itself.
    workbook = _open_workbook(data)
    return _xlsx_cells(workbook)


def _open_workbook(data: bytes) -> Any:
    if data.startswith(_OLE_MAGIC):
        raise SheetError("XLS_AS_XLSX")
    if not data.startswith(_ZIP_MAGIC):
        raise SheetError("NOT_XLSX")
    try:
        # calamine (Rust) reads a 100,000-row sheet in a fraction of a second.
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - calamine raises one error type for every broken part
        raise SheetError("NOT_XLSX") from None


def _xlsx_cells(workbook: Any) -> Iterator[Row]:
    try:
        if not workbook.sheet_names:
            return
        sheet = workbook.get_sheet_by_index(0)
        # calamine yields rows from row 1 (leading blank rows included), so the count
        # is the row number Excel shows.
        for number, values in enumerate(sheet.iter_rows(), start=1):
            # Most cells are text: trimmed inline, the rest converted (a 100,000-row list
            # has half a million cells).
            yield number, [v.strip(_BLANKS) if type(v) is str else _cell_text(v) for v in values]
    except SheetError:
        raise
    except Exception:  # noqa: BLE001 - a broken sheet part shows up only while reading
        raise SheetError("DAMAGED") from None


def _cell_text(value: Any) -> str:
    """A cell as the text a person would type: no "1.0", no "4.11E+17", ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, datetime):
        # Date-formatted cells come back as datetimes; a midnight one is a plain date.
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return _trim(str(value))


def _number_text(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer():
        # An ID number typed as a number arrives as a float (Excel keeps 15 significant
        # digits): write all its digits so the checksum check rejects it clearly,
        # instead of "4.11325199001011e+17".
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _csv_rows(data: bytes) -> Iterator[Row]:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    # ="0123" cells are looked for only in a file that has one (a 100,000-row file has
    # 600,000 cells).
    return _csv_records(reader, excel_text='="' in text)


def _decode(data: bytes) -> str:
    if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC):
        raise SheetError("XLSX_AS_CSV")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        # UTF-16 ("Unicode text") or binary: not something we can read as CSV.
        raise SheetError("NOT_CSV")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Excel in China saves "CSV (逗号分隔)" as GBK; GB18030 is its superset.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise SheetError("ENCODING") from None


def _csv_records(reader: Iterable[list[str]], excel_text: bool) -> Iterator[Row]:
    number = 0
    try:
        # Row numbers count records, as Excel shows the file, not physical lines.
        for number, record in enumerate(reader, start=1):
            if excel_text:
                yield number, [_csv_cell(cell) for cell in record]
            else:
                yield number, [cell.strip(_BLANKS) for cell in record]
    except csv.Error as error:
        if "field limit" in str(error):
            raise SheetError("CELL_TOO_LONG", row=number + 1, limit=MAX_CELL) from None
        raise SheetError("MALFORMED_CSV", row=number + 1) from None


def _csv_cell(cell: str) -> str:
    text = cell.strip(_BLANKS)
    if text.startswith("="):
        match = _EXCEL_TEXT.match(text)
        if match:
            return match.group(1).strip(_BLANKS)
    return text


def _trim(text: str) -> str:
    return text.strip(_BLANKS)


def normalize_header(text: str) -> str:
    """Compare headers loosely: NFKC (full-width → ASCII), no blanks, no case, no "*"/":" marks."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = re.sub(r"\s+", "", folded)
    return folded.strip("*:")


def map_headers(headers: list[str], aliases: dict[str, list[str]]) -> dict[str, int]:
    """Canonical field → column index, for each field whose alias names a column.

    Matching is exact after `normalize_header`; when two columns match one field the
    first (leftmost) wins.
    """
    by_name: dict[str, str] = {}
    for field, names in aliases.items():
        for name in names:
            by_name.setdefault(normalize_header(name), field)
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        field = by_name.get(normalize_header(header))
        if field is not None and field not in mapping:
            mapping[field] = index
    return mapping


def require(mapping: dict[str, int], fields: Iterable[str]) -> list[str]:
    """The required fields with no column, in the order asked."""
    return [field for field in fields if field not in mapping]

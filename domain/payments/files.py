"""Reading the cells of a channel file (缴费明细): amounts, payment times, references.

Each row becomes one staging tuple for COPY, with the first problem of its own cells
(bad ID number, amount, channel, time, 流水号) already named; what needs the database
(is the person registered, is the amount the amount due) is checked set-wise later in
domain/payments/imports.py.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from zoneinfo import ZoneInfo

from domain.files.sheets import Table
from domain.money import CENT
from domain.payments.channels import CASH, channel_of
from domain.payments.rules import CLOCK_SKEW, MAX_AMOUNT
from domain.persons.idnumber import IdNumberError, id_number_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


# The pattern recordPayment accepts for receiptNo and externalId (domain/payments/store.py).
REFERENCE = re.compile(r"^[0-9A-Za-z_./:#-]{1,64}$")


_DATE_TIME = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[T\s]+(\d{1,2})[:：时](\d{1,2})分?(?:(?:[:：]|(?<=分))(\d{1,2})(?:\.(\d{1,6})\d*)?秒?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[T\s]?(\d{2})(\d{2})(\d{2})?)?$")


_EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")


_EXCEL_EPOCH = datetime(1899, 12, 30)


_MONEY_MARKS = re.compile(r"^[¥￥]|元$|,")


# Columns of the staging table, in COPY order.
STAGE_COLUMNS = (
    "row_number", "id_number", "name", "amount", "channel", "raw_channel", "paid_at", "external_id", "receipt_no",
    "proof", "error",
)


def parse_paid_at(raw: str) -> datetime:
    """2026-11-05 10:30[:00], 2026/11/5 10:30, 2026年11月5日 10时30分, 20261105103000,
    ISO with an offset, or an Excel date serial. Without a zone: Shanghai local time.
    Raises ValueError."""
    text = raw.strip()
    if len(text) >= 10 and text[4] == "-":
        try:  # ISO 8601, the usual case: parsed in C
            found = datetime.fromisoformat(text)
            return found if found.tzinfo else found.replace(tzinfo=SHANGHAI)
        except ValueError:
            pass
    match = _DATE_TIME.match(text) or _COMPACT.match(text)
    if match:
        parts = match.groups()
        year, month, day, hour, minute, second = (int(p) if p else 0 for p in parts[:6])
        micro = int((parts[6] or "0").ljust(6, "0")) if len(parts) > 6 else 0
        zone = _zone(parts[7]) if len(parts) > 7 else SHANGHAI
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    if _EXCEL_SERIAL.match(text):
        days = float(text)
        if 20000 <= days <= 80000:  # 1954 .. 2119: a number in a date column is a date
            local = _EXCEL_EPOCH + timedelta(days=days)
            return local.replace(microsecond=0, tzinfo=SHANGHAI)
    raise ValueError(raw)


def _zone(text: str | None) -> timezone | ZoneInfo:
    if not text:
        return SHANGHAI
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


@lru_cache(maxsize=1024)
def parse_amount(raw: str) -> tuple[Decimal | None, str | None]:
    """(amount, None) or (None, error code): yuan, more than 0, at most 2 decimals.
    "¥400.00", "400", "400元", "1,200.00" are read."""
    text = _MONEY_MARKS.sub("", raw.strip()).strip()
    if not text:
        return None, "MISSING_AMOUNT"
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, "INVALID_AMOUNT"
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(CENT):
        return None, "INVALID_AMOUNT"
    return amount.quantize(CENT), None


@dataclass(frozen=True)
class FileContext:
    mapping: dict[str, int]
    now: datetime  # the business clock: a payment after it is refused
    today: date

    def fields_getter(self) -> Callable[[list[str]], tuple[str, ...]]:
        """The row's cells in `_FIELDS` order; a field the file lacks reads the blank
        cell `staged_rows` appends last."""
        return itemgetter(*(self.mapping.get(name, -1) for name in _FIELDS))


# The cells a row is read from, in this order (index None: the file has no such column).
_FIELDS = ("id_number", "name", "amount", "channel", "paid_at", "external_id", "receipt_no", "extension_proof")


def stage_row(number: int, fields: tuple[str, ...], context: FileContext) -> tuple:
    """One staging tuple (STAGE_COLUMNS) from the row's trimmed cells in `_FIELDS`
    order; `error` is the first problem of the row's own cells."""
    raw_id, name, raw_amount, raw_channel, raw_paid_at, external_id, receipt_no, proof = fields
    errors: list[str] = []
    id_number = None
    if not raw_id:
        errors.append("MISSING_ID")
    else:
        try:
            id_number = id_number_of(raw_id, context.today)
        except IdNumberError as problem:
            errors.append(problem.code)
    amount, amount_error = parse_amount(raw_amount)
    if amount_error:
        errors.append(amount_error)
    channel = channel_of(raw_channel) if raw_channel else None
    if not raw_channel:
        errors.append("MISSING_CHANNEL")
    elif channel is None:
        errors.append("UNKNOWN_CHANNEL")
    elif channel == CASH:
        errors.append("CASH_NOT_IN_FILES")
    paid_at = _paid_at(raw_paid_at, context.now, errors)
    if not external_id:
        errors.append("MISSING_EXTERNAL_ID")
    elif not REFERENCE.match(external_id):
        errors.append("INVALID_EXTERNAL_ID")
    if receipt_no and not REFERENCE.match(receipt_no):
        errors.append("INVALID_RECEIPT_NO")
    error = errors[0] if errors else None
    return (number, id_number, name, amount, channel, raw_channel[:64], paid_at, external_id or None, receipt_no or None,
            proof or None, error)


def _paid_at(raw: str, now: datetime, errors: list[str]) -> datetime | None:
    if not raw:
        errors.append("MISSING_PAID_AT")
        return None
    try:
        paid_at = parse_paid_at(raw)
    except ValueError:
        errors.append("INVALID_PAID_AT")
        return None
    if paid_at > now + CLOCK_SKEW:
        errors.append("PAID_AT_IN_FUTURE")
    return paid_at


def staged_rows(table: Table, context: FileContext) -> Iterator[tuple]:
    """Staging tuples of every data row; a blank line between data rows is EMPTY_ROW."""
    fields_of = context.fields_getter()
    previous = table.header_row
    for number, cells in table.rows:
        for gap in range(previous + 1, number):
            yield (gap, None, "", None, None, "", None, None, None, None, "EMPTY_ROW")
        previous = number
        cells.append("")  # what a missing column reads
        yield stage_row(number, fields_of(cells), context)

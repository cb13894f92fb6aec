"""Resident ID numbers (GB 11643-1999), as they occur in practice.

We check the format, the birth date and the ISO 7064 MOD 11-2 check character, and
nothing else: region codes stay valid after counties merge, and 15-character numbers
from old cards are converted to their 18-character form (DOMAIN.md "ID numbers").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from tenants.problems import ErrorCode, Problem

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


_CHECK = "10X98765432"


_EIGHTEEN = re.compile(r"^[1-9]\d{16}[\dX]$")


_FIFTEEN = re.compile(r"^[1-9]\d{14}$")


_EARLIEST_BIRTH = date(1890, 1, 1)


class IdNumberError(ValueError):
    """Why a text is not an ID number: INVALID_ID_FORMAT, INVALID_ID_DATE or INVALID_ID_CHECKSUM."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code)
        self.code = code

    def at(self, field: str) -> Problem:
        return Problem(self.code, [field])


@dataclass(frozen=True)
class IdNumber:
    value: str  # always 18 characters, upper-case X
    birth_date: date
    sex: str  # "M" or "F"


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


def _birth_date(digits: str) -> date | None:
    try:
        return date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def normalize(raw: str) -> str:
    """Trim, drop inner blanks, upper-case the x; convert a 15-character number."""
    value = re.sub(r"\s+", "", raw or "").upper()
    if _FIFTEEN.match(value):
        first17 = value[:6] + "19" + value[6:]
        return first17 + check_character(first17)
    return value


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    value = normalize(raw)
    if not _EIGHTEEN.match(value):
        raise IdNumberError(ErrorCode.INVALID_ID_FORMAT)
    born = _birth_date(value[6:14])
    if born is None:
        raise IdNumberError(ErrorCode.INVALID_ID_DATE)
    if born < _EARLIEST_BIRTH or born > (today or date.today()):
        raise IdNumberError(ErrorCode.INVALID_ID_DATE)
    expected = check_character(value[:17])
    if value[17] != expected:
        raise IdNumberError(ErrorCode.INVALID_ID_CHECKSUM)
    return IdNumber(value=value, birth_date=born, sex="M" if int(value[16]) % 2 else "F")


def mask(value: str) -> str:
    """411325********1234: region kept, birth date and sequence hidden."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def looks_like_id_number(text: str) -> bool:
    value = re.sub(r"\s+", "", text or "").upper()
    return bool(_EIGHTEEN.match(value) or _FIFTEEN.match(value))


def make_id_number(region: str, born: date, sequence: int) -> str:
    """Build a valid number (demo data, tests). sequence: 0..999, odd = male."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


@lru_cache(maxsize=65536)
def _plausible_birth(digits: str, today: date) -> bool:
    return (born := _birth_date(digits)) is not None and _EARLIEST_BIRTH <= born <= today


def id_number_of(raw: str, today: date) -> str:
    """`parse_id_number(raw, today=today).value` for files of 100,000 rows: the common
    well-formed 18-character number is checked in a few C calls, anything else goes to
    parse_id_number, which raises IdNumberError naming the problem (a test checks that
    both always agree).

    The check sum in C: the GB 11643 weights are 2^(17-i) mod 11, and 13 ≡ 2 (mod 11),
    so Σ digit × weight ≡ 2 × (the 17 digits read in base 13) (mod 11)."""
    value = raw.upper()
    if (
        len(value) == 18
        and _EIGHTEEN.match(value)
        and _CHECK[2 * int(value[:17], 13) % 11] == value[17]
        and _plausible_birth(value[6:14], today)
    ):
        return value
    return parse_id_number(raw, today=today).value

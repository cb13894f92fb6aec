"""A safe display name: the one rule for names of persons, units and subsidy categories.

Names end up in spreadsheets the project writes (unpaid lists, postings printed for a
village) and in ones others build from our data. A cell starting with = + - @ (or a tab
or carriage return before them) is run as a formula by Excel and WPS — OWASP's CSV
injection — so such names are refused at the input, and control characters, which no
real name holds and which break lines and files, are refused anywhere. The workbooks we
write also store every string as text (api/sheet_cells.py), for names stored earlier.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

FORMULA_STARTS = frozenset("=+-@\t\r")

# Line and paragraph separators break a line like \n; bidirectional controls make a
# name display as something else than it is (U+202E turns "张三gpj.exe" around).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_control(character: str) -> bool:
    return unicodedata.category(character) in _INVISIBLE_CATEGORIES or character in _BIDI_CONTROLS


@dataclass(frozen=True)
class NameFault:
    """Why a name is refused: `variant` of the caller's code (INVALID_NAME.FORMULA …)
    and the values its message names."""

    variant: str
    params: dict[str, Any]


def name_problem(name: str, max_length: int) -> NameFault | None:
    """Why `name` (already trimmed by the caller) is no safe display name, or None."""
    if not name:
        return NameFault("EMPTY", {})
    if name[0] in FORMULA_STARTS:
        return NameFault("FORMULA", {"start": repr(name[0])})
    control = next((c for c in name if _is_control(c)), None)
    if control is not None:
        return NameFault("CONTROL", {"character": f"U+{ord(control):04X}"})
    if len(name) > max_length:
        return NameFault("TOO_LONG", {"limit": max_length})
    return None

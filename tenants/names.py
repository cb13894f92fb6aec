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

FORMULA_STARTS = frozenset("=+-@\t\r")

# Line and paragraph separators break a line like \n; bidirectional controls make a
# name display as something else than it is (U+202E turns "张三gpj.exe" around).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_control(character: str) -> bool:
    return unicodedata.category(character) in _INVISIBLE_CATEGORIES or character in _BIDI_CONTROLS


def name_problem(name: str, max_length: int) -> str | None:
    """Why `name` (already trimmed by the caller) is no safe display name, or None.
    The reason reads after the word "name": "name starts with '='…"."""
    if not name:
        return "is empty"
    if name[0] in FORMULA_STARTS:
        return f"starts with {name[0]!r}, which spreadsheets read as the start of a formula"
    control = next((c for c in name if _is_control(c)), None)
    if control is not None:
        return f"contains the control character U+{ord(control):04X}"
    if len(name) > max_length:
        return f"is longer than {max_length} characters"
    return None

""""""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUOTA_FILES = Path(__file__).resolve().parents[2] / "examples" / "quotas"


class QuotaFormatError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class TableEntry:
    code: str
    name: str | None
    target: int


@dataclass(frozen=True)
class QuotaTable:
    year: int
    entries: tuple[TableEntry, ...]
    total: int | None = None  # as printed in the document: checked against the sum

    @property
    def sum(self) -> int:
        return sum(e.target for e in self.entries)


_TABLE_KEYS = {"tenant", "source", "notes", "year", "total", "quotas"}


_ENTRY_KEYS = {"unit", "name", "target"}


def quota_table_from_dict(d: Any) -> QuotaTable:
    if not isinstance(d, dict):
        raise QuotaFormatError("(file)", "expected an object")
    for key in d:
        if key not in _TABLE_KEYS:
            raise QuotaFormatError(key, "unknown key")
    year = _integer(d, "year", "")
    entries = d.get("quotas")
    if not isinstance(entries, list) or not entries:
        raise QuotaFormatError("quotas", "expected a non-empty list")
    table = QuotaTable(
        year=year,
        entries=tuple(_entry(e, f"quotas[{i}].") for i, e in enumerate(entries)),
        total=None if d.get("total") is None else _integer(d, "total", ""),
    )
    if table.total is not None and table.total != table.sum:
        raise QuotaFormatError("total", f"the quotas add up to {table.sum}, not {table.total}")
    codes = [e.code for e in table.entries]
    if len(set(codes)) != len(codes):
        raise QuotaFormatError("quotas", "a unit code appears twice")
    return table


def _entry(e: Any, prefix: str) -> TableEntry:
    if not isinstance(e, dict):
        raise QuotaFormatError(prefix.rstrip("."), "expected an object")
    for key in e:
        if key not in _ENTRY_KEYS:
            raise QuotaFormatError(f"{prefix}{key}", "unknown key")
    code = e.get("unit")
    if not isinstance(code, str) or not code.strip():
        raise QuotaFormatError(f"{prefix}unit", "expected a unit code")
    name = e.get("name")
    target = _integer(e, "target", prefix)
    if target < 0:
        raise QuotaFormatError(f"{prefix}target", "must be 0 or more")
    return TableEntry(code=code.strip(), name=name if isinstance(name, str) else None, target=target)


def _integer(d: dict, key: str, prefix: str) -> int:
    value = d.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise QuotaFormatError(f"{prefix}{key}", f"expected an integer, got {type(value).__name__}")
    return value


def read_quota_file(path: str | Path) -> QuotaTable:
    return quota_table_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

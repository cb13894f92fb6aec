"""Rules of subsidy lists (资助名单), no I/O: what a version changes, and when a new
version may replace the old one without the uploader's word.

A file whose every row is rejected (bad check characters, the name and number columns
swapped) would otherwise become a version with no members, and everyone on the list
before would lose the subsidy unnoticed. So a version that accepts no row, or removes
more than a share of the previous version's members, needs the removals confirmed.
Pure rule, no I/O: the upload passes its counts in.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum

from tenants.problems import ErrorCode, Problem


class ListChange(StrEnum):
    """What a version did to a number on the list: a number's state at any version is
    its last change up to that version."""

    ADDED = "ADDED"
    KEPT = "KEPT"  # still listed, with another name, date or note
    REMOVED = "REMOVED"


# Removing more than this share of the previous version's members needs confirmation.
DEFAULT_REMOVAL_SHARE = Decimal("0.2")


def parse_share(raw: str) -> Decimal:
    """A share from a setting: a number from 0 (every removal asks) to 1."""
    try:
        share = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"a share is a number from 0 to 1, not {raw!r}") from None
    if not Decimal(0) <= share <= Decimal(1):
        raise ValueError(f"a share is a number from 0 to 1, not {raw!r}")
    return share


def _percent(share: Decimal) -> str:
    return format((share * 100).normalize(), "f")


def removal_problem(previous_members: int, accepted: int, removed: int, share: Decimal, confirmed: bool = False) -> Problem | None:
    """Why this version may not replace the previous one, or None when it may.

    A first version (no members before) that accepts no row is refused whatever is
    confirmed: there is nothing to remove, and its row errors say what is wrong. A version
    accepting no row, or removing more than `share` of the members, needs `confirmed`.
    """
    if accepted == 0 and previous_members == 0:
        return Problem(ErrorCode.NO_ROWS_ACCEPTED, ["file"])
    # Exact: `removed > share × members`, compared in decimals (0.29 × 100 is not 28.999…).
    too_many = Decimal(removed) > share * previous_members
    if confirmed or not (accepted == 0 or too_many):
        return None
    counts = {"removed": removed, "previousMembers": previous_members}
    if accepted == 0:
        return Problem(ErrorCode.REMOVALS_NOT_CONFIRMED, ["confirmRemovals"], counts, "NO_ROW_ACCEPTED")
    return Problem(ErrorCode.REMOVALS_NOT_CONFIRMED, ["confirmRemovals"], {**counts, "share": _percent(share)})

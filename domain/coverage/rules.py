"""Which registered resident has a gap in cover for a year (no I/O).

断保 (LAPSED): enrolled the year before — here, or in the enrolment history imported from
the earlier system — and not enrolled this year. 漏保 (NEVER_ENROLLED): no enrolment on
record in any year up to this one. A person whose absence is explained (a life event: died,
joined employee insurance, moved out, enlisted; a roster finding; released to another
county for the year in a duplicate-enrolment case) is not chased.
"""
from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum


class CoverGap(StrEnum):
    LAPSED = "LAPSED"  # 断保
    NEVER_ENROLLED = "NEVER_ENROLLED"  # 漏保


def cover_gap(year: int, enrolled_years: Collection[int], explained: bool = False) -> CoverGap | None:
    """The gap of a person enrolled in `enrolled_years` (here or on record), for `year`."""
    if explained or year in enrolled_years:
        return None
    if year - 1 in enrolled_years:
        return CoverGap.LAPSED
    if not any(y <= year for y in enrolled_years):
        return CoverGap.NEVER_ENROLLED
    return None  # an older break: enrolled before, not last year (not 断保 of this year)

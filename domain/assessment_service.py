"""Running the year-end assessment on a county's figures.

The rules (domain/assessment.py) ask for enrolled counts as of some days: a day still
to come (or today) is read live from the tallies, a past day from the latest daily
snapshot on or before it. Every unit with a quota for the year is assessed against it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.assessment import AssessmentRules, Count, Result, assess
from domain.progress import Counts, all_counts, snapshot_figures
from domain.quotas import QuotaRow, quota_rows
from tenants.session import Db


@dataclass(frozen=True)
class Measurement:
    on: date | None  # the day a rule asked for; None: the final figure
    count: Count


@dataclass(frozen=True)
class UnitAssessment:
    unit: QuotaRow
    result: Result
    measurements: tuple[Measurement, ...]


async def assess_year(
    db: Db, tenant_id: int, year: int, rules: AssessmentRules, today: date, scope_path: str = "/"
) -> list[UnitAssessment]:
    units = await quota_rows(db, tenant_id, year, scope_path)
    if not units:
        return []
    live = await all_counts(db, tenant_id, year)
    ids = [u.unit_id for u in units]
    past: dict[date, dict[int, tuple[date, int, Counts]]] = {}
    for day in sorted(d for d in rules.dates() if d is not None and d < today):
        past[day] = await snapshot_figures(db, tenant_id, year, ids, day)

    def count_for(unit_id: int, day: date | None) -> Count:
        if day is None or day not in past:
            return Count(live.get(unit_id, Counts()).enrolled)
        found = past[day].get(unit_id)
        return Count(found[2].enrolled, found[0]) if found else Count(None)

    assessed = []
    for unit in units:
        days = sorted(rules.dates() | {None}, key=lambda d: (d is None, d))
        measurements = tuple(Measurement(d, count_for(unit.unit_id, d)) for d in days)
        result = assess(rules, unit.target, lambda day, uid=unit.unit_id: count_for(uid, day))
        assessed.append(UnitAssessment(unit, result, measurements))
    return assessed

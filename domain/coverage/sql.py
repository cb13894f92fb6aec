"""The gap rules of rules.py in SQL, in two shapes proven equal to them by
tests/test_coverage_sql.py. `:year` is the year asked for.

- `gap_condition`: a condition on one person row, its look-ups by primary key — a page
  of 50 reads a few hundred index entries, however large the county.
- `GAP_JOINS` + `gap_flag`: each person's years gathered once by hash joins — counts
  over a township or the county read each table once instead of probing per person.
"""
from __future__ import annotations

from domain.coverage.rules import CoverGap
from domain.enrollment.rules import ENROLLED
from domain.matching.sql import released

_ENROLLED_STATUSES = ", ".join(f"'{s.value}'" for s in ENROLLED)

# What explains an absence (life events, roster findings): each an `EXISTS (…)` on the
# person `{p}` for `:year`.
EXPLAINED: tuple[str, ...] = (
    # a life event in force (died, employee insurance, moved out, enlisted: domain/persons/events.py)
    """EXISTS (SELECT 1 FROM person_event ev
                WHERE ev.tenant_id = {p}.tenant_id AND ev.person_id = {p}.id AND ev.withdrawn_at IS NULL)""",
    # released to another county for the year by a decision (重复参保: insured there)
    released("{p}.id", tenant="{p}.tenant_id"),
)


def _enrolled_here(years: str, tail: str) -> str:
    return f"""EXISTS (SELECT 1 FROM enrollment e
                   WHERE e.tenant_id = {{p}}.tenant_id AND e.person_id = {{p}}.id AND e.year {years}
                     AND e.status IN ({_ENROLLED_STATUSES}){tail})"""


def _enrolled_on_record(years: str, tail: str) -> str:
    return f"""EXISTS (SELECT 1 FROM enrollment_history h
                   WHERE h.tenant_id = {{p}}.tenant_id AND h.id_number = {{p}}.id_number AND h.year {years}
                     AND h.enrolled{tail})"""


# Each EXISTS a correlated look-up by primary key: `OFFSET 0` keeps PostgreSQL from
# hashing a whole year's rows to answer for the 50 persons of a page.
_PROBE = " OFFSET 0"


def _enrolled(years: str) -> str:
    """Enrolled (here, or on the imported record) in a year matching `years` (`= :year`)."""
    return f"({_enrolled_here(years, _PROBE)} OR {_enrolled_on_record(years, _PROBE)})"


def _not_enrolled(years: str) -> str:
    return f"(NOT {_enrolled_here(years, _PROBE)} AND NOT {_enrolled_on_record(years, _PROBE)})"


def _not_explained() -> str:
    return " AND ".join(f"NOT {condition}" for condition in EXPLAINED) or "TRUE"


def gap_condition(gap: CoverGap, person: str = "p") -> str:
    """The person row `person` has `gap` for `:year`."""
    if gap is CoverGap.LAPSED:
        condition = f"({_not_enrolled('= :year')} AND {_enrolled('= :year - 1')} AND {_not_explained()})"
    else:
        condition = f"({_not_enrolled('<= :year')} AND {_not_explained()})"
    return condition.replace("{p}", person)


def _years_of(source: str, key: str, where: str) -> str:
    return f"""(SELECT {key}, bool_or(year = :year) AS now, bool_or(year = :year - 1) AS before
                  FROM {source} WHERE tenant_id = :tenant AND year <= :year AND {where} GROUP BY {key})"""


# Joined to `person p`: `here` (enrolments in this system) and `rec` (the imported record).
GAP_JOINS = f"""
LEFT JOIN {_years_of("enrollment", "person_id", f"status IN ({_ENROLLED_STATUSES})")} here ON here.person_id = p.id
LEFT JOIN {_years_of("enrollment_history", "id_number", "enrolled")} rec ON rec.id_number = p.id_number"""


def gap_flag(gap: CoverGap) -> str:
    """Over `GAP_JOINS`: the person `p` has `gap` for `:year`."""
    explained = _not_explained().replace("{p}", "p")
    if gap is CoverGap.LAPSED:
        return (f"(NOT coalesce(here.now, false) AND NOT coalesce(rec.now, false) "
                f"AND (coalesce(here.before, false) OR coalesce(rec.before, false)) AND {explained})")
    return f"(here.person_id IS NULL AND rec.id_number IS NULL AND {explained})"

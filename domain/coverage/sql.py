"""The gap rules of rules.py as SQL conditions on a person row (proven equal by
tests/test_coverage_sql.py). `:year` is the year asked for."""
from __future__ import annotations

from domain.coverage.rules import CoverGap
from domain.enrollment.rules import ENROLLED

_ENROLLED_STATUSES = ", ".join(f"'{s.value}'" for s in ENROLLED)

# What explains an absence (life events, roster findings): each an `EXISTS (…)` on the
# person `{p}` for `:year`.
EXPLAINED: tuple[str, ...] = (
    # a life event in force (died, employee insurance, moved out, enlisted: domain/persons/events.py)
    """EXISTS (SELECT 1 FROM person_event ev
                WHERE ev.tenant_id = {p}.tenant_id AND ev.person_id = {p}.id AND ev.withdrawn_at IS NULL)""",
)


def _enrolled(years: str) -> str:
    """Enrolled (here, or on the imported record) in a year matching `years` (`= :year`)."""
    return f"""(EXISTS (SELECT 1 FROM enrollment e
                    WHERE e.tenant_id = {{p}}.tenant_id AND e.person_id = {{p}}.id AND e.year {years}
                      AND e.status IN ({_ENROLLED_STATUSES}))
             OR EXISTS (SELECT 1 FROM enrollment_history h
                         WHERE h.tenant_id = {{p}}.tenant_id AND h.id_number = {{p}}.id_number AND h.year {years}
                           AND h.enrolled))"""


def _not_explained() -> str:
    return " AND ".join(f"NOT {condition}" for condition in EXPLAINED) or "TRUE"


def gap_condition(gap: CoverGap, person: str = "p") -> str:
    """The person row `person` has `gap` for `:year`."""
    if gap is CoverGap.LAPSED:
        condition = f"(NOT {_enrolled('= :year')} AND {_enrolled('= :year - 1')} AND {_not_explained()})"
    else:
        condition = f"(NOT {_enrolled('<= :year')} AND {_not_explained()})"
    return condition.replace("{p}", person)

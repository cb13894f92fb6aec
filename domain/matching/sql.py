"""What other nouns' statements ask of duplicate cases (重复参保), in SQL.

A person-year released by a decision — this county's `resolveDuplicate(keep: false)`, or
the other county's `keep: true` — leaves this county's scheme for the year: a year not
paid here (subsidised, or owed) is EXCUSED from then on, like a life event's; a paid
year goes back through the DUPLICATE_ENROLLMENT refund. A case the database closed
because the enrolment had ended anyway (`SYSTEM_RESOLVER`) decides nothing.

Bind parameters: `:year`, and `:tenant` unless another tenant expression is given.
"""
from __future__ import annotations

from domain.matching.rules import SYSTEM_RESOLVER, DuplicateCaseStatus


def released(person_id: str, before: str | None = None, tenant: str = ":tenant") -> str:
    """EXISTS: `person_id` of `tenant` (SQL expressions) released for `:year` by a
    decision, strictly before the timestamptz expression `before` when given."""
    moment = f" AND dc.resolved_at < {before}" if before else ""
    return f"""EXISTS (SELECT 1 FROM duplicate_case dc
                WHERE dc.tenant_id = {tenant} AND dc.year = :year AND dc.person_id = {person_id}
                  AND dc.status = '{DuplicateCaseStatus.RELEASED}'
                  AND dc.resolved_by IS DISTINCT FROM '{SYSTEM_RESOLVER}'{moment})"""

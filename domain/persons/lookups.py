"""Look-ups by whole ID number made by readers who see numbers masked: audited and capped.

A masked reader knows region, birth year and the last four characters of a person's
number: about 33 candidates. Asking whether a whole number exists (`person(idNumber:)`,
a search, a payment filter, a subsidy list's report) tells which candidate is right.
Each such look-up is written to the audit log (the number masked, the person found) and
at most `limit` are answered per user per rolling hour; further ones are recorded as
rejected and refused. The count reads the audit log itself, so there is no second
ledger to keep in step: one statement counts the caller's answered look-ups of the last
hour and appends this one, `ok` or `rejected`.
"""
from __future__ import annotations

import json

from sqlalchemy import text

from tenants.session import Db

OPERATION = "lookup:idNumber"


# Concurrent requests of one user wait for each other here (until their transaction
# ends), so two of them cannot both take the last look-up of the hour.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


# An aggregate without GROUP BY yields one row even when nothing matched. The audit
# index (tenant_id, created_at) bounds the scan to the county's last hour.
_COUNT_AND_RECORD = text(
    """
    INSERT INTO audit_log (tenant_id, actor, operation, outcome, entity, entity_id, after, correlation_id)
    SELECT :tenant, :actor, :operation,
           CASE WHEN count(*) < :limit THEN 'ok' ELSE 'rejected' END,
           :entity, :entity_id, CAST(:after AS jsonb), :correlation
      FROM audit_log
     WHERE tenant_id = :tenant AND created_at > now() - interval '1 hour'
       AND actor = :actor AND operation = :operation AND outcome = 'ok'
    RETURNING outcome
    """
)


class LookupLimitReached(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"LOOKUP_LIMIT {limit}")
        self.limit = limit


async def record_lookup(
    db: Db, tenant_id: int, actor: str, limit: int, *, via: str, masked_number: str | None,
    person_id: int | None, correlation_id: str | None,
) -> None:
    """Audit one look-up; raise LookupLimitReached (after auditing it as rejected) when
    the actor already had `limit` answered in the last hour."""
    await db.execute(_LOCK, {"key": f"id-lookup/{tenant_id}/{actor}"})
    outcome = await db.scalar(
        _COUNT_AND_RECORD,
        {
            "tenant": tenant_id, "actor": actor, "operation": OPERATION, "limit": limit,
            "entity": "person" if person_id is not None else None,
            "entity_id": None if person_id is None else str(person_id),
            "after": json.dumps(_details(via, masked_number, person_id)),
            "correlation": correlation_id,
        },
    )
    if outcome != "ok":
        raise LookupLimitReached(limit)


def _details(via: str, masked_number: str | None, person_id: int | None) -> dict:
    if masked_number is None:
        return {"via": via}  # a subsidy list: its numbers are in its own version
    return {"via": via, "idNumber": masked_number, "found": person_id is not None}

"""Running a mutation: a savepoint, userErrors as data, and one audit row either way."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generic, TypeVar

from strawberry.types import Info

from schema.context import Context
from schema.errors import UserError, user_errors
from tenants.audit import write_audit
from tenants.problems import Rejected, RejectedWithReport

T = TypeVar("T")
log = logging.getLogger("zhengjiao.mutations")


@dataclass
class Outcome(Generic[T]):
    value: T | None
    errors: list[UserError]
    # Refused with a report (`RejectedWithReport`): what the body found, none of it written.
    report: T | None = None


@dataclass
class Audit:
    entity: str | None = None
    entity_id: Any = None
    before: dict | None = None
    after: dict | None = None


async def run_mutation(
    info: Info, operation: str, body: Callable[[Audit], Awaitable[T]]
) -> Outcome[T]:
    """Run `body` in a savepoint. A `Rejected` undoes its writes (a `RejectedWithReport`
    hands its report back as `Outcome.report`); both ways are audited in the request
    transaction (a rejection of an anonymous caller only in the log)."""
    context: Context = info.context
    audit = Audit()
    try:
        async with context.db.savepoint():
            value = await body(audit)
    except Rejected as rejected:
        codes = [p.code for p in rejected.problems]
        await _audit(context, operation, "rejected", audit, {"codes": codes})
        log.info("%s rejected: %s [%s]", operation, ",".join(codes), context.correlation_id)
        report = rejected.report if isinstance(rejected, RejectedWithReport) else None
        return Outcome(None, user_errors(rejected.problems), report)
    await _audit(context, operation, "ok", audit, audit.after)
    return Outcome(value, [])


async def _audit(context: Context, operation: str, outcome: str, audit: Audit, after: dict | None) -> None:
    tenant_id = context.db.tenant_id
    principal = context.principal
    if tenant_id is None:
        return  # no county to file it under (anonymous or operator before a tenant exists)
    await write_audit(
        context.db,
        tenant_id=tenant_id,
        actor=principal.subject if principal else "anonymous",
        operation=operation,
        outcome=outcome,
        entity=audit.entity,
        entity_id=audit.entity_id,
        before=audit.before,
        after=after,
        correlation_id=context.correlation_id,
    )

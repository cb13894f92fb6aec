"""Running a mutation: a savepoint, userErrors as data, and one audit row either way."""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError
from strawberry.types import Info

from schema.context import Context
from schema.edge import mutation_field_path
from schema.errors import TIMED_OUT, UserError, timed_out, user_errors
from schema.relay import parse_global_id
from tenants import metrics
from tenants.audit import write_audit
from tenants.problems import ErrorCode, Problem, Rejected, RejectedWithReport

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


# Mutations that read a file: their rows and seconds are metrics of their own.
FILE_OPERATIONS = frozenset({"uploadSubsidyList", "importPayments", "importEnrollmentHistory", "uploadRoster"})


async def run_mutation(
    info: Info, operation: str, body: Callable[[Audit], Awaitable[T]]
) -> Outcome[T]:
    """Run `body` in a savepoint. A `Rejected` undoes its writes (a `RejectedWithReport`
    hands its report back as `Outcome.report`); both ways are audited in the request
    transaction (a rejection of an anonymous caller only in the log)."""
    started = time.perf_counter()
    outcome = await _run_mutation(info, operation, body)
    if operation in FILE_OPERATIONS:
        principal = info.context.principal
        metrics.file_done(
            operation, principal.tenant_code if principal else None, time.perf_counter() - started,
            outcome.value if outcome.value is not None else outcome.report, refused=bool(outcome.errors),
        )
    return outcome


async def _run_mutation(info: Info, operation: str, body: Callable[[Audit], Awaitable[T]]) -> Outcome[T]:
    context: Context = info.context
    audit = Audit()
    try:
        refuse_bad_arguments(context, info.path.key)
        async with context.db.savepoint(release=False):
            value = await body(audit)
    except Rejected as rejected:
        problems, report = rejected.problems, rejected.report if isinstance(rejected, RejectedWithReport) else None
    except DBAPIError as error:
        if not timed_out(error):
            raise
        problems, report = [TIMED_OUT], None
    else:
        await _audit(context, operation, "ok", audit, audit.after)
        return Outcome(value, [])
    codes = [p.code for p in problems]
    await _audit(context, operation, "rejected", audit, {"codes": codes})
    log.info("%s rejected: %s [%s]", operation, ",".join(codes), context.correlation_id)
    return Outcome(None, user_errors(problems, operation), report)


async def object_in_scope(
    context: Context, global_id: str | None, type_name: str, load: Callable[[int, int], Awaitable[T | None]],
    right: tuple[str, str], field: str, what: str,
) -> T:
    """The object a mutation names by global ID, if the caller may act on it.

    A caller whose role may not do `right` at all is FORBIDDEN. An ID that is malformed,
    of another type, of another county or outside the caller's scope is NOT_FOUND of
    `field`, one answer for all, so nothing is learnt about objects one may not see.
    `load(tenant_id, pk)` reads the object inside the caller's scope (or None)."""
    principal = context.mutation_caller()
    pk = parse_global_id(global_id, type_name) if global_id else None
    found = await load(principal.tenant_id, pk) if pk is not None and principal.tenant_id is not None else None
    if found is None:
        await context.require(*right)
        raise Rejected([Problem(ErrorCode.NOT_FOUND, [field], variant=what.upper())])
    return found


def refuse_bad_arguments(context: Context, root: str | int) -> None:
    """The problems the edge found in this mutation's arguments (schema/edge.py)."""
    found = context.edge_problems.of(str(root)) if context.edge_problems else []
    if found:
        raise Rejected([replace(p, field=mutation_field_path(p.field)) for p in found])


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

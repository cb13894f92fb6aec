"""Look-ups by whole ID number from readers who see numbers masked: audited, capped per
user and hour (`ZHENGJIAO_MASKED_LOOKUPS_PER_HOUR`), refused with LOOKUP_LIMIT beyond.
Readers who see numbers whole already know them: nothing to count."""
from __future__ import annotations

from strawberry.types import Info

from authz.principal import Principal
from domain.persons import lookups as persons_lookups
from domain.persons.idnumber import mask, normalize
from schema.errors import PublicError
from tenants.problems import ErrorCode, Problem, Rejected


async def _record(info: Info, principal: Principal, via: str, number: str | None, person_id: int | None) -> None:
    context = info.context
    await persons_lookups.record_lookup(
        context.db, principal.tenant_id, principal.subject, context.services.masked_lookups_per_hour,
        via=via, masked_number=mask(normalize(number)) if number is not None else None, person_id=person_id,
        correlation_id=context.correlation_id,
    )


async def answer_lookup(info: Info, principal: Principal, via: str, number: str, person_id: int | None) -> None:
    """For a query: call before answering; PublicError LOOKUP_LIMIT when over the cap."""
    if principal.sees_whole_id_numbers:
        return
    try:
        await _record(info, principal, via, number, person_id)
    except persons_lookups.LookupLimitReached as error:
        raise PublicError(ErrorCode.LOOKUP_LIMIT, {"limit": error.limit}) from None


async def take_upload_lookup(info: Info, principal: Principal, via: str) -> None:
    """For a mutation whose report tells which of the file's numbers are registered (a
    subsidy list): one look-up per file, undone with the mutation if it is rejected."""
    if principal.sees_whole_id_numbers:
        return
    try:
        await _record(info, principal, via, None, None)
    except persons_lookups.LookupLimitReached as error:
        raise Rejected([Problem(ErrorCode.LOOKUP_LIMIT, ["file"], {"limit": error.limit})]) from None

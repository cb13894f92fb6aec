"""Warnings in mutation payloads: done as asked, but worth knowing (`warnings: [Warning!]!`).

ENROLLED_ELSEWHERE: recordPayment, importPayments and uploadSubsidyList enrolled a
person whom another county enrols for the same year (重复参保); both counties got a case.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from domain.matching import store as matching_store
from domain.matching.store import CaseRow
from schema.errors import ErrorCodeEnum, Worded
from schema.relay import to_global_id
from tenants.clock import DEFAULT_ZONE
from tenants.problems import ErrorCode, Problem

_ZONE = ZoneInfo(DEFAULT_ZONE)


def day(moment: datetime) -> date:
    """A moment's Beijing day."""
    return moment.astimezone(_ZONE).date()


@strawberry.type(name="Warning", description="Done as asked, but worth knowing: a code, its message, its values.")
class WarningType(Worded):
    code: ErrorCodeEnum  # type: ignore[valid-type]
    problem: strawberry.Private[Problem]


def enrolled_elsewhere_warnings(cases: list[CaseRow]) -> list[WarningType]:
    """ENROLLED_ELSEWHERE for each case just opened: the person's name and the other
    county, never an ID number."""
    return [
        WarningType(
            code=ErrorCode.ENROLLED_ELSEWHERE,
            problem=Problem(
                ErrorCode.ENROLLED_ELSEWHERE, [],
                {
                    "name": c.person_name, "year": c.year, "otherTenantCode": c.other_code,
                    "otherTenantName": c.other_name, "otherSince": day(c.other_since),
                    "case": to_global_id("DuplicateCase", c.id),
                },
            ),
        )
        for c in cases
    ]


async def warnings_opened_now(info: Info, year: int, person_ids: list[int] | None = None) -> list[WarningType]:
    principal = info.context.caller()
    cases = await matching_store.opened_now(info.context.db, principal.tenant_id, year, person_ids)
    return enrolled_elsewhere_warnings(cases)

"""Onboarding a county: the tenant row, its unit tree and its departments, in one go.

The caller runs this inside a savepoint together with the first admin account, so a
failure anywhere leaves nothing behind.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from tenants.kinds import DEPARTMENT_NAMES, DepartmentCode
from tenants.models import Department, Tenant
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db
from tenants.tree import UnitSpec, flatten, insert_units, validate_units

_TENANT_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class TenantRow:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class OnboardRequest:
    code: str
    name: str
    units: list[UnitSpec]
    departments: list[DepartmentCode]
    client_mutation_id: str | None = None


def validate_onboarding(request: OnboardRequest) -> list[Problem]:
    problems: list[Problem] = []
    if not _TENANT_CODE.match(request.code.strip()):
        problems.append(Problem(ErrorCode.INVALID_CODE, ["code"]))
    if not request.name.strip():
        problems.append(Problem(ErrorCode.EMPTY_NAME, ["name"]))
    seen: set[DepartmentCode] = set()
    for index, department in enumerate(request.departments):
        if department in seen:
            problems.append(
                Problem(ErrorCode.DUPLICATE_DEPARTMENT, ["departments", str(index)], {"department": department})
            )
        seen.add(department)
    problems.extend(validate_units(flatten(request.units)))
    return problems


async def find_tenant(db: Db, code: str) -> tuple[TenantRow, str | None] | None:
    row = (
        await db.execute(select(Tenant.id, Tenant.code, Tenant.name, Tenant.client_mutation_id).where(Tenant.code == code))
    ).first()
    if row is None:
        return None
    return TenantRow(row.id, row.code, row.name), row.client_mutation_id


async def tenant_by_id(db: Db, tenant_id: int) -> TenantRow | None:
    row = (await db.execute(select(Tenant.id, Tenant.code, Tenant.name).where(Tenant.id == tenant_id))).first()
    return TenantRow(row.id, row.code, row.name) if row else None


async def create_tenant(db: Db, request: OnboardRequest) -> TenantRow:
    """Write tenant, tree, departments; bind the transaction to the new tenant."""
    try:
        tenant_id = await db.scalar(
            insert(Tenant)
            .values(code=request.code.strip(), name=request.name.strip(), client_mutation_id=request.client_mutation_id)
            .returning(Tenant.id)
        )
    except IntegrityError:
        # Lost a race with a concurrent onboarding of the same code.
        raise Rejected([Problem(ErrorCode.TENANT_EXISTS, ["code"], {"code": request.code})]) from None
    await db.bind_tenant(tenant_id)
    await insert_units(db, tenant_id, flatten(request.units))
    if request.departments:
        await db.execute(
            insert(Department),
            [{"tenant_id": tenant_id, "code": d.value, "name": DEPARTMENT_NAMES[d]} for d in request.departments],
        )
    return TenantRow(tenant_id, request.code.strip(), request.name.strip())


async def bump_authz_version(db: Db, tenant_id: int) -> None:
    await db.execute(text("UPDATE tenant SET authz_version = authz_version + 1 WHERE id = :id"), {"id": tenant_id})

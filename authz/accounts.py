"""Accounts: login look-ups and creating county users with a sensible role and scope."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError

from authz.login_guard import Attempt, Filing, LoginGuard
from authz.models import PlatformOperator, UserAccount
from authz.password_rules import MAX_PASSWORD_LENGTH, password_problem
from authz.passwords import Passwords
from authz.roles import Role
from tenants import metrics
from tenants.kinds import LEAF_KINDS, TOWNSHIP_LEVEL, DepartmentCode, UnitKind
from tenants.models import Department, Tenant, Unit
from tenants.onboarding import bump_authz_version
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.retired import retired_problems
from tenants.session import Db

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
BAD_CREDENTIALS = Problem(ErrorCode.INVALID_CREDENTIALS)


@dataclass(frozen=True)
class Authenticated:
    kind: str  # "user" | "operator"
    id: int
    tenant_id: int | None
    session_version: int = 0


@dataclass(frozen=True)
class _Account:
    id: int
    password_hash: str
    session_version: int = 0


async def _find_operator(db: Db, username: str) -> _Account | None:
    row = (
        await db.execute(
            select(PlatformOperator.id, PlatformOperator.password_hash).where(
                PlatformOperator.username == username, PlatformOperator.active
            )
        )
    ).first()
    return _Account(row.id, row.password_hash) if row else None


async def _find_user(db: Db, tenant_id: int | None, username: str) -> _Account | None:
    if tenant_id is None:
        return None
    row = (
        await db.execute(
            select(UserAccount.id, UserAccount.password_hash, UserAccount.session_version).where(
                UserAccount.tenant_id == tenant_id, UserAccount.username == username, UserAccount.active
            )
        )
    ).first()
    # A deactivated account is not found: its login fails like an unknown username's.
    return _Account(row.id, row.password_hash, row.session_version) if row else None


async def authenticate(
    db: Db,
    passwords: Passwords,
    guard: LoginGuard,
    attempt: Attempt,
    password: str,
    correlation_id: str | None = None,
) -> Authenticated | None:
    """Unknown tenant, unknown user, wrong password and a throttled attempt look
    identical. Only an admitted attempt of a sane length costs an argon2 check."""
    now = guard.now()
    tenant_id = None
    if attempt.tenant_code is not None:
        tenant_id = await db.scalar(select(Tenant.id).where(Tenant.code == attempt.tenant_code.strip()))
        if tenant_id is not None:
            await db.bind_tenant(tenant_id)
        account = await _find_user(db, tenant_id, attempt.username)
    else:
        account = await _find_operator(db, attempt.username)
    keys = guard.keys(attempt)
    filing = Filing(tenant_id, account.id if account else None, attempt.username, correlation_id)
    # The metrics name a county only when it exists: a typed code is the caller's choice.
    county = metrics.PLATFORM if attempt.tenant_code is None else attempt.tenant_code.strip() if tenant_id else metrics.UNKNOWN
    if not await guard.admit(db, keys, now, filing):
        metrics.login_failed(county, "throttled")
        return None
    ok = len(password) <= MAX_PASSWORD_LENGTH and await passwords.verify_async(
        account.password_hash if account else None, password
    )
    if not (ok and account):
        metrics.login_failed(county, "invalid")
        await guard.failed(db, keys, now, filing)
        return None
    await guard.succeeded(db, keys)
    if tenant_id is None:
        return Authenticated("operator", account.id, None)
    await db.execute(
        update(UserAccount)
        .where(UserAccount.tenant_id == tenant_id, UserAccount.id == account.id)
        .values(last_login_at=now)
    )
    return Authenticated("user", account.id, tenant_id, account.session_version)


@dataclass(frozen=True)
class NewUser:
    username: str
    password: str
    role: Role
    department: DepartmentCode | None = None
    scope_unit_id: int | None = None


def check_credentials(username: str, password: str, field_prefix: list[str] | None = None) -> list[Problem]:
    prefix = field_prefix or []
    problems = []
    if not _USERNAME.match(username or ""):
        problems.append(
            Problem(ErrorCode.INVALID_USERNAME, prefix + ["username"])
        )
    if (problem := password_problem(password or "", username)) is not None:
        problems.append(problem.at(*prefix))
    return problems


async def _scope_kind(db: Db, tenant_id: int, unit_id: int) -> UnitKind | None:
    kind = await db.scalar(select(Unit.kind).where(Unit.tenant_id == tenant_id, Unit.id == unit_id))
    return UnitKind(kind) if kind else None


async def _department_id(db: Db, tenant_id: int, code: DepartmentCode) -> int | None:
    return await db.scalar(select(Department.id).where(Department.tenant_id == tenant_id, Department.code == code.value))


async def check_role_sense(db: Db, tenant_id: int, user: NewUser) -> tuple[list[Problem], int | None]:
    """Collector → a village-level or school unit; township staff → a township-level
    unit; department staff → a department of this tenant. Returns (problems, department id)."""
    problems: list[Problem] = []
    department_id = None
    if user.role is Role.PLATFORM_OPERATOR:
        return [Problem(ErrorCode.INVALID_ROLE, ["role"])], None
    needs_scope = user.role in (Role.VILLAGE_COLLECTOR, Role.TOWNSHIP_STAFF)
    if needs_scope and user.scope_unit_id is None:
        problems.append(Problem(ErrorCode.SCOPE_REQUIRED, ["scope"], {"role": user.role}))
    if not needs_scope and user.scope_unit_id is not None:
        problems.append(Problem(ErrorCode.INVALID_SCOPE, ["scope"], {"role": user.role}, "COUNTY_WIDE"))
    if needs_scope and user.scope_unit_id is not None:
        kind = await _scope_kind(db, tenant_id, user.scope_unit_id)
        if kind is None:
            problems.append(Problem(ErrorCode.NOT_FOUND, ["scope"], variant="UNIT"))
        elif user.role is Role.VILLAGE_COLLECTOR and kind not in LEAF_KINDS:
            problems.append(Problem(ErrorCode.INVALID_SCOPE, ["scope"], {"kind": kind}, "COLLECTOR"))
        elif user.role is Role.TOWNSHIP_STAFF and kind not in TOWNSHIP_LEVEL | {UnitKind.SPECIAL}:
            problems.append(Problem(ErrorCode.INVALID_SCOPE, ["scope"], {"kind": kind}, "TOWNSHIP"))
        else:
            problems += await retired_problems(db, tenant_id, {user.scope_unit_id: ["scope"]})
    if user.role is Role.DEPARTMENT_STAFF:
        if user.department is None:
            problems.append(Problem(ErrorCode.DEPARTMENT_REQUIRED, ["department"]))
        else:
            department_id = await _department_id(db, tenant_id, user.department)
            if department_id is None:
                problems.append(
                    Problem(ErrorCode.NOT_FOUND, ["department"], {"department": user.department}, "DEPARTMENT")
                )
    elif user.department is not None:
        problems.append(Problem(ErrorCode.INVALID_DEPARTMENT, ["department"], {"role": user.role}))
    return problems, department_id


async def create_user(db: Db, passwords: Passwords, tenant_id: int, user: NewUser, field_prefix: list[str] | None = None) -> int:
    """Validate everything, then write; raises Rejected with every problem found."""
    problems = check_credentials(user.username, user.password, field_prefix)
    sense, department_id = await check_role_sense(db, tenant_id, user)
    problems.extend(sense)
    if problems:
        raise Rejected(problems)
    try:
        async with db.savepoint():
            user_id = await db.scalar(
                insert(UserAccount)
                .values(
                    tenant_id=tenant_id,
                    username=user.username,
                    password_hash=await passwords.hash_async(user.password),
                    role=user.role.value,
                    department_id=department_id,
                    scope_unit_id=user.scope_unit_id,
                )
                .returning(UserAccount.id)
            )
    except IntegrityError:
        prefix = field_prefix or []
        raise Rejected([Problem(ErrorCode.USERNAME_TAKEN, prefix + ["username"], {"username": user.username})]) from None
    await bump_authz_version(db, tenant_id)
    return user_id


async def create_operator(db: Db, passwords: Passwords, username: str, password: str) -> int:
    problems = check_credentials(username, password)
    if problems:
        raise Rejected(problems)
    exists = await db.scalar(select(PlatformOperator.id).where(PlatformOperator.username == username))
    if exists:
        await db.execute(
            text("UPDATE platform_operator SET password_hash = :h, active = true WHERE id = :id"),
            {"h": await passwords.hash_async(password), "id": exists},
        )
        return exists
    return await db.scalar(
        insert(PlatformOperator)
        .values(username=username, password_hash=await passwords.hash_async(password))
        .returning(PlatformOperator.id)
    )

"""Who is calling: read from the database on every request, never trusted from a token."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from authz.roles import UNMASKED_DEPARTMENTS, Role
from tenants.kinds import DepartmentCode, UnitKind
from tenants.session import Db

COUNTY_SCOPE = "/"


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "operator"
    id: int
    username: str
    role: Role
    tenant_id: int | None = None
    tenant_code: str | None = None
    tenant_authz_version: int = 0
    tenant_policy_version: int = 0  # tenant.policy_version when the request began (cached policies)
    department: DepartmentCode | None = None
    scope_unit_id: int | None = None
    scope_path: str = COUNTY_SCOPE
    scope_kind: UnitKind | None = None  # of the scope unit
    # An administrator reset the password: until the user sets their own, the token
    # may call `viewer` and `changePassword` only (schema/password_gate.py).
    must_change_password: bool = False
    session_version: int = 0

    @property
    def subject(self) -> str:
        return f"{'op' if self.kind == 'operator' else 'u'}:{self.id}"

    @property
    def domain(self) -> str:
        return "platform" if self.tenant_id is None else str(self.tenant_id)

    @property
    def sees_whole_id_numbers(self) -> bool:
        if self.role is Role.DEPARTMENT_STAFF:
            return self.department in UNMASKED_DEPARTMENTS
        return self.role is not Role.PLATFORM_OPERATOR

    def covers(self, path: str) -> bool:
        """Is a unit path inside this caller's jurisdiction?"""
        return path.startswith(self.scope_path)


# Binds the request's transaction to the county and reads the caller, in one round
# trip (migration 0018a).
_USER = text("SELECT * FROM bind_caller(:tenant, :id, :session)")
_OPERATOR = text("SELECT id, username FROM platform_operator WHERE id = :id AND active")


async def load_user(db: Db, tenant_id: int, user_id: int, session_version: int | None = None) -> Principal | None:
    """An active user; with `session_version` (a token's), only if it is still current:
    a token issued before a deactivation or a password reset loads nobody. Binds the
    transaction to `tenant_id` on the way, found or not."""
    params = {"tenant": tenant_id, "id": user_id, "session": session_version}
    row = (await db.execute(_USER, params)).mappings().first()
    db.tenant_id = tenant_id
    if row is None:
        return None
    return Principal(
        kind="user",
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        tenant_id=tenant_id,
        tenant_code=row["tenant_code"],
        tenant_authz_version=row["authz_version"],
        tenant_policy_version=row["policy_version"],
        department=DepartmentCode(row["department"]) if row["department"] else None,
        scope_unit_id=row["scope_unit_id"],
        scope_path=row["scope_path"],
        scope_kind=UnitKind(row["scope_kind"]) if row["scope_kind"] else None,
        must_change_password=row["must_change_password"],
        session_version=row["session_version"],
    )


async def load_operator(db: Db, operator_id: int) -> Principal | None:
    row = (await db.execute(_OPERATOR, {"id": operator_id})).mappings().first()
    if row is None:
        return None
    return Principal(kind="operator", id=row["id"], username=row["username"], role=Role.PLATFORM_OPERATOR)

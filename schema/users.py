"""GraphQL face of day two of an account: users, deactivateUser, reactivateUser,
resetPassword (the county admin) and changePassword (the user)."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from authz import account_admin
from authz.account_admin import OldPassword, UserRow
from authz.principal import load_user
from authz.roles import Role
from authz.tokens import TokenClaims, issue_token
from schema.accounts import RoleEnum, client_address
from schema.errors import UserError
from schema.mutations import Audit, refuse_bad_arguments, run_mutation
from schema.relay import Connection, Node, connection, decode_cursor, page_size, parse_global_id, to_global_id
from schema.tenants import DepartmentCodeEnum, UnitType, load_unit
from tenants.kinds import DepartmentCode
from tenants.problems import ErrorCode, Problem, Rejected


@strawberry.type(name="User")
class UserType(Node):
    username: str
    role: RoleEnum
    department: DepartmentCodeEnum | None
    active: bool
    last_login_at: datetime | None
    must_change_password: bool
    scope_unit_id: strawberry.Private[int | None]

    @strawberry.field(description="The unit the account works in; null for county-wide roles.")
    async def scope(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.scope_unit_id)

    @classmethod
    def of(cls, row: UserRow) -> UserType:
        return cls(
            id=to_global_id("User", row.id), username=row.username, role=row.role,
            department=DepartmentCode(row.department) if row.department else None, active=row.active,
            last_login_at=row.last_login_at, must_change_password=row.must_change_password,
            scope_unit_id=row.scope_unit_id,
        )


@strawberry.input
class UserRefInput:
    user: strawberry.ID
    client_mutation_id: str | None = None


@strawberry.input
class ResetPasswordInput:
    user: strawberry.ID
    temporary_password: str
    client_mutation_id: str | None = None


@strawberry.input
class ChangePasswordInput:
    old_password: str
    new_password: str
    client_mutation_id: str | None = None


@strawberry.type
class UserPayload:
    user: UserType | None
    token: str | None = strawberry.field(
        description="changePassword only: a bearer token of the new session (every other one has ended)."
    )
    user_errors: list[UserError]
    client_mutation_id: str | None = None


def _payload(outcome, input, token: str | None = None) -> UserPayload:  # noqa: ANN001
    user = UserType.of(outcome.value) if outcome.value else None
    return UserPayload(user=user, token=token, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)


async def _admin_change(info: Info, global_id: str, audit: Audit, change) -> UserRow:  # noqa: ANN001
    """A county admin's change of an account of their county: `change(principal, pk)`."""
    principal = await info.context.require("user", "write")
    before, after = await change(principal, parse_global_id(global_id, "User"))
    audit.entity, audit.entity_id = "user", after.id
    audit.before, audit.after = before.audited(), after.audited()
    return after


async def _deactivate(info: Info, input: UserRefInput, audit: Audit) -> UserRow:
    db = info.context.db
    return await _admin_change(
        info, input.user, audit, lambda principal, pk: account_admin.deactivate(db, principal.tenant_id, principal.id, pk)
    )


async def _reactivate(info: Info, input: UserRefInput, audit: Audit) -> UserRow:
    db = info.context.db
    return await _admin_change(
        info, input.user, audit, lambda principal, pk: account_admin.reactivate(db, principal.tenant_id, pk)
    )


async def _reset(info: Info, input: ResetPasswordInput, audit: Audit) -> UserRow:
    context = info.context
    services = context.services

    def change(principal, pk):  # noqa: ANN001, ANN202
        return account_admin.reset_password(
            context.db, services.passwords, services.login_guard, principal.tenant_code, principal.tenant_id,
            principal.id, pk, input.temporary_password,
        )

    return await _admin_change(info, input.user, audit, change)


async def _old_password_matches(info: Info, input: ChangePasswordInput) -> bool:
    """Checked before the mutation's savepoint, so a wrong guess stays counted."""
    context = info.context
    principal = context.principal
    if principal is None or principal.tenant_id is None:
        return False
    try:
        refuse_bad_arguments(context, info.path.key)
    except Rejected:
        return False  # refused for its arguments by run_mutation; no guess made
    who = OldPassword(
        principal.tenant_id, principal.tenant_code, principal.id, principal.username,
        client_address(context.request), context.correlation_id,
    )
    services = context.services
    return await account_admin.old_password_matches(
        context.db, services.passwords, services.login_guard, who, input.old_password
    )


async def _change(info: Info, input: ChangePasswordInput, audit: Audit, old_matches: bool) -> tuple[UserRow, str]:
    context = info.context
    principal = context.mutation_caller()
    if principal.tenant_id is None:
        raise Rejected([Problem(ErrorCode.FORBIDDEN)])  # operators have no county account
    before, after = await account_admin.change_own_password(
        context.db, context.services.passwords, principal.tenant_id, principal.id, old_matches,
        input.old_password, input.new_password,
    )
    audit.entity, audit.entity_id = "user", after.id
    audit.before, audit.after = before.audited(), after.audited()
    claims = TokenClaims("user", after.id, principal.tenant_id, after.session_version)
    # The rest of this request runs as the new session.
    context.identity = claims
    context.principal = await load_user(context.db, principal.tenant_id, after.id, after.session_version)
    token = issue_token(context.services.secret_key, claims, context.services.token_ttl_seconds)
    return after, token


async def resolve_user_node(info: Info, pk: int) -> UserType | None:
    context = info.context
    if not await context.may("user", "read"):
        return None
    principal = context.county_caller()
    found = await account_admin.users_by_ids(context.db, principal.tenant_id, [pk])
    return UserType.of(found[pk]) if pk in found else None


@strawberry.type
class UserQueries:
    @strawberry.field(description="COUNTY_ADMIN: the county's accounts by username, filtered by role and state.")
    async def users(
        self, info: Info, role: RoleEnum | None = None, active: bool | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[UserType]:
        context = info.context
        principal = await context.check("user", "read")
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 2)
        page = await account_admin.list_users(
            context.db, principal.tenant_id, Role(role) if role else None, active, size,
            (cursor[0], cursor[1]) if cursor else None,
        )
        return connection(page, after=after, node=UserType.of, cursor=lambda r: [r.username, r.id])


@strawberry.type
class UserMutations:
    @strawberry.mutation(description="COUNTY_ADMIN: the account can no longer log in; its tokens are refused at once.")
    async def deactivate_user(self, info: Info, input: UserRefInput) -> UserPayload:
        return _payload(await run_mutation(info, "deactivateUser", lambda audit: _deactivate(info, input, audit)), input)

    @strawberry.mutation(description="COUNTY_ADMIN: the account may log in again (old tokens stay refused).")
    async def reactivate_user(self, info: Info, input: UserRefInput) -> UserPayload:
        return _payload(await run_mutation(info, "reactivateUser", lambda audit: _reactivate(info, input, audit)), input)

    @strawberry.mutation(
        description="COUNTY_ADMIN: a temporary password; the user must change it at next login. Ends their sessions."
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> UserPayload:
        return _payload(await run_mutation(info, "resetPassword", lambda audit: _reset(info, input, audit)), input)

    @strawberry.mutation(
        description="The caller's own password, with the old one. Ends every other session: use the returned token."
    )
    async def change_password(self, info: Info, input: ChangePasswordInput) -> UserPayload:
        old_matches = await _old_password_matches(info, input)
        outcome = await run_mutation(info, "changePassword", lambda audit: _change(info, input, audit, old_matches))
        row, token = outcome.value if outcome.value else (None, None)
        user = UserType.of(row) if row else None
        return UserPayload(user=user, token=token, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)

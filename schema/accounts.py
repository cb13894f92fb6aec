"""GraphQL face of accounts: login, viewer, createUser."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from authz.accounts import BAD_CREDENTIALS, NewUser, authenticate, create_user
from authz.login_guard import Attempt
from authz.principal import Principal, load_user
from authz.roles import Role
from authz.tokens import TokenClaims, issue_token
from schema.errors import UserError, user_errors
from schema.mutations import Audit, refuse_bad_arguments, run_mutation
from schema.relay import parse_global_id
from schema.tenants import DepartmentCodeEnum, TenantType, UnitType, load_unit
from tenants.audit import write_audit
from tenants.kinds import DepartmentCode
from tenants.onboarding import tenant_by_id
from tenants.problems import ErrorCode, Problem, Rejected

RoleEnum = strawberry.enum(Role, name="Role")


@strawberry.type
class Viewer:
    username: str
    role: RoleEnum
    department: DepartmentCodeEnum | None
    must_change_password: bool = strawberry.field(
        description="An administrator reset the password: only changePassword and viewer answer until it is changed."
    )
    principal: strawberry.Private[Principal]

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        return cls(
            username=principal.username, role=principal.role, department=principal.department,
            must_change_password=principal.must_change_password, principal=principal,
        )

    @strawberry.field(description="The unit the caller works in; null for county-wide roles.")
    async def scope(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.principal.scope_unit_id)

    @strawberry.field
    async def tenant(self, info: Info) -> TenantType | None:
        if self.principal.tenant_id is None:
            return None
        row = await tenant_by_id(info.context.db, self.principal.tenant_id)
        return TenantType.from_row(row) if row else None


@strawberry.input
class LoginInput:
    tenant_code: str | None
    username: str
    password: str


@strawberry.type
class LoginPayload:
    token: str | None
    viewer: Viewer | None
    user_errors: list[UserError]


@strawberry.input
class CreateUserInput:
    username: str
    password: str
    role: RoleEnum
    department: DepartmentCodeEnum | None = None
    scope: strawberry.ID | None = None
    client_mutation_id: str | None = None


@strawberry.type
class CreateUserPayload:
    viewer: Viewer | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None


def client_address(request: object) -> str | None:
    """The ASGI peer. Behind a reverse proxy it is the proxy unless uvicorn is told to
    trust its X-Forwarded-For (`ZHENGJIAO_FORWARDED_ALLOW_IPS`)."""
    client = getattr(request, "client", None)
    return client.host if client else None


async def _login(info: Info, input: LoginInput) -> LoginPayload:
    context = info.context
    services = context.services
    attempt = Attempt(input.tenant_code, input.username, client_address(context.request))
    found = await authenticate(
        context.db, services.passwords, services.login_guard, attempt, input.password, context.correlation_id
    )
    principal = None
    if found is not None:
        context.identity = TokenClaims(found.kind, found.id, found.tenant_id, found.session_version)
        await context.authenticate()
        principal = context.principal
    if context.db.tenant_id is not None:
        # Failed logins of a known county are audited too; never with the password.
        await write_audit(
            context.db,
            tenant_id=context.db.tenant_id,
            actor=principal.subject if principal else "anonymous",
            operation="login",
            outcome="ok" if principal else "rejected",
            entity="user",
            after={"username": input.username},
            correlation_id=context.correlation_id,
        )
    if principal is None:
        return LoginPayload(token=None, viewer=None, user_errors=user_errors([BAD_CREDENTIALS], "login"))
    token = issue_token(services.secret_key, context.identity, services.token_ttl_seconds)
    return LoginPayload(token=token, viewer=Viewer.of(principal), user_errors=[])


async def _create_user(info: Info, input: CreateUserInput, audit: Audit) -> Principal:
    context = info.context
    principal = await context.require("user", "write")
    scope_id = None
    if input.scope is not None:
        scope_id = parse_global_id(input.scope, "Unit")
        if scope_id is None:
            raise Rejected([Problem(ErrorCode.INVALID_ID, ["scope"], {"globalId": input.scope, "expected": "Unit"}, "TYPE")])
    user = NewUser(
        username=input.username.strip(),
        password=input.password,
        role=Role(input.role),
        department=DepartmentCode(input.department) if input.department else None,
        scope_unit_id=scope_id,
    )
    user_id = await create_user(context.db, context.services.passwords, principal.tenant_id, user)
    audit.entity, audit.entity_id = "user", user_id
    audit.after = {"username": user.username, "role": user.role.value, "department": input.department, "scope": scope_id}
    return await load_user(context.db, principal.tenant_id, user_id)


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The caller.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer.of(info.context.caller())


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="A bearer token for `Authorization: Bearer …`. tenantCode null: platform operator.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        try:
            refuse_bad_arguments(info.context, info.path.key)
        except Rejected as rejected:
            return LoginPayload(token=None, viewer=None, user_errors=user_errors(rejected.problems, "login"))
        return await _login(info, input)

    @strawberry.mutation(description="COUNTY_ADMIN: a staff account with a role, a department and a scope.")
    async def create_user(self, info: Info, input: CreateUserInput) -> CreateUserPayload:
        outcome = await run_mutation(info, "createUser", lambda audit: _create_user(info, input, audit))
        viewer = Viewer.of(outcome.value) if outcome.value else None
        return CreateUserPayload(viewer=viewer, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)

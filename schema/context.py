"""Per-request context: the tenant-bound connection, the caller, and the services."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from authz.enforcer import Enforcers
from authz.login_guard import LoginGuard
from authz.passwords import Passwords
from authz.principal import Principal, load_operator, load_user
from authz.tokens import TokenClaims
from domain.policy.store import PolicyCache
from domain.progress.store import ChildrenCache
from domain.subsidy_lists.rules import DEFAULT_REMOVAL_SHARE
from schema.errors import UNAUTHENTICATED, PublicError, forbidden
from tenants.batch_slots import take_batch_slot
from tenants.clock import Clock
from tenants.messages import DEFAULT_LOCALE, negotiate
from tenants.observe import note_caller
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db

if TYPE_CHECKING:
    from domain.policy.rules import YearPolicy
    from schema.edge import EdgeProblems


@dataclass
class Services:
    """Long-lived objects shared by every request."""

    engine: AsyncEngine
    pool: AsyncConnectionPool  # the serving engine's pool: requests take their connection from it
    enforcers: Enforcers
    passwords: Passwords
    login_guard: LoginGuard
    secret_key: str
    token_ttl_seconds: int
    page_default: int
    page_max: int
    production: bool
    clock: Clock
    list_removal_share: Decimal = DEFAULT_REMOVAL_SHARE  # see domain/subsidy_lists/rules.py
    masked_lookups_per_hour: int = 30
    locale: str = DEFAULT_LOCALE  # when a request names no language
    # reports (the field lists) read here when a replica is configured; else `engine`
    report_engine: AsyncEngine | None = None
    batch_slots: int = 2  # tenants/batch_slots.py
    policies: PolicyCache = field(default_factory=PolicyCache)  # by county, year and policy_version
    children: ChildrenCache = field(default_factory=ChildrenCache)  # quotaProgress's, by county, year, parent


@dataclass
class Context:
    services: Services
    request: Any
    response: Any
    correlation_id: str
    identity: TokenClaims | None = None
    db: Db | None = None
    principal: Principal | None = None
    loaders: dict[str, Any] = field(default_factory=dict)
    unit_types: dict[int, Any] = field(default_factory=dict)  # UnitType by id, as shown in this response
    edge_problems: EdgeProblems | None = None  # a mutation's bad argument values (schema/edge.py)
    # The operation asks only for what a user whose password was reset may do (`viewer`,
    # `changePassword`; schema/password_gate.py). Downloads never do.
    password_change_only: bool = False

    @property
    def locale(self) -> str:
        """The language of this request's messages: its Accept-Language, else the setting."""
        headers = getattr(self.request, "headers", None)
        return negotiate(headers.get("accept-language") if headers else None, self.services.locale)

    async def authenticate(self) -> None:
        """Bind the transaction to the caller's tenant and load the caller."""
        assert self.db is not None
        identity = self.identity
        if identity is None:
            await self.db.bind_tenant(None)
            return
        if identity.kind != "operator" and identity.tenant_id is not None:
            # one round trip: binds the tenant and reads the caller
            self.principal = await load_user(
                self.db, identity.tenant_id, identity.subject_id, identity.session_version
            )
        else:
            await self.db.bind_tenant(identity.tenant_id)
            if identity.kind == "operator":
                self.principal = await load_operator(self.db, identity.subject_id)
        if self.principal is not None:
            note_caller(self.principal.tenant_code, self.principal.subject)

    async def reload_principal(self) -> None:
        """The caller as the database has it now, and fresh loaders: a merge of units
        (day two) committed while this request waited on its locks may have moved the
        caller's scope along with the rows it acts on."""
        self.loaders.clear()
        self.unit_types.clear()
        await self.authenticate()

    async def policy(self, year: int) -> YearPolicy | None:
        """The county's policy for `year` as of this request's start, from the process's
        cache when no policy has been saved since (by any process: the version is the
        database's). For reads; a request that saves a policy reads it back directly."""
        principal = self.principal
        assert principal is not None and principal.tenant_id is not None and self.db is not None
        return await self.services.policies.get(self.db, principal.tenant_id, year, principal.tenant_policy_version)

    # -- for queries: exceptions that reach the client unmasked
    def caller(self) -> Principal:
        if self.principal is None:
            raise PublicError(ErrorCode.UNAUTHENTICATED)
        if self._must_change_password():
            raise PublicError(ErrorCode.MUST_CHANGE_PASSWORD)
        return self.principal

    def county_caller(self) -> Principal:
        principal = self.caller()
        if principal.tenant_id is None:
            raise PublicError(ErrorCode.FORBIDDEN, variant="OPERATOR")
        return principal

    async def may(self, obj: str, act: str, at_path: str | None = None) -> bool:
        principal = self.caller()
        return await self.services.enforcers.allowed(self.db, principal, obj, act, at_path)

    async def check(self, obj: str, act: str, at_path: str | None = None) -> Principal:
        principal = self.caller()
        if not await self.services.enforcers.allowed(self.db, principal, obj, act, at_path):
            raise PublicError(ErrorCode.FORBIDDEN)
        return principal

    # -- for mutations: problems that become userErrors
    def mutation_caller(self) -> Principal:
        if self.principal is None:
            raise Rejected([UNAUTHENTICATED])
        if self._must_change_password():
            raise Rejected([Problem(ErrorCode.MUST_CHANGE_PASSWORD)])
        return self.principal

    def _must_change_password(self) -> bool:
        """A reset password not yet changed, and a request asking for more than that."""
        return self.principal is not None and self.principal.must_change_password and not self.password_change_only

    async def take_batch_slot(self) -> None:
        """One of the county's few batch slots for this request (tenants/batch_slots.py)."""
        principal = self.county_caller()
        await take_batch_slot(self.db, principal.tenant_id, self.services.batch_slots, principal.subject)

    async def require(self, obj: str, act: str, at_path: str | None = None) -> Principal:
        principal = self.mutation_caller()
        if not await self.services.enforcers.allowed(self.db, principal, obj, act, at_path):
            raise forbidden()
        return principal

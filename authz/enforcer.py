"""Casbin decides actions; SQL decides rows (ARCHITECTURE.md "Authorisation").

One enforcer per tenant: the shared role templates (`policy.csv`) plus that tenant's
`g` rows (user → role, user → department) and `g2` rows (subsidy category → owner
department), loaded with a tenant filter and rebuilt when the tenant's
`authz_version` moves.

Decisions are remembered with the enforcer they came from: the same caller asking the
same thing gets casbin's earlier answer (a matcher evaluation walks every policy line;
the answer only changes with the version, which drops the enforcer). The model reads
the object's unit path only through `keyMatch(r.oscope, r.uscope)`, so the memo keys
on that match, not on the path: one entry covers every unit inside (or outside) the
caller's scope. tests/test_authz_memo.py holds the model to that.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import casbin
from casbin import persist
from casbin.util import key_match
from sqlalchemy import text

from authz.principal import Principal
from tenants.session import Db

_HERE = Path(__file__).resolve().parent
MODEL = str(_HERE / "model.conf")
TEMPLATES = _HERE / "policy.csv"


class RowsAdapter(persist.Adapter):
    """Feeds casbin policy lines already fetched (and filtered) by the caller."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    def load_policy(self, model) -> None:  # noqa: ANN001 (casbin's own type)
        for line in self._lines:
            persist.load_policy_line(line, model)


def template_lines() -> list[str]:
    lines = []
    for raw in TEMPLATES.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


_TENANT_GROUPINGS = text(
    """
    SELECT u.id, u.role, d.code AS department
      FROM app_user u
      LEFT JOIN department d ON d.tenant_id = u.tenant_id AND d.id = u.department_id
     WHERE u.tenant_id = :tenant AND u.active
    """
)
_CATEGORY_OWNERS = text("SELECT year, code, owner FROM subsidy_category WHERE tenant_id = :tenant")
_OPERATORS = text("SELECT id FROM platform_operator WHERE active")


def category_object(year: int, code: str) -> str:
    return f"cat:{year}:{code}"


async def tenant_grouping_lines(db: Db, tenant_id: int) -> list[str]:
    lines = []
    for row in (await db.execute(_TENANT_GROUPINGS, {"tenant": tenant_id})).mappings():
        lines.append(f"g, u:{row['id']}, role:{row['role'].lower()}, {tenant_id}")
        if row["department"]:
            lines.append(f"g, u:{row['id']}, dept:{row['department'].lower()}, {tenant_id}")
    for row in (await db.execute(_CATEGORY_OWNERS, {"tenant": tenant_id})).mappings():
        category = category_object(row["year"], row["code"])
        lines.append(f"g2, {category}, owner:{row['owner'].lower()}, {tenant_id}")
        lines.append(f"g2, {category}, owner:any, {tenant_id}")
    return lines


async def operator_grouping_lines(db: Db) -> list[str]:
    return [f"g, op:{row[0]}, role:platform_operator, platform" for row in await db.execute(_OPERATORS)]


# Decisions kept per enforcer before the memo starts over (a county's users × rights × units).
MAX_DECISIONS = 100_000

Request = tuple[str, str, str, str, str, str]  # sub, dom, obj, act, uscope, oscope
Decision = tuple[str, str, str, str, str, bool]  # … oscope matching uscope or not


@dataclass
class _Cached:
    version: int
    enforcer: casbin.Enforcer
    subjects: set[str] = field(default_factory=set)
    decisions: dict[Decision, bool] = field(default_factory=dict)

    def enforce(self, request: Request) -> bool:
        sub, dom, obj, act, uscope, oscope = request
        key = (sub, dom, obj, act, uscope, key_match(oscope, uscope))
        decided = self.decisions.get(key)
        if decided is None:
            if len(self.decisions) >= MAX_DECISIONS:
                self.decisions.clear()
            decided = self.decisions[key] = bool(self.enforcer.enforce(*request))
        return decided


class Enforcers:
    """Per-tenant casbin enforcers, cached in the process."""

    def __init__(self) -> None:
        self._cache: dict[str, _Cached] = {}
        self._templates = template_lines()

    def _build(self, grouping: list[str]) -> casbin.Enforcer:
        return casbin.Enforcer(MODEL, RowsAdapter(self._templates + grouping))

    async def for_principal(self, db: Db, principal: Principal) -> casbin.Enforcer:
        return (await self._fresh(db, principal)).enforcer

    async def _fresh(self, db: Db, principal: Principal) -> _Cached:
        key = principal.domain
        cached = self._cache.get(key)
        fresh = (
            cached is not None
            and cached.version == principal.tenant_authz_version
            and principal.subject in cached.subjects
        )
        if not fresh:
            if principal.tenant_id is None:
                lines = await operator_grouping_lines(db)
            else:
                lines = await tenant_grouping_lines(db, principal.tenant_id)
            subjects = {line.split(",")[1].strip() for line in lines if line.startswith("g,")}
            cached = _Cached(principal.tenant_authz_version, self._build(lines), subjects)
            self._cache[key] = cached
        return cached

    async def allowed(self, db: Db, principal: Principal, obj: str, act: str, at_path: str | None = None) -> bool:
        cached = await self._fresh(db, principal)
        object_path = at_path if at_path is not None else principal.scope_path
        return cached.enforce((principal.subject, principal.domain, obj, act, principal.scope_path + "*", object_path))

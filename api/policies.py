"""`zhengjiao policy apply TENANT FILE`: a year policy from a JSON file, on the owner role."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from api.console import UnknownTenant, complain, say
from api.database import DatabaseUrls, resolve_urls
from api.migrate import migrate
from api.owner import owner_transaction, run_command
from api.settings import Settings, get_settings
from domain.policy.files import PolicyFormatError, policy_from_dict
from domain.policy.rules import YearPolicy
from domain.policy.store import save_policy
from tenants.audit import write_audit
from tenants.models import Tenant
from tenants.onboarding import bump_authz_version


def read_policy_file(path: str | Path) -> YearPolicy:
    return policy_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


async def apply_policy(urls: DatabaseUrls, settings: Settings, tenant_code: str, policy: YearPolicy, actor: str) -> int:
    """Save the policy for the tenant; returns enrolments recomputed. Raises Rejected."""
    async with owner_transaction(urls, settings) as db:
        tenant_id = await db.scalar(select(Tenant.id).where(Tenant.code == tenant_code))
        if tenant_id is None:
            raise UnknownTenant(tenant_code)
        await db.bind_tenant(tenant_id)
        recomputed = await save_policy(db, tenant_id, policy, actor)
        await bump_authz_version(db, tenant_id)
        await write_audit(db, tenant_id=tenant_id, actor=actor, operation="setYearPolicy", outcome="ok",
                          entity="year_policy", entity_id=policy.year, after={"source": "cli"})
        return recomputed


def apply_policy_file(tenant_code: str, file: str) -> int:
    settings = get_settings()
    try:
        policy = read_policy_file(file)
    except (OSError, json.JSONDecodeError, PolicyFormatError) as error:
        complain("cli.bad_file", file=file, detail=str(error))
        return 2
    urls = resolve_urls(settings)
    migrate(urls, settings)
    status, recomputed = run_command(apply_policy(urls, settings, tenant_code, policy, "cli"))
    if status:
        return status
    say("cli.policy_applied", tenant=tenant_code, year=policy.year, recomputed=recomputed)
    return 0

"""`zhengjiao quotas apply`, `zhengjiao snapshot`, `zhengjiao tally verify`: on the owner role,
one tenant-bound transaction per county, each audited like the mutation it stands for."""
from __future__ import annotations

import asyncio
import json

from sqlalchemy import text

from api.console import UnknownTenant, complain, say
from api.database import DatabaseUrls, resolve_urls
from api.migrate import migrate
from api.owner import owner_transaction, run_command
from api.settings import Settings, get_settings
from domain.enrollment.store import policy_years
from domain.progress.files import QuotaFormatError, QuotaTable, read_quota_file
from domain.progress.store import (
    QuotaChange,
    apply_quota_table,
    repair_tallies,
    snapshot_years,
    take_snapshot,
    tally_drift,
)
from tenants.audit import write_audit
from tenants.clock import Clock


async def _tenants(urls: DatabaseUrls, settings: Settings, code: str | None) -> list[tuple[int, str, str]]:
    """(id, code, time zone) of one county, or of all."""
    async with owner_transaction(urls, settings) as db:
        rows = await db.execute(
            text("SELECT id, code, time_zone FROM tenant WHERE CAST(:code AS text) IS NULL OR code = :code ORDER BY code"),
            {"code": code},
        )
        found = [(r.id, r.code, r.time_zone) for r in rows]
    if code is not None and not found:
        raise UnknownTenant(code)
    return found


# -- quotas apply


async def apply_quotas(urls: DatabaseUrls, settings: Settings, tenant_code: str, table: QuotaTable,
                       year: int | None, actor: str) -> QuotaChange:
    (tenant_id, _, _), = await _tenants(urls, settings, tenant_code)
    async with owner_transaction(urls, settings, tenant_id) as db:
        change = await apply_quota_table(db, tenant_id, table, actor, year=year)
        await write_audit(db, tenant_id=tenant_id, actor=actor, operation="setQuotas", outcome="ok", entity="quota",
                          entity_id=year or table.year, before={"targets": change.before},
                          after={"targets": change.after, "removed": change.removed, "replace": True, "source": "cli"})
        return change


def apply_quota_file(tenant_code: str, file: str, year: int | None) -> int:
    try:
        table = read_quota_file(file)
    except (OSError, json.JSONDecodeError, QuotaFormatError) as error:
        complain("cli.bad_file", file=file, detail=str(error))
        return 2
    settings = get_settings()
    urls = resolve_urls(settings)
    migrate(urls, settings)
    status, _ = run_command(apply_quotas(urls, settings, tenant_code, table, year, "cli"))
    if status:
        return status
    say("cli.quotas_applied", tenant=tenant_code, count=len(table.entries), year=year or table.year, total=f"{table.sum:,}")
    return 0


# -- snapshot


async def snapshot_all(urls: DatabaseUrls, settings: Settings, tenant_code: str | None, year: int | None,
                       clock: Clock) -> list[tuple[str, int, str, int]]:
    """Every county (or one), every year under way today (or the one given):
    (tenant code, year, day, units)."""
    done = []
    for tenant_id, code, zone in await _tenants(urls, settings, tenant_code):
        today = clock.today(zone)
        async with owner_transaction(urls, settings, tenant_id) as db:
            years = [year] if year else await snapshot_years(db, tenant_id, today)
            for y in years:
                units = await take_snapshot(db, tenant_id, y, today)
                await write_audit(db, tenant_id=tenant_id, actor="cli", operation="takeProgressSnapshot", outcome="ok",
                                  entity="progress_snapshot", entity_id=y,
                                  after={"day": today.isoformat(), "units": units, "source": "cli"})
                done.append((code, y, today.isoformat(), units))
    return done


def snapshot_command(tenant_code: str | None, year: int | None) -> int:
    settings = get_settings()
    urls = resolve_urls(settings)
    migrate(urls, settings)
    try:
        done = asyncio.run(snapshot_all(urls, settings, tenant_code, year, Clock()))
    except UnknownTenant as unknown:
        complain("cli.unknown_tenant", code=unknown.code)
        return 2
    for code, y, day, units in done:
        say("cli.snapshot_taken", tenant=code, year=y, units=units, day=day)
    if not done:
        say("cli.snapshot_none")
    return 0


# -- tally verify


async def verify_tallies(urls: DatabaseUrls, settings: Settings, tenant_code: str, year: int | None,
                         repair: bool) -> list[tuple[int, int, list]]:
    (tenant_id, _, _), = await _tenants(urls, settings, tenant_code)
    found = []
    async with owner_transaction(urls, settings, tenant_id) as db:
        await db.execute(text("SET LOCAL statement_timeout = 0"))  # a recount reads every enrolment
        for y in [year] if year else await policy_years(db, tenant_id):
            drift = await (repair_tallies if repair else tally_drift)(db, tenant_id, y)
            found.append((tenant_id, y, drift))
            if repair and drift:
                await write_audit(db, tenant_id=tenant_id, actor="cli", operation="repairTallies", outcome="ok",
                                  entity="enrollment_tally", entity_id=y, after={"units": [d.unit_id for d in drift]})
    return found


def tally_command(tenant_code: str, year: int | None, repair: bool) -> int:
    settings = get_settings()
    urls = resolve_urls(settings)
    migrate(urls, settings)
    try:
        found = asyncio.run(verify_tallies(urls, settings, tenant_code, year, repair))
    except UnknownTenant as unknown:
        complain("cli.unknown_tenant", code=unknown.code)
        return 2
    drifted = 0
    for _, y, drift in found:
        for d in drift:
            say("cli.tally_drift_repaired" if repair else "cli.tally_drift",
                tenant=tenant_code, year=y, unit=d.unit_id, tally=d.tally, recount=d.recount)
        say("cli.tally_summary_repaired" if repair and drift else "cli.tally_summary",
            tenant=tenant_code, year=y, count=len(drift))
        drifted += len(drift)
    return 1 if drifted and not repair else 0

"""Benchmark: a 200,000-row department roster uploaded and matched over real HTTP.

    .venv/bin/python bench/rosters.py [--rows 200000] [--matched 0.5] [--format xlsx] [--rounds 1]

Uses its own data directory (`ZHENGJIAO_BENCH_DATA_DIR`, default /tmp/zj-bench), loads the
demo county 内乡县 with `--persons` persons when it is not there yet, and builds (untimed)
an employee-insurance roster (证件号码, 姓名, 参保日期): `--matched` of its rows persons of
the county, the rest people the county has never registered (a city-wide 职工医保 list
holds far more people than one county has). Before each round the roster's versions,
findings and the life events they recorded are removed as the owner (bench data only), so
the upload really is the first version: every matched person gets a life event and has
their years recomputed. Then 医保局 (yibao) sends the file as one GraphQL multipart
`uploadRoster` request; the clock runs from the request to the response, after the
commit. Prints rows, seconds, rows/s and the peak RSS of this process (server and client
share it) during the upload.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from common import LOGIN, PeakRss, demo_county, gql, host_speed, settle, start_server  # noqa: E402

YEAR = 2027
UNREGISTERED_REGION = "411329"  # a region code the demo county never uses
UPLOAD = """
mutation($input: UploadRosterInput!) {
  uploadRoster(input: $input) {
    batch { version rowsTotal rowsAccepted matched }
    eventsRecorded eventsWithdrawn rowErrors { row code } userErrors { code message }
  }
}"""
HEADER = ["证件号码", "姓名", "参保日期"]


async def _persons(urls, settings, count: int) -> list[tuple[str, str]]:  # noqa: ANN001
    from sqlalchemy import text

    from api.demo import TENANT_CODE
    from api.owner import owner_transaction
    from tenants.onboarding import find_tenant

    async with owner_transaction(urls, settings) as db:
        tenant, _ = await find_tenant(db, TENANT_CODE)
        await db.bind_tenant(tenant.id)
        rows = await db.execute(
            text("""SELECT id_number, name FROM person WHERE tenant_id = :t AND birth_date < DATE '2026-01-01'
                     ORDER BY hashtext(id_number || 'roster'), id LIMIT :n"""),
            {"t": tenant.id, "n": count},
        )
        return [(r.id_number, r.name) for r in rows]


def build_roster(persons: list[tuple[str, str]], rows: int, file_format: str, seed: int = 411325) -> bytes:
    from domain.persons.idnumber import make_id_number

    rng = random.Random(seed)
    body = [[number, name, date(2026, 1, 1) + timedelta(days=rng.randrange(300))] for number, name in persons]
    strangers: set[str] = set()
    while len(strangers) < rows - len(body):
        born = date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28))
        strangers.add(make_id_number(UNREGISTERED_REGION, born, rng.randrange(1, 998)))
    body += [[number, "", date(2026, 3, 1)] for number in sorted(strangers)]
    rng.shuffle(body)
    if file_format == "csv":
        lines = [",".join(HEADER)] + [f"{n},{name},{day.isoformat()}" for n, name, day in body]
        return ("\n".join(lines) + "\n").encode("utf-8")
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("名册")
    sheet.append(HEADER)
    for row in body:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _clear(urls, settings) -> None:  # noqa: ANN001
    """Forget the employee-insurance rosters of the year and the events they recorded;
    recompute those persons. Bench data only."""
    from sqlalchemy import text

    from api.demo import TENANT_CODE
    from api.owner import owner_transaction
    from domain.enrollment.store import recompute_selected_id_numbers, share_years
    from tenants.onboarding import find_tenant

    async with owner_transaction(urls, settings) as db:
        await db.execute(text("SET LOCAL statement_timeout = 0"))
        tenant, _ = await find_tenant(db, TENANT_CODE)
        await db.bind_tenant(tenant.id)
        key = {"t": tenant.id, "y": YEAR}
        await db.execute(text("""CREATE TEMP TABLE bench_cleared ON COMMIT DROP AS
                                 SELECT p.id_number, f.event_id FROM roster_finding f
                                   JOIN person p ON p.tenant_id = f.tenant_id AND p.id = f.person_id
                                  WHERE f.tenant_id = :t AND f.year = :y AND f.kind = 'EMPLOYEE_INSURANCE'"""), key)
        await db.execute(text("""DELETE FROM roster_finding WHERE tenant_id = :t AND year = :y
                                  AND kind = 'EMPLOYEE_INSURANCE'"""), key)
        await db.execute(text("""DELETE FROM roster_batch WHERE tenant_id = :t AND year = :y
                                  AND kind = 'EMPLOYEE_INSURANCE'"""), key)
        await db.execute(text("""DELETE FROM person_event WHERE tenant_id = :t
                                  AND id IN (SELECT event_id FROM bench_cleared)"""), key)
        for year in await share_years(db, tenant.id, None):
            await recompute_selected_id_numbers(db, tenant.id, year, "SELECT id_number FROM bench_cleared")


def upload(http: httpx.Client, token: str, data: bytes, name: str) -> tuple[float, dict]:
    variables = {"input": {"kind": "EMPLOYEE_INSURANCE", "year": YEAR, "file": None}}
    form = {"operations": json.dumps({"query": UPLOAD, "variables": variables}),
            "map": json.dumps({"0": ["variables.input.file"]})}
    started = time.perf_counter()
    response = http.post("/graphql", data=form, files={"0": (name, data, "application/octet-stream")},
                         headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"upload failed: {response.status_code} {body.get('errors')}")
    payload = body["data"]["uploadRoster"]
    if payload["userErrors"] or payload["batch"] is None:
        raise RuntimeError(f"upload refused: {payload['userErrors']} {payload['rowErrors'][:5]}")
    return elapsed, payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--matched", type=float, default=0.5, help="share of rows naming persons of the county")
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--persons", type=int, default=600_000, help="demo size when the county is not loaded yet")
    args = parser.parse_args(argv)

    county = demo_county(args.persons)
    if county is None:
        return 1
    settings, urls = county.settings, county.urls
    persons = asyncio.run(_persons(urls, settings, int(args.rows * args.matched)))
    data = build_roster(persons, args.rows, args.format)
    print(f"roster: {args.rows:,} rows, {len(persons):,} of them persons of the county, "
          f"{len(data) / 1e6:.1f} MB .{args.format}", flush=True)

    server, thread, base_url = start_server(settings, urls)
    try:
        with httpx.Client(base_url=base_url, timeout=300) as http:
            variables = {"input": {"tenantCode": county.tenant_code, "username": "yibao", "password": county.password}}
            token = gql(http, LOGIN, variables)["login"]["token"]
            for number in range(1, args.rounds + 1):
                asyncio.run(_clear(urls, settings))
                settle(urls, "person_event, roster_finding, roster_batch, enrollment, enrollment_tally")
                print(f"round {number}: {host_speed()}", flush=True)
                with PeakRss() as rss:
                    seconds, payload = upload(http, token, data, f"roster.{args.format}")
                batch = payload["batch"]
                if (batch["rowsAccepted"], batch["matched"]) != (args.rows, len(persons)):
                    raise RuntimeError(f"unexpected counts: {batch}")
                print(f"round {number}: {args.rows:,} rows in {seconds:.2f} s = {args.rows / seconds:,.0f} rows/s "
                      f"(target ≥ 50,000), peak RSS {rss.peak / 2**20:.0f} MB ({rss.before / 2**20:.0f} MB before; "
                      f"target < 500 MB); matched {batch['matched']:,}, events recorded {payload['eventsRecorded']:,}",
                      flush=True)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the first page of 断保 (`lapsedPersons`) and 漏保 (`neverEnrolled`) lists,
beside the unpaid list's first page (`unpaidPersons`) in the same run.

    .venv/bin/python bench/coverage.py [--requests 100] [--persons 600000] [--history 0.9]

Uses its own data directory (`ZHENGJIAO_BENCH_DATA_DIR`, default /tmp/zj-bench), loads the
demo county 内乡县 with `--persons` persons when it is not there yet, and gives it an
enrolment history for 2026 as an import from the earlier system would (`--history`: the
share of persons enrolled in 2026, the rest recorded as not enrolled; a few have no record
at all, so 漏保 is not empty). Then it times, one request at a time over HTTP, each list's
first 50 rows for the county (admin), for 城关镇 (chengguan) and for a village
(zhangzhuang), with `totalCount` and without it, taking turns with the unpaid list.

Client and server share one Python process (and its GIL), as in the test suite.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import LOGIN, demo_county, gql, host_speed, percentile, settle, start_server  # noqa: E402

YEAR = 2027
LISTS = {
    "lapsedPersons": "lapsedPersons(year: $year, first: 50)",
    "neverEnrolled": "neverEnrolled(year: $year, first: 50)",
    "unpaidPersons": "unpaidPersons(year: $year, first: 50)",
}
USERS = ("admin", "chengguan", "zhangzhuang")


def document(field: str, total: bool) -> str:
    count = "totalCount " if total else ""
    return f"query($year: Int!) {{ list: {LISTS[field]} {{ {count}edges {{ node {{ idNumber name unit {{ code }} }} }} }} }}"


async def give_history(urls, settings, share: float) -> tuple[int, int]:  # noqa: ANN001
    """2026 on record for (nearly) every person, `share` of them enrolled; (rows, persons)."""
    from sqlalchemy import text

    from api.demo import TENANT_CODE
    from api.owner import owner_transaction
    from tenants.onboarding import find_tenant

    async with owner_transaction(urls, settings) as db:
        tenant_id = (await find_tenant(db, TENANT_CODE))[0].id
    async with owner_transaction(urls, settings, tenant_id) as db:
        persons = await db.scalar(text("SELECT count(*) FROM person WHERE tenant_id = :t"), {"t": tenant_id})
        have = await db.scalar(
            text("SELECT count(*) FROM enrollment_history WHERE tenant_id = :t AND year = 2026"), {"t": tenant_id}
        )
        if not have:
            await db.execute(
                text(
                    """INSERT INTO enrollment_history (tenant_id, id_number, year, enrolled, source)
                       SELECT tenant_id, id_number, 2026, (hashtext(id_number) & 1023) < :enrolled, 'bench'
                         FROM person WHERE tenant_id = :t AND (hashtext(id_number) & 1023) < 1013"""
                ),
                {"t": tenant_id, "enrolled": int(share * 1013)},
            )
            have = await db.scalar(
                text("SELECT count(*) FROM enrollment_history WHERE tenant_id = :t AND year = 2026"), {"t": tenant_id}
            )
        return have, persons


def summary(label: str, values: list[float]) -> tuple[str, float]:
    values = sorted(values)
    p50 = percentile(values, 50)
    return (f"{label:<40} p50 {p50:7.1f}  p95 {percentile(values, 95):7.1f}  max {values[-1]:7.1f}  "
            f"mean {statistics.fmean(values):7.1f} ms  (n={len(values)})"), p50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60, help="per list, user and with/without totalCount")
    parser.add_argument("--persons", type=int, default=600_000, help="demo size when the county is not loaded yet")
    parser.add_argument("--history", type=float, default=0.9, help="share of persons enrolled in 2026")
    args = parser.parse_args(argv)

    county = demo_county(args.persons)
    if county is None:
        return 1
    rows, persons = asyncio.run(give_history(county.urls, county.settings, args.history))
    settle(county.urls, "enrollment_history")
    print(f"{persons:,} persons, {rows:,} history rows for 2026; {host_speed()}", flush=True)

    server, thread, base_url = start_server(county.settings, county.urls)
    timings: dict[tuple[str, str, bool], list[float]] = {}
    counts: dict[tuple[str, str], int] = {}
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            tokens = {}
            for user in USERS:
                variables = {"input": {"tenantCode": county.tenant_code, "username": user, "password": county.password}}
                tokens[user] = gql(http, LOGIN, variables)["login"]["token"]
            for user in USERS:
                for field in LISTS:
                    counts[(user, field)] = gql(http, document(field, True), {"year": YEAR}, tokens[user])["list"]["totalCount"]
            for _ in range(args.requests):
                for user in USERS:
                    for total in (False, True):
                        for field in LISTS:  # taking turns: the peer sees the same moment of the host
                            started = time.perf_counter()
                            gql(http, document(field, total), {"year": YEAR}, tokens[user])
                            timings.setdefault((user, field, total), []).append((time.perf_counter() - started) * 1000)
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    for user in USERS:
        print(f"\n{user}: " + ", ".join(f"{field} {counts[(user, field)]:,}" for field in LISTS))
        for total in (False, True):
            p50s = {}
            for field in LISTS:
                line, p50s[field] = summary(f"  {field}{' +totalCount' if total else ''}", timings[(user, field, total)])
                print(line)
            peer = p50s["unpaidPersons"]
            print(f"  ratio to unpaidPersons (p50): lapsed {p50s['lapsedPersons'] / peer:.2f}×, "
                  f"never enrolled {p50s['neverEnrolled'] / peer:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())

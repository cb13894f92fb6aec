"""Benchmark: quotaProgress of the county and of a township while payments stream in.

    .venv/bin/python bench/progress.py [--requests 400] [--payers 1] [--persons 600000]

Uses its own data directory (`ZHENGJIAO_BENCH_DATA_DIR`, default /tmp/zj-bench), loads the
demo county 内乡县 with `--persons` persons when it is not there yet, sets its quota table
(`load_demo_quotas`), starts the real app under uvicorn in a background thread, and logs
in as the admin (progress) and the tax bureau (payments).

`--payers` threads record payments (`recordPayment`, TAX_HALL) for unpaid persons of the
running 2027 campaign, one after another, for the whole run. Meanwhile the main thread
asks `quotaProgress(year: 2027)` for the county's top level and for a township, taking
turns, one request at a time, and times each over HTTP. At the end the figures are
checked against a recount from the enrolment rows.

Client and server share one Python process (and its GIL), as in the test suite.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from common import LOGIN, demo_county, gql, percentile, start_server  # noqa: E402

YEAR = 2027
PROGRESS = """
query($year: Int!, $parent: ID) {
  quotaProgress(year: $year, parent: $parent) { unit { id code name } target enrolled rate rank persons }
}"""
RECORD = """
mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { userErrors { code message } } }"""


async def prepare(urls, settings, payments: int) -> tuple[list[tuple[str, str]], int]:  # noqa: ANN001
    """Quotas set; (ID number, amount due) of unpaid persons, spread over the county."""
    from sqlalchemy import text

    from api.demo import TENANT_CODE
    from api.owner import owner_transaction
    from domain.progress.store import load_demo_quotas
    from tenants.onboarding import find_tenant

    async with owner_transaction(urls, settings) as db:
        tenant_id = (await find_tenant(db, TENANT_CODE))[0].id
    async with owner_transaction(urls, settings, tenant_id) as db:
        await load_demo_quotas(db, tenant_id)
        rows = await db.execute(
            text(
                """SELECT p.id_number, e.amount_due FROM enrollment e
                     JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
                    WHERE e.tenant_id = :t AND e.year = :y AND e.status = 'UNPAID' AND e.amount_due > 0
                    ORDER BY hashtext(p.id_number) LIMIT :n"""
            ),
            {"t": tenant_id, "y": YEAR, "n": payments},
        )
        return [(r.id_number, str(r.amount_due)) for r in rows], tenant_id


async def recount(urls, settings, tenant_id: int) -> int:  # noqa: ANN001
    from sqlalchemy import text

    from api.owner import owner_transaction

    async with owner_transaction(urls, settings, tenant_id) as db:
        return await db.scalar(
            text("SELECT count(*) FROM enrollment WHERE tenant_id = :t AND year = :y AND status IN ('PAID', 'SUBSIDIZED')"),
            {"t": tenant_id, "y": YEAR},
        )


class Payer(threading.Thread):
    """Records payments one after another until told to stop."""

    def __init__(self, base_url: str, token: str, persons: list[tuple[str, str]], paid_at: datetime) -> None:
        super().__init__(daemon=True)
        self.base_url, self.token, self.persons, self.paid_at = base_url, token, persons, paid_at
        self.stop = threading.Event()
        self.done = 0
        self.failed: list = []

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            for id_number, amount in self.persons:
                if self.stop.is_set():
                    return
                variables = {"input": {"idNumber": id_number, "year": YEAR, "amount": amount, "channel": "TAX_HALL",
                                       "paidAt": self.paid_at.isoformat()}}
                response = http.post("/graphql", json={"query": RECORD, "variables": variables},
                                     headers={"Authorization": f"Bearer {self.token}"})
                body = response.json()
                errors = body.get("errors") or body["data"]["recordPayment"]["userErrors"]
                if errors:
                    self.failed.append(errors)
                else:
                    self.done += 1


def summary(label: str, values: list[float]) -> str:
    values = sorted(values)
    return (f"{label:<28} p50 {percentile(values, 50):6.1f}  p95 {percentile(values, 95):6.1f}  "
            f"p99 {percentile(values, 99):6.1f}  max {values[-1]:6.1f}  mean {statistics.fmean(values):6.1f}  (n={len(values)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="progress requests (root and township alternate)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--payers", type=int, default=1, help="threads recording payments meanwhile")
    parser.add_argument("--persons", type=int, default=600_000, help="demo size when the county is not loaded yet")
    parser.add_argument("--township", default="411325100", help="the township asked for (default 城关镇)")
    args = parser.parse_args(argv)

    from api.demo import TENANT_CODE

    county = demo_county(args.persons)
    if county is None:
        return 1
    settings, urls, password = county.settings, county.urls, county.password
    persons, tenant_id = asyncio.run(prepare(urls, settings, 200_000))

    server, thread, base_url = start_server(settings, urls)
    clock = server.config.app.state.runtime.services.clock
    today = clock.today()
    if not date(2026, 9, 1) <= today <= date(2026, 12, 31):  # keep the 2027 window open
        clock.travel_to(datetime(2026, 11, 20, 4, tzinfo=UTC))
    paid_at = clock.now() - timedelta(minutes=1)
    payers: list[Payer] = []
    try:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            def login(user: str) -> str:
                data = gql(http, LOGIN, {"input": {"tenantCode": TENANT_CODE, "username": user, "password": password}})
                return data["login"]["token"]

            admin, tax = login("admin"), login("shuiwu")
            top = gql(http, PROGRESS, {"year": YEAR}, admin)["quotaProgress"]
            township = next(r["unit"] for r in top if r["unit"]["code"] == args.township)
            villages = gql(http, PROGRESS, {"year": YEAR, "parent": township["id"]}, admin)["quotaProgress"]
            share = len(persons) // max(1, args.payers)
            payers = [Payer(base_url, tax, persons[i * share:(i + 1) * share], paid_at) for i in range(args.payers)]
            before = sum(r["enrolled"] for r in top)
            for payer in payers:
                payer.start()
            time.sleep(1.0)  # payments under way before the first measurement

            def one(i: int) -> tuple[str, float]:
                parent = None if i % 2 == 0 else township["id"]
                started = time.perf_counter()
                response = http.post("/graphql", json={"query": PROGRESS, "variables": {"year": YEAR, "parent": parent}},
                                     headers={"Authorization": f"Bearer {admin}"})
                elapsed = (time.perf_counter() - started) * 1000
                body = response.json()
                if response.status_code != 200 or body.get("errors") or not body["data"]["quotaProgress"]:
                    raise RuntimeError(f"request {i} failed: {response.status_code} {body.get('errors')}")
                return ("root" if parent is None else "township"), elapsed

            for i in range(args.warmup):
                one(i)
            timings: dict[str, list[float]] = {"root": [], "township": []}
            wall = time.perf_counter()
            for i in range(args.requests):
                kind, ms = one(i)
                timings[kind].append(ms)
            wall = time.perf_counter() - wall
            for payer in payers:
                payer.stop.set()
            for payer in payers:
                payer.join(timeout=30)
            final = gql(http, PROGRESS, {"year": YEAR}, admin)["quotaProgress"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    paid = sum(p.done for p in payers)
    failed = [e for p in payers for e in p.failed]
    enrolled = sum(r["enrolled"] for r in final)
    truth = asyncio.run(recount(urls, settings, tenant_id))
    print()
    print(f"quotaProgress(year: {YEAR}), admin of {TENANT_CODE}: {sum(r['persons'] for r in final):,} persons, "
          f"{len(final)} top-level units; {township['name']} has {len(villages)} villages")
    print(f"meanwhile {paid:,} payments recorded by {len(payers)} thread(s) ({paid / wall:.0f}/s), {len(failed)} refused")
    print(f"latency ms, {args.requests} sequential requests after {args.warmup} warm-up, one connection:")
    print(summary("county top level (root)", timings["root"]))
    print(summary(f"township {township['name']}", timings["township"]))
    print(summary("both", timings["root"] + timings["township"]))
    print(f"enrolled before {before:,}, after {enrolled:,}; recount of enrolment rows {truth:,}: "
          f"{'equal' if truth == enrolled else 'DIFFERENT'}")
    return 0 if truth == enrolled and not failed else 1


if __name__ == "__main__":
    sys.exit(main())

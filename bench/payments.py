"""Benchmark: a 100,000-row channel file through importPayments, and recordPayment from 8 clients.

    .venv/bin/python bench/payments.py [--rows 100000] [--format csv|xlsx] [--requests 2000] [--clients 8]

Uses its own data directory (`ZHENGJIAO_BENCH_DATA_DIR`, default /tmp/zj-bench, the county
of bench/persons_query.py) and loads the demo county 内乡县 with `--persons` persons when
it is not there yet. Then, as the owner and outside the timed parts, it picks persons
whose 2027 enrolment is still UNPAID with something due (each run takes fresh ones: a
600,000-person county holds about five runs), reading each person's amount due.

(a) importPayments: a channel file of `--rows` rows (证件号码, 姓名, 金额, 渠道, 缴费时间,
    流水号), amounts equal to the amount due, channels 微信/支付宝/税务APP/手机银行/POS,
    unique 流水号, payment times inside the 2027 concentrated period, goes up as one GraphQL
    multipart request of the tax user `shuiwu`; the clock runs from the request to the
    response (after the commit: payments, import record, enrolments PAID, tallies).
    Prints rows, seconds, rows/s and the peak RSS of this process (server and client
    share it) during the import, then checks the tallies against a recount.
(b) recordPayment: `--clients` threads, each logged in as its own township user (created
    as `bench-<township code>` on first use), pay for persons of their township with
    CASH_AGENT and unique receipt numbers, `--requests` in all. Prints requests/s and
    p50/p95/p99 latency.

The real app (`api.app.create_app`, NOBYPASSRLS serving role) runs under uvicorn in a
background thread of this process, as in bench/persons_query.py.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from common import (  # noqa: E402
    LOGIN,
    PeakRss,
    demo_county,
    gql,
    host_speed,
    percentile,
    settle,
    start_server,
)

YEAR = 2027
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNELS = ("微信", "支付宝", "税务APP", "手机银行", "POS")
# The 2027 policy closes the field channels (cash, POS …) after the concentrated period
# (examples/policies/neixiang-2027.json channelRules): payments are dated inside it.
CONCENTRATED_END = datetime(2026, 11, 30, 20, tzinfo=SHANGHAI)
IMPORT = """
mutation($input: ImportPaymentsInput!) {
  importPayments(input: $input) {
    accepted duplicates alreadyImported rejected rowsTotal importId
    rowErrors { row code message }
    userErrors { code message }
  }
}"""
RECORD = """
mutation($input: RecordPaymentInput!) {
  recordPayment(input: $input) { payment { id status benefitStart } userErrors { code message } }
}"""
CREATE_USER = """
mutation($input: CreateUserInput!) { createUser(input: $input) { userErrors { code message } } }"""
UNITS = "{ units(first: 100) { edges { node { id code name kind } } } }"


@dataclass(frozen=True)
class Payer:
    id_number: str
    name: str
    amount: Decimal
    township: str  # unit code of the township-level unit


# --- picking persons (owner, untimed) ---------------------------------------------

_UNPAID = """
SELECT p.id_number, p.name, e.amount_due, u.code AS township
  FROM enrollment e
  JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
  JOIN unit u ON u.tenant_id = p.tenant_id AND u.path = substring(p.unit_path from '^/[0-9]+/')
 WHERE e.tenant_id = :t AND e.year = :y AND e.status = 'UNPAID' AND e.amount_due > 0
 ORDER BY hashtext(p.id_number || :salt)
 LIMIT :n
"""


async def _unpaid(settings, urls, count: int, salt: str) -> tuple[list[Payer], Path]:  # noqa: ANN001
    from sqlalchemy import text

    from api.demo import TENANT_CODE
    from api.owner import owner_transaction
    from tenants.onboarding import find_tenant

    async with owner_transaction(urls, settings) as db:
        tenant = (await find_tenant(db, TENANT_CODE))[0]
    async with owner_transaction(urls, settings, tenant.id) as db:
        await db.execute(text("SET LOCAL statement_timeout = 0"))
        rows = await db.execute(text(_UNPAID), {"t": tenant.id, "y": YEAR, "salt": salt, "n": count})
        return [Payer(r.id_number, r.name, r.amount_due, r.township) for r in rows], tenant.id


_TALLY_CHECK = """
SELECT (SELECT array_agg(x ORDER BY x) FROM (
            SELECT unit_id, paid, unpaid, subsidized, refunded FROM enrollment_tally
             WHERE tenant_id = :t AND year = :y AND (paid, unpaid, subsidized, refunded) <> (0, 0, 0, 0)) x)::text
     = (SELECT array_agg(x ORDER BY x) FROM (
            SELECT p.unit_id, count(*) FILTER (WHERE e.status = 'PAID') AS paid,
                   count(*) FILTER (WHERE e.status = 'UNPAID') AS unpaid,
                   count(*) FILTER (WHERE e.status = 'SUBSIDIZED') AS subsidized,
                   count(*) FILTER (WHERE e.status = 'REFUNDED') AS refunded
              FROM enrollment e JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
             WHERE e.tenant_id = :t AND e.year = :y GROUP BY p.unit_id) x)::text AS same,
       (SELECT count(*) FROM enrollment WHERE tenant_id = :t AND year = :y AND status = 'PAID') AS paid
"""


async def _tallies_match(settings, urls, tenant_id: int) -> tuple[bool, int]:  # noqa: ANN001
    from sqlalchemy import text

    from api.owner import owner_transaction

    async with owner_transaction(urls, settings, tenant_id) as db:
        await db.execute(text("SET LOCAL statement_timeout = 0"))
        row = (await db.execute(text(_TALLY_CHECK), {"t": tenant_id, "y": YEAR})).one()
        return row.same, row.paid


# --- the file ---------------------------------------------------------------------


def paid_times(count: int, now: datetime, rng: random.Random) -> list[datetime]:
    """Moments inside the 2027 window (from 2026-09-01) and before now, in Shanghai time."""
    start = datetime(2026, 9, 1, 8, tzinfo=SHANGHAI)
    end = min(now.astimezone(SHANGHAI) - timedelta(hours=1), CONCENTRATED_END)
    span = int((end - start).total_seconds())
    return [start + timedelta(seconds=rng.randrange(span)) for _ in range(count)]


def channel_file(payers: list[Payer], run: str, fmt: str, now: datetime) -> bytes:
    rng = random.Random(run)
    header = ["证件号码", "姓名", "金额", "渠道", "缴费时间", "流水号"]
    rows = [
        [p.id_number, p.name, f"{p.amount:.2f}", CHANNELS[n % len(CHANNELS)], moment.strftime("%Y-%m-%d %H:%M:%S"),
         f"B{run}-{n:07d}"]
        for n, (p, moment) in enumerate(zip(payers, paid_times(len(payers), now, rng)))
    ]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue().encode()
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("缴费明细")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- (a) the import ------------------------------------------------------------------


def run_import(http: httpx.Client, token: str, data: bytes, name: str) -> tuple[float, dict, PeakRss]:
    form = {
        "operations": json.dumps({"query": IMPORT, "variables": {"input": {"year": YEAR, "file": None}}}),
        "map": json.dumps({"0": ["variables.input.file"]}),
    }
    with PeakRss() as rss:
        started = time.perf_counter()
        response = http.post("/graphql", data=form, files={"0": (name, data, "application/octet-stream")},
                             headers={"Authorization": f"Bearer {token}"}, timeout=600)
        seconds = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"import failed: {response.status_code} {body.get('errors')}")
    return seconds, body["data"]["importPayments"], rss


# --- (b) recordPayment from several clients --------------------------------------------


def township_tokens(http: httpx.Client, admin: str, password: str, codes: list[str]) -> dict[str, str]:
    """A logged-in township user per township code, created on first use."""
    units = {u["node"]["code"]: u["node"]["id"] for u in gql(http, UNITS, token=admin)["units"]["edges"]}
    from api.demo import TENANT_CODE

    tokens = {}
    for code in codes:
        username = f"bench-{code}"
        login = gql(http, LOGIN, {"input": {"tenantCode": TENANT_CODE, "username": username, "password": password}})["login"]
        if login["userErrors"]:
            grant = {"username": username, "password": password, "role": "TOWNSHIP_STAFF", "scope": units[code]}
            created = gql(http, CREATE_USER, {"input": grant}, admin)["createUser"]
            if created["userErrors"]:
                raise RuntimeError(f"cannot create {username}: {created['userErrors']}")
            login = gql(http, LOGIN, {"input": {"tenantCode": TENANT_CODE, "username": username, "password": password}})["login"]
        tokens[code] = login["token"]
    return tokens


def record_payments(base_url: str, tokens: dict[str, str], work: dict[str, list[Payer]], run: str) -> tuple[float, list[float]]:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(work))

    def client(code: str, payers: list[Payer]) -> None:
        mine = []
        with httpx.Client(base_url=base_url, timeout=60) as http:
            barrier.wait()
            for n, payer in enumerate(payers):
                paid_at = min(datetime.now(SHANGHAI) - timedelta(minutes=5), CONCENTRATED_END).isoformat()
                variables = {"input": {"idNumber": payer.id_number, "year": YEAR, "amount": str(payer.amount),
                                       "channel": "CASH_AGENT", "paidAt": paid_at, "receiptNo": f"B{run}-{code}-{n}"}}
                started = time.perf_counter()
                response = http.post("/graphql", json={"query": RECORD, "variables": variables},
                                     headers={"Authorization": f"Bearer {tokens[code]}"})
                mine.append((time.perf_counter() - started) * 1000)
                payload = response.json()
                result = (payload.get("data") or {}).get("recordPayment")
                if response.status_code != 200 or payload.get("errors") or result["userErrors"]:
                    with lock:
                        failures.append(str(payload)[:300])
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(code, payers)) for code, payers in work.items()]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    if failures:
        raise RuntimeError(f"{len(failures)} recordPayment requests failed, e.g. {failures[0]}")
    return wall, sorted(latencies)


def split_by_township(payers: list[Payer], clients: int, requests: int) -> dict[str, list[Payer]]:
    """`requests` payers spread over the `clients` townships with the most of them."""
    by_township: dict[str, list[Payer]] = {}
    for payer in payers:
        by_township.setdefault(payer.township, []).append(payer)
    chosen = sorted(by_township, key=lambda code: -len(by_township[code]))[:clients]
    share = requests // len(chosen)
    return {code: by_township[code][:share] for code in chosen}


def report_import(fmt: str, result: dict, seconds: float, rss: PeakRss, same: bool, paid: int) -> None:
    from api.demo import TENANT_CODE

    print()
    print(f"(a) importPayments, {TENANT_CODE}, {YEAR}, {fmt}, user shuiwu")
    print(f"    rows {result['rowsTotal']:,}: accepted {result['accepted']:,}, duplicates {result['duplicates']:,}, "
          f"already imported {result['alreadyImported']:,}, rejected {result['rejected']:,}")
    if result["rowErrors"]:
        print(f"    first row errors: {result['rowErrors'][:3]}")
    print(f"    {seconds:.2f} s, {result['rowsTotal'] / seconds:,.0f} rows/s")
    print(f"    peak RSS of the process {rss.peak / 2**20:.0f} MB ({(rss.peak - rss.before) / 2**20:+.0f} MB over "
          f"{rss.before / 2**20:.0f} MB before the request)")
    print(f"    tallies equal a recount: {same}; {paid:,} enrolments of {YEAR} PAID", flush=True)


def report_record(work: dict[str, list[Payer]], wall: float, latencies: list[float]) -> None:
    done = len(latencies)
    print(f"(b) recordPayment, {len(work)} clients (township users, CASH_AGENT), {done:,} requests")
    print(f"    {done / wall:.0f} requests/s; latency ms p50 {percentile(latencies, 50):.1f}  "
          f"p95 {percentile(latencies, 95):.1f}  p99 {percentile(latencies, 99):.1f}  max {latencies[-1]:.1f}  "
          f"mean {statistics.fmean(latencies):.1f}", flush=True)


# --- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--requests", type=int, default=2_000, help="recordPayment requests in all (0: skip)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--persons", type=int, default=600_000, help="demo size when the county is not loaded yet")
    args = parser.parse_args(argv)

    from api.demo import TENANT_CODE

    county = demo_county(args.persons)
    if county is None:
        return 1
    settings, urls, password = county.settings, county.urls, county.password
    run = datetime.now().strftime("%m%d%H%M%S")

    started = time.perf_counter()
    extra = args.requests * 4  # the clients take theirs from the townships with most persons
    payers, tenant_id = asyncio.run(_unpaid(settings, urls, args.rows + extra, run))
    if len(payers) < args.rows + args.requests:
        print(f"only {len(payers):,} unpaid persons left for {YEAR}: load a fresh county "
              f"(another ZHENGJIAO_BENCH_DATA_DIR)", file=sys.stderr)
        return 1
    to_import, for_clients = payers[: args.rows], payers[args.rows:]
    data = channel_file(to_import, run, args.format, datetime.now(SHANGHAI))
    print(f"picked {len(payers):,} unpaid persons and built a {len(data) / 1e6:.1f} MB {args.format} file "
          f"in {time.perf_counter() - started:.1f} s (untimed)", flush=True)

    server, thread, base_url = start_server(settings, urls)
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            def login(username: str) -> str:
                payload = gql(http, LOGIN, {"input": {"tenantCode": TENANT_CODE, "username": username, "password": password}})
                if payload["login"]["userErrors"]:
                    raise RuntimeError(f"login {username}: {payload['login']['userErrors']}")
                return payload["login"]["token"]

            tax = login("shuiwu")
            settle(urls, "payment, refund, payment_import, enrollment, enrollment_tally")
            print(host_speed(), flush=True)
            seconds, result, rss = run_import(http, tax, data, f"bench-{run}.{args.format}")
            same, paid = asyncio.run(_tallies_match(settings, urls, tenant_id))
            report_import(args.format, result, seconds, rss, same, paid)
            if args.requests:
                work = split_by_township(for_clients, args.clients, args.requests)
                tokens = township_tokens(http, login("admin"), password, list(work))
                wall, latencies = record_payments(base_url, tokens, work, run)
                report_record(work, wall, latencies)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return 0 if result["rejected"] == 0 and same else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the online path against `zhengjiao serve --workers N` as its own process.

    .venv/bin/python bench/online.py [--workers 2] [--clients 8] [--requests 2000] [--reads 300]

Uses the 600,000-person demo county of the bench data directory (bench/common.py).
(a) recordPayment: `--clients` threads of this process, each a township user of its own,
    pay for unpaid persons of their township (CASH_AGENT), `--requests` in all; prints
    requests/s and latency percentiles, then checks that every payment was accepted once
    and that the tallies equal a recount.
(b) `{ __typename }` with a token and `quotaProgress(year: 2027)` (the county's first
    level, from the tally counters), one request at a time, beside two floors: the bare
    SQL round trip (`SELECT 1`) of the serving role over the database socket, and the
    same server's cheapest request that makes one (`GET /readyz`: HTTP, a pooled
    connection, one statement) over the same HTTP connection, the three HTTP requests
    in turn (a host that slows down for a while slows all three). Prints p50s and their
    ratios to both.
Targets (issue 16): (a) ≥ 300 requests/s, p95 < 60 ms with 2 workers; (b) p50 within 2×
the floor.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from common import LOGIN, demo_county, free_port, gql, host_speed, percentile, serve_process, settle  # noqa: E402
from payments import _tallies_match, _unpaid, record_payments, split_by_township, township_tokens  # noqa: E402

YEAR = 2027
PROGRESS = "query { quotaProgress(year: 2027) { unit { code } target enrolled rate rank } }"
TYPENAME = "{ __typename }"


def timed(ask, count: int) -> list[float]:  # noqa: ANN001
    return alternating([ask], count)[0]


def alternating(asks, count: int) -> list[list[float]]:  # noqa: ANN001
    """Each ask `count` times, one of each in turn, so that a host that slows down for a
    while slows them all alike; each list sorted (milliseconds)."""
    values: list[list[float]] = [[] for _ in asks]
    for _ in range(count):
        for ask, mine in zip(asks, values, strict=True):
            started = time.perf_counter()
            ask()
            mine.append((time.perf_counter() - started) * 1000)
    return [sorted(mine) for mine in values]


def floor(urls, settings, count: int) -> list[float]:  # noqa: ANN001
    """The serving role's bare round trip: what no request can go below."""
    from api.database import serving_connection_kwargs

    with psycopg.connect(urls.app, autocommit=True, **serving_connection_kwargs(settings)) as conn:
        return timed(lambda: conn.execute("SELECT 1").fetchone(), count)


def line(label: str, values: list[float]) -> str:
    return (f"{label:<30} p50 {percentile(values, 50):6.2f}  p95 {percentile(values, 95):6.2f}  "
            f"p99 {percentile(values, 99):6.2f}  mean {statistics.fmean(values):6.2f} ms  (n={len(values)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2_000, help="recordPayment requests in all (0: skip)")
    parser.add_argument("--reads", type=int, default=300, help="requests of each read")
    parser.add_argument("--persons", type=int, default=600_000)
    args = parser.parse_args(argv)

    county = demo_county(args.persons)
    if county is None:
        return 1
    settings, urls, password = county.settings, county.urls, county.password
    run = datetime.now().strftime("%m%d%H%M%S")
    payers, tenant_id = asyncio.run(_unpaid(settings, urls, args.requests * 4, run))
    port = free_port()
    server = serve_process(port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            variables = {"input": {"tenantCode": county.tenant_code, "username": "admin", "password": password}}
            admin = gql(http, LOGIN, variables)["login"]["token"]
            settle(urls, "payment, enrollment, enrollment_tally")
            print(f"zhengjiao serve --workers {args.workers}; {host_speed()}", flush=True)
            if args.requests:
                work = split_by_township(payers, args.clients, args.requests)
                tokens = township_tokens(http, admin, password, list(work))
                wall, latencies = record_payments(base, tokens, work, run)
                same, paid = asyncio.run(_tallies_match(settings, urls, tenant_id))
                print(f"(a) recordPayment, {len(work)} clients, {len(latencies):,} requests, every one accepted: "
                      f"{len(latencies) / wall:.0f} requests/s (target ≥ 300)")
                print("    " + line("latency", latencies) + " (target p95 < 60)")
                print(f"    tallies equal a recount: {same}; {paid:,} enrolments of {YEAR} PAID", flush=True)
            headers = {"Authorization": f"Bearer {admin}"}
            for _ in range(20):  # warm every worker's caches
                http.post("/graphql", json={"query": PROGRESS}, headers=headers)
            ready, typename, progress = alternating([
                lambda: http.get("/readyz"),
                lambda: http.post("/graphql", json={"query": TYPENAME}, headers=headers),
                lambda: http.post("/graphql", json={"query": PROGRESS}, headers=headers),
            ], args.reads)
            bare = floor(urls, settings, args.reads)
            print("(b) one request at a time, the three HTTP requests in turn")
            for label, values in (("floor: SELECT 1 round trip", bare), ("floor: GET /readyz", ready),
                                  ("{ __typename } with a token", typename), ("quotaProgress(year: 2027)", progress)):
                print("    " + line(label, values))
            for label, floor_p50 in (("SELECT 1", percentile(bare, 50)), ("/readyz", percentile(ready, 50))):
                print(f"    p50 / {label}: __typename {percentile(typename, 50) / floor_p50:.2f}×, "
                      f"quotaProgress {percentile(progress, 50) / floor_p50:.2f}× (target ≤ 2)")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

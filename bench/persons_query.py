"""Benchmark: one page of a township's persons, over real HTTP, with a real bearer token.

    .venv/bin/python bench/persons_query.py [--requests 500] [--persons 600000] [--user admin]

Uses its own data directory (`ZHENGJIAO_BENCH_DATA_DIR`, default /tmp/zj-bench), loads the
demo county 内乡县 with `--persons` persons when it is not there yet, starts the real app
under uvicorn on a free port in a background thread, logs in with the `login` mutation,
and sends the `persons` query one request at a time, rotating among the townships
(`filter: {unit: <township>}`, `first: 50`). Prints p50/p95/p99/max latency and requests/s.

The client and the server share one Python process (and its GIL), as in the test suite;
a separate server process would only look better.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import LOGIN, demo_county, gql, percentile, start_server  # noqa: E402

PERSONS = """
query($filter: PersonFilter, $first: Int) {
  persons(filter: $filter, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id idNumber name unit { code name } } }
  }
}"""
UNITS = "{ units(first: 100) { edges { node { id code name kind } } } }"
COUNT = "{ persons(first: 1) { totalCount } }"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--persons", type=int, default=600_000, help="demo size when the county is not loaded yet")
    parser.add_argument("--user", default="admin", help="admin rotates among all townships; chengguan stays in 城关镇")
    parser.add_argument("--first", type=int, default=50)
    args = parser.parse_args(argv)

    from api.demo import TENANT_CODE

    county = demo_county(args.persons)
    if county is None:
        return 1
    settings, urls, password = county.settings, county.urls, county.password

    server, thread, base_url = start_server(settings, urls)
    try:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            login = gql(http, LOGIN, {"input": {"tenantCode": TENANT_CODE, "username": args.user, "password": password}})
            if login["login"]["userErrors"]:
                print(f"login failed: {login['login']['userErrors']}", file=sys.stderr)
                return 1
            token = login["login"]["token"]
            units = [e["node"] for e in gql(http, UNITS, token=token)["units"]["edges"]]
            townships = [u for u in units if u["kind"] in ("TOWN", "TOWNSHIP", "STREET", "MANAGEMENT_AREA")]
            if not townships:
                print("no township visible to this user", file=sys.stderr)
                return 1
            total = gql(http, COUNT, token=token)["persons"]["totalCount"]
            sizes = {}
            for unit in townships:
                data = gql(http, PERSONS, {"filter": {"unit": unit["id"]}, "first": args.first}, token)
                sizes[unit["name"]] = data["persons"]["totalCount"]

            def one(i: int) -> float:
                unit = townships[i % len(townships)]
                body = {"query": PERSONS, "variables": {"filter": {"unit": unit["id"]}, "first": args.first}}
                started = time.perf_counter()
                response = http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
                elapsed = time.perf_counter() - started
                payload = response.json()
                if response.status_code != 200 or payload.get("errors"):
                    raise RuntimeError(f"request {i} failed: {response.status_code} {payload.get('errors')}")
                if len(payload["data"]["persons"]["edges"]) != min(args.first, sizes[unit["name"]]):
                    raise RuntimeError(f"request {i}: short page")
                return elapsed * 1000

            for i in range(args.warmup):
                one(i)
            latencies = []
            wall = time.perf_counter()
            for i in range(args.requests):
                latencies.append(one(i))
            wall = time.perf_counter() - wall
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    latencies.sort()
    print()
    print(f"persons query, {args.user} ({TENANT_CODE}), first={args.first}, {len(townships)} township(s) in rotation")
    print(f"data: {total:,} persons visible; per township {min(sizes.values()):,}–{max(sizes.values()):,}")
    print(f"requests: {args.requests} sequential after {args.warmup} warm-up, one connection")
    print(
        f"latency ms: p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
        f"p99 {percentile(latencies, 99):.1f}  max {latencies[-1]:.1f}  mean {statistics.fmean(latencies):.1f}"
    )
    print(f"throughput: {args.requests / wall:.0f} requests/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

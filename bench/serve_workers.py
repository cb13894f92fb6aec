"""Benchmark: `zhengjiao serve --workers N` as its own process, clients in this one.

    .venv/bin/python bench/serve_workers.py [--workers 1 2] [--clients 8] [--seconds 20]

For each worker count: starts `zhengjiao serve --no-migrate --workers N` on the bench
data dir (`ZHENGJIAO_BENCH_DATA_DIR`, the demo county loaded if missing), logs in as
`admin`, and has `--clients` threads send township pages (`persons(filter: {unit},
first: 50)` with `totalCount`, rotating among the townships) for `--seconds`, each on
its own keep-alive connection. Prints requests/s and latency per worker count, and the
floor: `{ __typename }` with the token, one client.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import LOGIN, demo_county, free_port, gql, host_speed, percentile, serve_process  # noqa: E402
from persons_query import PERSONS, UNITS  # noqa: E402


def load(base_url: str, token: str, towns: list[dict], clients: int, seconds: float) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        mine = []
        with httpx.Client(base_url=base_url, timeout=30) as http:
            i = k
            while time.perf_counter() < stop:
                unit = towns[i % len(towns)]
                body = {"query": PERSONS, "variables": {"filter": {"unit": unit["id"]}, "first": 50}}
                started = time.perf_counter()
                response = http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
                mine.append(time.perf_counter() - started)
                assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]
                i += clients
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def floor(base_url: str, token: str | None, n: int = 200) -> list[float]:
    timings = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for _ in range(n):
            started = time.perf_counter()
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
            timings.append(time.perf_counter() - started)
    return timings


def line(label: str, timings: list[float], seconds: float | None = None) -> str:
    ms = sorted(t * 1000 for t in timings)
    rate = f"  {len(ms) / seconds:6.1f} req/s" if seconds else ""
    return (
        f"{label:34} p50 {percentile(ms, 50):6.1f}  p95 {percentile(ms, 95):6.1f}  mean {statistics.fmean(ms):6.1f} ms"
        f"  (n={len(ms)}){rate}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--persons", type=int, default=600_000)
    args = parser.parse_args(argv)

    from api.demo import TENANT_CODE

    county = demo_county(args.persons)
    if county is None:
        return 1
    print(host_speed(), flush=True)
    for workers in args.workers:
        port = free_port()
        process = serve_process(port, workers)
        try:
            base_url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base_url, timeout=30) as http:
                login = gql(http, LOGIN, {"input": {"tenantCode": TENANT_CODE, "username": "admin", "password": county.password}})
                token = login["login"]["token"]
                units = [e["node"] for e in gql(http, UNITS, token=token)["units"]["edges"]]
            towns = [u for u in units if u["kind"] in ("TOWN", "TOWNSHIP", "STREET", "MANAGEMENT_AREA")]
            load(base_url, token, towns, args.clients, 3)  # warm every worker
            timings = load(base_url, token, towns, args.clients, args.seconds)
            print(line(f"workers {workers}, {args.clients} clients, pages", timings, args.seconds), flush=True)
            print(line(f"workers {workers}, 1 client, {{ __typename }}", floor(base_url, token)), flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

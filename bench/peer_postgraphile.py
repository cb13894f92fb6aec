"""Benchmark: a township's 50-person page on zhengjiao and on PostGraphile v4, same
database, requests alternating.

    .venv/bin/python bench/peer_postgraphile.py [--requests 300] [--persons 600000] [--township 411325100]

The peer is a bench-only tool, not a dependency of the product: `npm install` puts
`postgraphile@4` and `postgraphile-plugin-connection-filter@2` (for `unitPath:
{startsWith: …}`) under `bench/out/postgraphile` the first time. It connects as the
database superuser over the embedded server's socket (no row-level security, no rights,
no audit: a generic GraphQL layer) with `--disable-default-mutations` (a column named
`client_mutation_id` clashes with its generated mutation inputs).

zhengjiao runs as its own process (`zhengjiao serve`), as the peer does; one client
(this script) sends each request in turn: the township user's `persons(filter: {unit},
first: 50)` with `totalCount` and each person's unit, then PostGraphile's `allPeople`
with the same filter, order and fields. Both count the township's persons exactly.
Prints p50/p95/p99 of each and the ratios; then the same for `{ __typename }` on both
(zhengjiao's with the token, the least a request costs on each).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from common import LOGIN, demo_county, free_port, gql, host_speed, percentile, serve_process  # noqa: E402

PEER_DIR = ROOT / "bench" / "out" / "postgraphile"
PACKAGES = ("postgraphile@4", "postgraphile-plugin-connection-filter@2")

ZHENGJIAO = """
query($unit: ID!) {
  persons(filter: {unit: $unit}, first: 50) { totalCount edges { node { id idNumber name unit { code name } } } }
}"""
TYPENAME = {"query": "{ __typename }"}
PEER = """
query($tenant: BigInt!, $path: String!) {
  allPeople(first: 50, orderBy: [UNIT_PATH_ASC, ID_ASC],
            filter: {tenantId: {equalTo: $tenant}, unitPath: {startsWith: $path}}) {
    totalCount nodes { id idNumber name unitByTenantIdAndUnitId { code name } }
  }
}"""


def peer_binary() -> Path:
    binary = PEER_DIR / "node_modules" / ".bin" / "postgraphile"
    if not binary.exists():
        PEER_DIR.mkdir(parents=True, exist_ok=True)
        print(f"installing {' '.join(PACKAGES)} into {PEER_DIR} …", flush=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(PEER_DIR), *PACKAGES], check=True)
    return binary


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.post(url, json={"query": "{ __typename }"}, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def township(urls, code: str) -> tuple[int, str]:  # noqa: ANN001
    import psycopg

    with psycopg.connect(urls.owner) as conn:
        tenant = conn.execute("SELECT id FROM tenant WHERE code = %s", (code[:6],)).fetchone()[0]
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant),))
        path = conn.execute("SELECT path FROM unit WHERE tenant_id = %s AND code = %s", (tenant, code)).fetchone()[0]
    return tenant, path


def summary(label: str, values: list[float]) -> tuple[str, float, float]:
    values = sorted(values)
    p50, p95 = percentile(values, 50), percentile(values, 95)
    line = (f"{label:<34} p50 {p50:6.1f}  p95 {p95:6.1f}  p99 {percentile(values, 99):6.1f}  "
            f"mean {statistics.fmean(values):6.1f} ms  (n={len(values)})")
    return line, p50, p95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--persons", type=int, default=600_000, help="demo size when the county is not loaded yet")
    parser.add_argument("--township", default="411325100", help="城关镇; the chengguan account works there")
    parser.add_argument("--workers", type=int, default=1, help="zhengjiao serve --workers (where supported)")
    args = parser.parse_args(argv)
    if shutil.which("npm") is None:
        print("npm is needed for the peer", file=sys.stderr)
        return 1

    county = demo_county(args.persons)
    if county is None:
        return 1
    from api.database import start_embedded

    socket_dir = start_embedded(county.settings).split("host=", 1)[1].split("&", 1)[0]
    tenant, path = township(county.urls, args.township)
    binary = peer_binary()

    peer_port, own_port = free_port(), free_port()
    database = county.settings.database_name
    peer = subprocess.Popen(
        [str(binary), "-c", f"postgres://postgres@/{database}?host={socket_dir}", "--schema", "public",
         "--append-plugins", "postgraphile-plugin-connection-filter", "--disable-default-mutations",
         "--disable-query-log", "--host", "127.0.0.1", "--port", str(peer_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    own = serve_process(own_port, args.workers)
    try:
        peer_url = f"http://127.0.0.1:{peer_port}/graphql"
        wait_for(peer_url)
        with httpx.Client(base_url=f"http://127.0.0.1:{own_port}", timeout=30) as http, \
                httpx.Client(timeout=30) as peer_http:
            variables = {"input": {"tenantCode": county.tenant_code, "username": "chengguan", "password": county.password}}
            token = gql(http, LOGIN, variables)["login"]["token"]
            unit = gql(http, "query($c: String!) { unitByCode(code: $c) { id } }", {"c": args.township}, token)
            own_variables = {"unit": unit["unitByCode"]["id"]}
            peer_variables = {"tenant": str(tenant), "path": path}
            headers = {"Authorization": f"Bearer {token}"}

            def ask_own() -> dict:
                response = http.post("/graphql", json={"query": ZHENGJIAO, "variables": own_variables}, headers=headers)
                return response.json()["data"]["persons"]

            def ask_peer() -> dict:
                response = peer_http.post(peer_url, json={"query": PEER, "variables": peer_variables})
                return response.json()["data"]["allPeople"]

            counts = (ask_own()["totalCount"], ask_peer()["totalCount"])
            if counts[0] != counts[1]:
                raise RuntimeError(f"the two count differently: {counts}")
            for _ in range(args.warmup):
                ask_own()
                ask_peer()
            times: dict[str, list[float]] = {"zhengjiao": [], "PostGraphile": []}
            for _ in range(args.requests):
                for label, ask in (("zhengjiao", ask_own), ("PostGraphile", ask_peer)):
                    started = time.perf_counter()
                    ask()
                    times[label].append((time.perf_counter() - started) * 1000)
            # the least a GraphQL request costs on each: `{ __typename }` (zhengjiao's with
            # the token, which it checks against the database; the peer's anonymous)
            bare: dict[str, list[float]] = {"zhengjiao { __typename }": [], "PostGraphile { __typename }": []}
            for _ in range(args.requests):
                for label, ask in (("zhengjiao { __typename }", lambda: http.post("/graphql", json=TYPENAME, headers=headers)),
                                   ("PostGraphile { __typename }", lambda: peer_http.post(peer_url, json=TYPENAME))):
                    started = time.perf_counter()
                    ask()
                    bare[label].append((time.perf_counter() - started) * 1000)
    finally:
        for process in (peer, own):
            process.terminate()
            process.wait(timeout=20)

    print(f"\n{args.township}: {counts[0]:,} persons (both count them exactly); {host_speed()}")
    lines = {label: summary(label, values) for label, values in times.items()}
    for line, _, _ in lines.values():
        print(line)
    own_p50, own_p95 = lines["zhengjiao"][1:]
    peer_p50, peer_p95 = lines["PostGraphile"][1:]
    print(f"zhengjiao / PostGraphile: p50 {own_p50 / peer_p50:.2f}×, p95 {own_p95 / peer_p95:.2f}× (target ≤ 1)")
    bare_lines = {label: summary(label, values) for label, values in bare.items()}
    for line, _, _ in bare_lines.values():
        print(line)
    own_bare, peer_bare = (bare_lines[label][1] for label in bare)
    print(f"{{ __typename }}: zhengjiao / PostGraphile p50 {own_bare / peer_bare:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())

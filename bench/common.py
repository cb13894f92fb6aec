"""What every benchmark shares: its own data directory, the 600,000-person demo county,
the real app under uvicorn in a background thread, and a small GraphQL client."""
from __future__ import annotations

import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Set before any settings are read: benchmarks never touch ./.zhengjiao or the tests'.
os.environ["ZHENGJIAO_DATA_DIR"] = os.environ.get("ZHENGJIAO_BENCH_DATA_DIR", "/tmp/zj-bench")
# Passwords are hashed once for the demo accounts and verified once per login: keep it cheap.
os.environ.setdefault("ZHENGJIAO_ARGON2_TIME_COST", "1")
os.environ.setdefault("ZHENGJIAO_ARGON2_MEMORY_KIB", "8192")

import httpx  # noqa: E402

LOGIN = """
mutation($input: LoginInput!) { login(input: $input) { token userErrors { code message } } }"""


@dataclass(frozen=True)
class DemoCounty:
    settings: Any  # api.settings.Settings
    urls: Any  # api.database.DatabaseUrls
    password: str  # of the demo accounts
    tenant_code: str


def demo_county(persons: int) -> DemoCounty | None:
    """The bench data dir's demo county, loaded with `persons` persons if not there yet."""
    from api.database import resolve_urls
    from api.demo import DEFAULT_PASSWORD, TENANT_CODE, run_demo
    from api.settings import get_settings

    settings = get_settings()
    print(f"data dir {settings.data_dir}", flush=True)
    urls = resolve_urls(settings)
    if run_demo(persons=persons, if_empty=True, seed=411325, settings=settings, urls=urls) != 0:
        return None
    password = os.environ.get("ZHENGJIAO_DEMO_PASSWORD") or DEFAULT_PASSWORD
    return DemoCounty(settings, urls, password, TENANT_CODE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(settings, urls):  # noqa: ANN001
    import uvicorn

    from api.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings, urls), host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def gql(http: httpx.Client, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


class PeakRss:
    """Peak resident memory of this process while running: the kernel's high-water mark
    (reset through /proc/self/clear_refs), with a 10 ms sampler where that is refused."""

    def __init__(self) -> None:
        self.peak = 0
        self.before = 0
        self._running = False
        self._thread: threading.Thread | None = None

    @staticmethod
    def _status(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def __enter__(self) -> PeakRss:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        except OSError:
            pass
        self.before = self.peak = self._status("VmRSS")
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self._status("VmRSS"))
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self._running = False
        if self._thread:
            self._thread.join()
        self.peak = max(self.peak, self._status("VmHWM"))


def settle(urls, tables: str) -> None:  # noqa: ANN001
    """`VACUUM (ANALYZE)` the tables a timed run writes: what autovacuum does between two
    uploads or imports hours apart, and what would otherwise run during the next one."""
    import psycopg

    with psycopg.connect(urls.owner, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute(f"VACUUM (ANALYZE) {tables}")


def host_speed() -> str:
    """A fixed CPU-only Python workload, timed (best of 3): the machines these scripts run
    on are shared, and one busy elsewhere runs everything slower. Printed beside the
    figures so runs on different days can be compared (bench/README.md)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i % 7
        best = min(best, time.perf_counter() - started)
    return f"host speed: {best * 1000:.0f} ms for the reference loop (lower is faster)"


def serve_process(port: int, workers: int = 1, seconds: float = 90):  # noqa: ANN201 (subprocess.Popen)
    """`zhengjiao serve` as a process of its own on the bench data directory (already
    migrated by `demo_county`), once it answers /livez."""
    import subprocess

    command = [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers)]
    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + seconds
    while time.time() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("zhengjiao serve did not start")

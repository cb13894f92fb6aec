"""`GET /metrics`: the Prometheus exposition (the metrics are in tenants/metrics.py).

Who may read it: in production only a scraper with `Authorization: Bearer
$ZHENGJIAO_METRICS_TOKEN`, and nobody (404) when no token is set; in development
anyone, unless a token is set. Several workers (`zhengjiao serve --workers N`) share
PROMETHEUS_MULTIPROC_DIR and a scrape of any one of them adds up all.
"""
from __future__ import annotations

import hmac
import os
import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(default_dir: Path) -> Path:
    """Before the workers start (and before prometheus_client is imported): a fresh
    directory for their value files, the operator's PROMETHEUS_MULTIPROC_DIR or ours.
    Files of an earlier run would be added to this one's, so they go."""
    directory = Path(os.environ.get(MULTIPROC_ENV) or default_dir)
    if directory.exists():
        for stale in directory.glob("*.db"):
            stale.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def process_ended() -> None:
    """A worker's live gauges (the pool) leave the sums when it stops."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(os.getpid())


def exposition() -> bytes:
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client import multiprocess as mp

    if not multiprocess():
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    mp.MultiProcessCollector(registry)
    return generate_latest(registry)


def allowed(request: Request, token: str | None, production: bool) -> bool | None:
    """True: serve; False: 401; None: 404 (metrics are off)."""
    if not token:
        return None if production else True
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_routes(runtime) -> list[Route]:  # noqa: ANN001 (api.app.Runtime)
    from prometheus_client import CONTENT_TYPE_LATEST

    from tenants import metrics

    async def endpoint(request: Request) -> Response:
        verdict = allowed(request, runtime.settings.metrics_token, runtime.settings.production)
        if verdict is None:
            return PlainTextResponse("Not Found", status_code=404)
        if not verdict:
            return PlainTextResponse("Unauthorized", status_code=401, headers={"www-authenticate": "Bearer"})
        if runtime.pool is not None:
            metrics.pool_state(runtime.pool.get_stats())
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", endpoint)]


def time_statements(engine) -> None:  # noqa: ANN001 (AsyncEngine)
    """Every SQL statement's duration into zhengjiao_db_statement_seconds."""
    from sqlalchemy import event

    from tenants import metrics

    def before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        conn.info["statement_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        started = conn.info.pop("statement_started", None)
        if started is not None:
            metrics.DB_STATEMENT_SECONDS.observe(time.perf_counter() - started)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)

"""The Prometheus metrics of the platform (exposed at /metrics by api/metrics.py).

Labels are closed sets: the schema's root fields, outcomes, error codes, file
operations, the county's code. Never a person, an ID number, a username, or a value
a caller may choose (a client's `operationName`, an unknown county's code).

With PROMETHEUS_MULTIPROC_DIR set before this module is imported (`zhengjiao serve
--workers N` sets it), every worker writes its values to files there and a scrape of
any worker adds them up.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from tenants.observe import RequestRecord

# Seconds: from a cached look-up to a 600,000-row file.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
STATEMENT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15)

GRAPHQL_REQUESTS = Counter(
    "zhengjiao_graphql_requests", "GraphQL requests by root field and outcome", ["type", "operation", "outcome"]
)
GRAPHQL_SECONDS = Histogram(
    "zhengjiao_graphql_request_seconds", "Wall time of GraphQL requests", ["operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
TENANT_REQUESTS = Counter("zhengjiao_tenant_requests", "GraphQL requests of signed-in county users, per county", ["tenant"])
TENANT_SECONDS = Counter("zhengjiao_tenant_request_seconds", "Seconds spent on a county's GraphQL requests", ["tenant"])
USER_ERRORS = Counter("zhengjiao_user_errors", "userErrors returned, per mutation and code", ["operation", "code"])
LOGIN_FAILURES = Counter(
    "zhengjiao_login_failures", "Failed logins: invalid (password checked) or throttled (refused unchecked)",
    ["tenant", "reason"],
)
LOGIN_LOCKS = Counter("zhengjiao_login_locks", "Locks started by failed logins, per account or client address", ["subject"])
FILES = Counter("zhengjiao_files", "Uploaded and imported files, per operation and outcome", ["operation", "outcome"])
FILE_ROWS = Counter(
    "zhengjiao_file_rows", "Rows of uploaded and imported files, accepted or rejected", ["operation", "tenant", "result"]
)
FILE_SECONDS = Histogram(
    "zhengjiao_file_seconds", "Time to check and write one uploaded or imported file", ["operation"],
    buckets=LATENCY_BUCKETS,
)
DB_POOL = Gauge(
    "zhengjiao_db_pool_connections", "Serving pool: size, in_use, idle, and requests waiting for a connection",
    ["state"], multiprocess_mode="livesum",
)
DB_STATEMENT_SECONDS = Histogram("zhengjiao_db_statement_seconds", "Time of SQL statements", buckets=STATEMENT_BUCKETS)

# County code of a login that named no county or one that does not exist.
PLATFORM, UNKNOWN = "(platform)", "(unknown)"


def graphql_request_done(record: RequestRecord) -> None:
    seconds = record.seconds()
    outcome = record.outcome or "ok"
    GRAPHQL_REQUESTS.labels(record.operation_type, record.operation, outcome).inc()
    GRAPHQL_SECONDS.labels(record.operation, outcome).observe(seconds)
    if record.tenant:
        TENANT_REQUESTS.labels(record.tenant).inc()
        TENANT_SECONDS.labels(record.tenant).inc(seconds)


def user_errors(operation: str, codes: list[str]) -> None:
    for code in codes:
        USER_ERRORS.labels(operation, code).inc()


def login_failed(tenant: str, reason: str) -> None:
    LOGIN_FAILURES.labels(tenant, reason).inc()


def login_locked(subject: str) -> None:
    LOGIN_LOCKS.labels(subject).inc()


def file_done(operation: str, tenant: str | None, seconds: float, report: object | None, refused: bool) -> None:
    """One upload or import; `report` is its row count report (None when refused whole)."""
    FILES.labels(operation, "refused" if refused else "ok").inc()
    FILE_SECONDS.labels(operation).observe(seconds)
    if report is None:
        return
    accepted = getattr(report, "rows_accepted", getattr(report, "accepted", 0)) or 0
    rejected = getattr(report, "rows_rejected", getattr(report, "rejected", 0)) or 0
    tenant = tenant or UNKNOWN
    FILE_ROWS.labels(operation, tenant, "accepted").inc(accepted)
    FILE_ROWS.labels(operation, tenant, "rejected").inc(rejected)


def pool_state(stats: dict[str, int]) -> None:
    """psycopg_pool's get_stats()."""
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    DB_POOL.labels("size").set(size)
    DB_POOL.labels("in_use").set(size - idle)
    DB_POOL.labels("idle").set(idle)
    DB_POOL.labels("waiting").set(stats.get("requests_waiting", 0))

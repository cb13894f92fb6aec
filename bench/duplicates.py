"""Benchmark: what the cross-county duplicate check (重复参保) adds to recordPayment and importPayments.

    ZHENGJIAO_BENCH_DATA_DIR=/tmp/zj-bench-dup .venv/bin/python bench/duplicates.py \
        [--persons 100000] [--other 0.01] [--requests 200] [--rows 5000] [--rounds 4]

The check is the triggers of migration 0016a on `enrollment`: an enrolment change writes
the person's fingerprint (HMAC-SHA256 of the ID number) and looks it up among the other
counties' fingerprints of the year, opening a case on both sides on a match; the payload
then reads the cases this transaction opened (`warnings`). Measured by switching the
triggers off and on (`ALTER TABLE enrollment DISABLE/ENABLE TRIGGER`, as the owner,
untimed) between alternating rounds of the same work, on the same data:

- a second county ("elsewhere") is made once, as the owner: it registers and enrols
  (PAID) `--other` of the demo county's unpaid persons, so that share of what the bench
  pays is a real duplicate (fingerprint match, two cases, one warning);
- (a) recordPayment: `--requests` payments per round, one client, sequential (latency,
  not throughput), a township user; prints median and mean latency on and off, the
  difference in ms and the ratio;
- (b) importPayments: a `--rows`-row channel file per round (tax user `shuiwu`); prints
  seconds on and off and the ratio;
- (c) server-side, without HTTP noise: the time PostgreSQL reports for the trigger
  (`EXPLAIN ANALYZE`, rolled back) when one person's enrolment becomes PAID (`--probes`
  times) and when `--rows` persons' do at once;
- (d) in the imports themselves: the triggers' own time in each file with the check on
  (`track_functions`, set for the serving role through the embedded server's superuser;
  skipped with `DATABASE_URL`), against the same run's files without it. The wall-clock
  ratio of (b) moves by ±20 % between neighbouring rounds on a shared host; this one does
  not.

Rounds alternate on, off, off, on … (after an untimed warm-up with the check on), and the
ratios are taken per pair of neighbouring rounds: the host these run on is shared, and
its speed moves within minutes (the reference loop is printed).

Data size printed: persons of the demo county, fingerprints in the table (all counties),
and matches found.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("ZHENGJIAO_BENCH_DATA_DIR", "/tmp/zj-bench-dup")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from common import LOGIN, demo_county, gql, host_speed, settle, start_server  # noqa: E402
from payments import (  # noqa: E402
    CONCENTRATED_END,
    SHANGHAI,
    YEAR,
    Payer,
    _unpaid,
    channel_file,
    township_tokens,
)

OTHER_CODE = "990001"
TRIGGERS = ("enrollment_match_inserted", "enrollment_match_updated", "enrollment_match_deleted")
RECORD = """
mutation($input: RecordPaymentInput!) {
  recordPayment(input: $input) { payment { id status } userErrors { code message } warnings { code } }
}"""
IMPORT = """
mutation($input: ImportPaymentsInput!) {
  importPayments(input: $input) { accepted rejected rowsTotal warnings { code } userErrors { code message } }
}"""


# --- the other county (owner, untimed) ---------------------------------------------------


async def _elsewhere(settings, urls, demo_tenant: int, payers: list[Payer]) -> int:  # noqa: ANN001
    """A second county enrolling (PAID) the given persons of the demo county for YEAR."""
    from sqlalchemy import text

    from api.owner import owner_transaction

    async with owner_transaction(urls, settings, demo_tenant) as db:
        rows = (await db.execute(
            text("SELECT id_number, name, birth_date, sex FROM person WHERE tenant_id = :t AND id_number = ANY(:n)"),
            {"t": demo_tenant, "n": [p.id_number for p in payers]},
        )).all()
    async with owner_transaction(urls, settings) as db:
        other = await db.scalar(text("SELECT id FROM tenant WHERE code = :c"), {"c": OTHER_CODE})
        if other is None:
            other = await db.scalar(
                text("INSERT INTO tenant (code, name) VALUES (:c, '比对县（基准）') RETURNING id"), {"c": OTHER_CODE}
            )
    async with owner_transaction(urls, settings, other) as db:
        await db.execute(text("SET LOCAL statement_timeout = 0"))
        unit = await db.scalar(text("SELECT id FROM unit WHERE tenant_id = :t AND code = :c"), {"t": other, "c": OTHER_CODE + "001"})
        if unit is None:
            unit = await db.scalar(
                text("INSERT INTO unit (tenant_id, code, name, kind, path, depth) VALUES (:t, :c, '比对村', 'VILLAGE', '/', 1)"
                     " RETURNING id"), {"t": other, "c": OTHER_CODE + "001"},
            )
            await db.execute(text("UPDATE unit SET path = '/' || id || '/' WHERE tenant_id = :t AND id = :u"), {"t": other, "u": unit})
        await db.execute(
            text(
                """INSERT INTO person (tenant_id, id_number, name, birth_date, sex, unit_id, unit_path)
                   SELECT :t, n, m, b, s, :u, '/' || :u || '/'
                     FROM unnest(CAST(:n AS text[]), CAST(:m AS text[]), CAST(:b AS date[]), CAST(:s AS text[])) AS x(n, m, b, s)
                   ON CONFLICT DO NOTHING"""
            ),
            {"t": other, "u": unit, "n": [r.id_number for r in rows], "m": [r.name for r in rows],
             "b": [r.birth_date for r in rows], "s": [r.sex for r in rows]},
        )
        # enrolled there a month before the campaign here: the triggers fingerprint them
        await db.execute(
            text(
                """INSERT INTO enrollment (tenant_id, person_id, year, status, amount_due, paid_amount, subsidy_amount,
                                           reimbursement_due, benefit_start, computed_at)
                   SELECT :t, p.id, :y, 'PAID', 400, 400, 0, 0, make_date(:y, 1, 1), now()
                     FROM person p WHERE p.tenant_id = :t
                   ON CONFLICT DO NOTHING"""
            ),
            {"t": other, "y": YEAR},
        )
    return other


def _owner_sql(urls, statement: str, params: tuple = ()):  # noqa: ANN001, ANN202
    import psycopg

    with psycopg.connect(urls.owner, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall() if statement.lstrip().upper().startswith("SELECT") else \
            conn.execute(statement, params)


def set_check(urls, on: bool) -> None:  # noqa: ANN001
    verb = "ENABLE" if on else "DISABLE"
    for trigger in TRIGGERS:
        _owner_sql(urls, f"ALTER TABLE enrollment {verb} TRIGGER {trigger}")


def track_functions(settings, urls, on: bool) -> bool:  # noqa: ANN001
    """Count the PL/pgSQL functions' time for the serving role (new connections)."""
    import psycopg

    from api.database import start_embedded

    if settings.database_url:
        return False
    app_role = psycopg.conninfo.conninfo_to_dict(urls.app)["user"]
    with psycopg.connect(start_embedded(settings), autocommit=True) as conn:
        if on:
            conn.execute(f'ALTER ROLE "{app_role}" SET track_functions = \'pl\'')
        else:
            conn.execute(f'ALTER ROLE "{app_role}" RESET track_functions')
    return True


def trigger_seconds(urls) -> float:  # noqa: ANN001
    """The duplicate check's triggers' time so far (all their calls, since the server started)."""
    time.sleep(1.2)  # a backend flushes its function statistics at most once a second
    rows = _owner_sql(
        urls,
        "SELECT coalesce(sum(total_time), 0) FROM pg_stat_user_functions"
        " WHERE funcname IN ('match_enrollment_inserted', 'match_enrollment_updated', 'match_enrollment_deleted')",
    )
    return float(rows[0][0]) / 1000


def fingerprints(urls) -> int:  # noqa: ANN001
    return _owner_sql(urls, "SELECT count(*) FROM enrolment_fingerprint")[0][0]


# --- the timed parts -------------------------------------------------------------------------


def record_round(http: httpx.Client, token: str, payers: list[Payer], tag: str) -> tuple[list[float], int]:
    latencies, warned = [], 0
    paid_at = min(datetime.now(SHANGHAI) - timedelta(minutes=5), CONCENTRATED_END).isoformat()
    for n, payer in enumerate(payers):
        variables = {"input": {"idNumber": payer.id_number, "year": YEAR, "amount": str(payer.amount),
                               "channel": "CASH_AGENT", "paidAt": paid_at, "receiptNo": f"D{tag}-{n}"}}
        started = time.perf_counter()
        response = http.post("/graphql", json={"query": RECORD, "variables": variables},
                             headers={"Authorization": f"Bearer {token}"})
        latencies.append((time.perf_counter() - started) * 1000)
        result = response.json()["data"]["recordPayment"]
        if result["userErrors"]:
            raise RuntimeError(f"recordPayment refused: {result['userErrors']}")
        warned += len(result["warnings"])
    return latencies, warned


def import_round(http: httpx.Client, token: str, data: bytes, name: str) -> tuple[float, dict]:
    form = {
        "operations": json.dumps({"query": IMPORT, "variables": {"input": {"year": YEAR, "file": None}}}),
        "map": json.dumps({"0": ["variables.input.file"]}),
    }
    started = time.perf_counter()
    response = http.post("/graphql", data=form, files={"0": (name, data, "application/octet-stream")},
                         headers={"Authorization": f"Bearer {token}"}, timeout=600)
    seconds = time.perf_counter() - started
    body = response.json()
    if body.get("errors") or body["data"]["importPayments"]["userErrors"]:
        raise RuntimeError(f"import failed: {body}")
    return seconds, body["data"]["importPayments"]


_PROBE = """
EXPLAIN (ANALYZE) UPDATE enrollment SET previous_status = status, status = 'PAID'
 WHERE tenant_id = %s AND year = %s AND person_id = ANY(%s)
"""


def trigger_ms(urls, tenant_id: int, sizes: list[int]) -> list[float]:  # noqa: ANN001
    """The trigger's own time for enrolments of `sizes` persons becoming PAID, each rolled back."""
    import re

    import psycopg

    found = []
    with psycopg.connect(urls.owner) as conn:
        for size in sizes:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
            conn.execute("SET LOCAL statement_timeout = 0")
            ids = [r[0] for r in conn.execute(
                "SELECT person_id FROM enrollment WHERE tenant_id = %s AND year = %s AND status = 'UNPAID'"
                " ORDER BY random() LIMIT %s", (tenant_id, YEAR, size))]
            plan = "\n".join(r[0] for r in conn.execute(_PROBE, (tenant_id, YEAR, ids)))
            match = re.search(r"Trigger enrollment_match_updated: time=([0-9.]+)", plan)
            found.append(float(match.group(1)) if match else float("nan"))
            conn.rollback()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000, help="demo size when the county is not loaded yet")
    parser.add_argument("--other", type=float, default=0.01, help="share of the paid persons enrolled elsewhere too")
    parser.add_argument("--requests", type=int, default=200, help="recordPayment requests per round")
    parser.add_argument("--rows", type=int, default=5_000, help="rows of each round's channel file")
    parser.add_argument("--rounds", type=int, default=4, help="rounds with the check, and as many without")
    parser.add_argument("--probes", type=int, default=50, help="server-side one-person trigger timings")
    args = parser.parse_args(argv)

    from api.demo import TENANT_CODE

    county = demo_county(args.persons)
    if county is None:
        return 1
    settings, urls, password = county.settings, county.urls, county.password
    run = datetime.now().strftime("%m%d%H%M%S")
    rounds = 2 * args.rounds
    # one township's persons for the sequential client, then the files
    payers, tenant_id = asyncio.run(
        _unpaid(settings, urls, (args.requests + 50) * rounds * 20 + args.rows * (rounds + 1), run)
    )
    by_township: dict[str, list[Payer]] = {}
    for payer in payers:
        by_township.setdefault(payer.township, []).append(payer)
    township = max(by_township, key=lambda code: len(by_township[code]))
    clerk = by_township[township][: args.requests * rounds + 50]
    rest = [p for p in payers if p.township != township][: args.rows * (rounds + 1)]
    if len(clerk) < args.requests * rounds + 50 or len(rest) < args.rows * (rounds + 1):
        print("not enough unpaid persons left: use a fresh ZHENGJIAO_BENCH_DATA_DIR", file=sys.stderr)
        return 1
    step = max(1, round(1 / args.other)) if args.other > 0 else 0
    shared = (clerk[::step] + rest[::step]) if step else []
    started = time.perf_counter()
    asyncio.run(_elsewhere(settings, urls, tenant_id, shared))
    print(f"county {TENANT_CODE}: {args.persons:,} persons (if loaded now); another county enrols {len(shared):,} of the "
          f"persons paid below ({args.other:.0%}); {fingerprints(urls):,} fingerprints in the table "
          f"(untimed set-up {time.perf_counter() - started:.1f} s)", flush=True)

    tracked = track_functions(settings, urls, True)
    server, thread, base_url = start_server(settings, urls)
    in_file: list[float] = []
    on_ms: list[float] = []
    off_ms: list[float] = []
    on_s: list[float] = []
    off_s: list[float] = []
    warned = 0
    medians: list[tuple[bool, float]] = []
    seconds_by_round: list[tuple[bool, float]] = []
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            def login(username: str) -> str:
                return gql(http, LOGIN, {"input": {"tenantCode": TENANT_CODE, "username": username,
                                                   "password": password}})["login"]["token"]

            tax = login("shuiwu")
            clerk_token = township_tokens(http, login("admin"), password, [township])[township]
            settle(urls, "payment, refund, enrollment, enrollment_tally, enrolment_fingerprint, duplicate_case")
            print(host_speed(), flush=True)
            # warm-up, untimed: plans and caches of both paths
            set_check(urls, True)
            record_round(http, clerk_token, clerk[-50:], f"{run}-w")
            warm = channel_file(rest[-args.rows:], f"{run}w", "csv", datetime.now(SHANGHAI))
            import_round(http, tax, warm, f"dup-{run}-w.csv")
            for n in range(rounds):
                on = n % 4 in (0, 3)  # on, off, off, on, on, off …
                set_check(urls, on)
                part = clerk[n * args.requests:(n + 1) * args.requests]
                latencies, warnings = record_round(http, clerk_token, part, f"{run}-{n}")
                medians.append((on, statistics.median(latencies)))
                (on_ms if on else off_ms).extend(latencies)
                warned += warnings
                data = channel_file(rest[n * args.rows:(n + 1) * args.rows], f"{run}{n}", "csv", datetime.now(SHANGHAI))
                before = trigger_seconds(urls) if tracked and on else 0.0
                seconds, result = import_round(http, tax, data, f"dup-{run}-{n}.csv")
                if tracked and on:
                    in_file.append(trigger_seconds(urls) - before)
                (on_s if on else off_s).append(seconds)
                seconds_by_round.append((on, seconds))
                warned += len(result["warnings"])
                print(f"  round {n + 1} check {'on ' if on else 'off'}: recordPayment median "
                      f"{statistics.median(latencies):.1f} ms; importPayments {result['rowsTotal']:,} rows "
                      f"{seconds:.2f} s, {len(result['warnings']):,} warnings", flush=True)
    finally:
        set_check(urls, True)
        if tracked:
            track_functions(settings, urls, False)
        server.should_exit = True
        thread.join(timeout=10)

    def pairs(values: list[tuple[bool, float]]) -> list[tuple[float, float]]:
        """(with, without) of neighbouring rounds: 1 and 2, 3 and 4 …"""
        return [
            (a if a_on else b, b if a_on else a)
            for (a_on, a), (_, b) in zip(values[0::2], values[1::2])
        ]

    record_pairs, import_pairs = pairs(medians), pairs(seconds_by_round)
    added = statistics.median([on - off for on, off in record_pairs])
    print(f"(a) recordPayment, {len(on_ms):,} with the check, {len(off_ms):,} without, one client, sequential:")
    print(f"    median {statistics.median(on_ms):.1f} ms vs {statistics.median(off_ms):.1f} ms; per pair of rounds "
          f"added {', '.join(f'{on - off:+.1f}' for on, off in record_pairs)} ms, median {added:+.2f} ms "
          f"(target < 2 ms)")
    ratios = [on / off for on, off in import_pairs]
    print(f"(b) importPayments, {args.rows:,} rows per file: {statistics.fmean(on_s):.2f} s with the check, "
          f"{statistics.fmean(off_s):.2f} s without; per pair {', '.join(f'{r:.3f}' for r in ratios)}, "
          f"median ratio {statistics.median(ratios):.3f} (target < 1.10)")
    one = trigger_ms(urls, tenant_id, [1] * args.probes)
    bulk = trigger_ms(urls, tenant_id, [args.rows] * 3)
    print(f"(c) server-side trigger time: one person PAID median {statistics.median(one[1:]):.2f} ms "
          f"(p90 {sorted(one[1:])[int(0.9 * (len(one) - 1))]:.2f} ms, {args.probes} probes); {args.rows:,} persons at once "
          f"{', '.join(f'{ms / 1000:.2f}' for ms in bulk)} s")
    if in_file:
        check, without = statistics.median(in_file), statistics.median(off_s)
        print(f"(d) in the files: the check's triggers took {', '.join(f'{1000 * s:.0f}' for s in in_file)} ms of each "
              f"{args.rows:,}-row file with it (median {1000 * check:.0f} ms); a file without it took "
              f"{1000 * without:.0f} ms: the check adds {check / without:.1%} (target < 10 %)")
    print(f"    warnings returned {warned:,}; fingerprints now {fingerprints(urls):,}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

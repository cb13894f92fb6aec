"""Benchmark: a 100,000-row subsidy list uploaded over real HTTP, first and re-submitted.

    .venv/bin/python bench/subsidy_upload.py [--rows 100000] [--rounds 1] [--user minzheng] [--category dibao]

Uses its own data directory (`ZHENGJIAO_BENCH_DATA_DIR`, default /tmp/zj-bench, the same
county as bench/persons_query.py), loads the demo county 内乡县 with `--persons` persons
when it is not there yet, and builds two .xlsx lists of the 2027 category (姓名, 证件号码,
村/社区, 认定日期, 备注) outside the timed part:

- version 1: `--rows` rows, persons of the county, a few hundred not registered yet
  (pending) and a handful of bad rows (check character, date, missing number, another
  name, twice in the file, recognised after the cutoff);
- version 2: the same list with 5 % of the rows replaced by other persons.

Before each round the category's lists are cleared as the owner (untimed), so version 1
really is the first. Then the real app (`api.app.create_app`, the NOBYPASSRLS serving
role) runs under uvicorn in a background thread, the department user logs in, and each
file goes up as one GraphQL multipart `uploadSubsidyList` request; the clock runs from
the request to the response, which comes after the commit (batch, entries, membership,
enrolments recomputed). Prints rows, seconds, rows/s and the peak RSS of this process
(server and client share it) during each upload.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from common import LOGIN, PeakRss, demo_county, gql, host_speed, settle, start_server  # noqa: E402

YEAR = 2027
PENDING = 300  # listed, not registered (yet)
UNREGISTERED_REGION = "411329"  # a region code the demo county never uses
UPLOAD = """
mutation($input: UploadSubsidyListInput!) {
  uploadSubsidyList(input: $input) {
    batch { id version rowsTotal rowsAccepted rowsRejected added removed pending dryRun }
    rowErrors { row code }
    userErrors { code message }
  }
}"""
ENROLLMENT = "query($id: String!) { person(idNumber: $id) { enrollment(year: 2027) { subsidyCategory } } }"
HEADER = ["姓名", "证件号码", "村/社区", "认定日期", "备注"]
RECOGNIZED = datetime(2026, 8, 20)


@dataclass(frozen=True)
class Listed:
    name: str
    id_number: str
    village: str


@dataclass
class Lists:
    first: bytes
    second: bytes
    rows: int
    bad: int
    pending: int
    replaced: int
    sample: str  # a registered person on both versions


# --- the lists (generated, not timed) -----------------------------------------


def _pending_persons(count: int, rng: random.Random) -> list[Listed]:
    from domain.persons.idnumber import make_id_number

    persons = []
    for i in range(count):
        born = date(1940 + rng.randrange(70), 1 + rng.randrange(12), 1 + rng.randrange(28))
        persons.append(Listed(f"待登记{i}", make_id_number(UNREGISTERED_REGION, born, i % 1000), "张庄村"))
    return persons


def _bad_rows(a: Listed, b: Listed, c: Listed) -> list[list]:
    """One of each row error, so the error path runs at full size. a, b, c: registered
    persons on no other row. c comes twice: the first is accepted, the second is not."""
    from domain.persons.idnumber import make_id_number

    broken = a.id_number[:-1] + ("0" if a.id_number[-1] != "0" else "1")
    return [
        [a.name, broken, a.village, RECOGNIZED, "check character"],
        [b.name, b.id_number[:6] + "19991399" + b.id_number[14:], b.village, RECOGNIZED, "impossible date"],
        ["无号码", "", c.village, RECOGNIZED, "no ID number"],
        ["别人", b.id_number, b.village, RECOGNIZED, "another name"],
        [c.name, c.id_number, c.village, RECOGNIZED, ""],
        [c.name, c.id_number, c.village, RECOGNIZED, "twice in the file"],
        ["晚认定", make_id_number(UNREGISTERED_REGION, date(1966, 6, 6), 999), "", datetime(2027, 1, 5), "after the cutoff"],
        ["坏日期", make_id_number(UNREGISTERED_REGION, date(1966, 6, 6), 998), "", "明天", "bad date"],
    ]


BAD_ROWS = 7  # rows of _bad_rows that are refused


def _xlsx(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("名单")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _row(person: Listed, note: str = "") -> list:
    return [person.name, person.id_number, person.village, RECOGNIZED, note]


def build_lists(registered: list[Listed], rows: int, seed: int = 411325) -> Lists:
    """Version 1, and version 2 with 5 % of the registered rows swapped for persons on
    no list (`registered` holds `rows + rows // 20 + 3` persons)."""
    rng = random.Random(seed)
    bad = _bad_rows(*registered[:3])
    listed = rows - PENDING - len(bad)
    good, spare = registered[3 : 3 + listed], registered[3 + listed :]
    persons = good + _pending_persons(PENDING, rng)
    rng.shuffle(persons)
    first = [_row(p) for p in persons]
    registered_rows = [i for i, p in enumerate(persons) if p.id_number[:6] != UNREGISTERED_REGION]
    swap = set(rng.sample(registered_rows, min(len(spare), rows * 5 // 100)))
    spares = iter(spare)
    second = [_row(next(spares), "新增") if i in swap else row for i, row in enumerate(first)]
    sample = persons[next(i for i in registered_rows if i not in swap)].id_number

    def with_bad(body: list[list]) -> bytes:  # bad rows early: among the reported ones
        return _xlsx(body[:1000] + bad + body[1000:])

    return Lists(with_bad(first), with_bad(second), rows, BAD_ROWS, PENDING, len(swap), sample)


# --- owner-side setup ---------------------------------------------------------


async def _persons(urls, settings, count: int) -> list[Listed]:  # noqa: ANN001
    """`count` persons of the county in a stable pseudo-random order."""
    from sqlalchemy import text

    from api.demo import TENANT_CODE
    from api.owner import owner_transaction
    from tenants.onboarding import find_tenant

    async with owner_transaction(urls, settings) as db:
        tenant, _ = await find_tenant(db, TENANT_CODE)
        await db.bind_tenant(tenant.id)
        rows = await db.execute(
            text(
                """SELECT p.name, p.id_number, u.name AS village FROM person p
                     JOIN unit u ON u.tenant_id = p.tenant_id AND u.id = p.unit_id
                    WHERE p.tenant_id = :t ORDER BY hashtext(p.id_number || 'bench'), p.id LIMIT :n"""
            ),
            {"t": tenant.id, "n": count},
        )
        return [Listed(r.name, r.id_number, r.village) for r in rows]


async def _clear_lists(urls, settings, category: str) -> int:  # noqa: ANN001
    """Forget the category's lists (batches, entries, members) and recompute the members'
    enrolments, so the next upload is version 1. Bench data only."""
    from sqlalchemy import text

    from api.demo import TENANT_CODE
    from api.owner import owner_transaction
    from domain.enrollment.store import recompute_selected_id_numbers
    from tenants.onboarding import find_tenant

    async with owner_transaction(urls, settings) as db:
        await db.execute(text("SET LOCAL statement_timeout = 0"))
        tenant, _ = await find_tenant(db, TENANT_CODE)
        await db.bind_tenant(tenant.id)
        key = {"t": tenant.id, "y": YEAR, "c": category}
        await db.execute(
            text(
                """CREATE TEMP TABLE bench_cleared ON COMMIT DROP AS
                   SELECT id_number FROM subsidy_membership WHERE tenant_id = :t AND year = :y AND category_code = :c"""
            ),
            key,
        )
        await db.execute(text("DELETE FROM subsidy_membership WHERE tenant_id = :t AND year = :y AND category_code = :c"), key)
        await db.execute(
            text(
                """DELETE FROM subsidy_list_entry e USING subsidy_batch b
                    WHERE e.tenant_id = :t AND b.tenant_id = :t AND e.batch_id = b.id AND b.year = :y AND b.category_code = :c"""
            ),
            key,
        )
        await db.execute(text("DELETE FROM subsidy_batch WHERE tenant_id = :t AND year = :y AND category_code = :c"), key)
        return await recompute_selected_id_numbers(db, tenant.id, YEAR, "SELECT id_number FROM bench_cleared")


# --- measuring ----------------------------------------------------------------


@dataclass
class Measured:
    label: str
    rows: int
    seconds: float
    peak_rss: int
    rss_before: int
    batch: dict


def upload(http: httpx.Client, token: str, category: str, data: bytes, name: str) -> tuple[float, dict]:
    variables = {"input": {"year": YEAR, "category": category, "file": None}}
    form = {
        "operations": json.dumps({"query": UPLOAD, "variables": variables}),
        "map": json.dumps({"0": ["variables.input.file"]}),
    }
    files = {"0": (name, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    started = time.perf_counter()
    response = http.post("/graphql", data=form, files=files, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"upload failed: {response.status_code} {body.get('errors')}")
    payload = body["data"]["uploadSubsidyList"]
    if payload["userErrors"] or payload["batch"] is None:
        raise RuntimeError(f"upload refused: {payload['userErrors']}")
    return elapsed, payload


def _check(label: str, payload: dict, lists: Lists, expected_version: int) -> None:
    batch = payload["batch"]
    accepted = lists.rows - lists.bad
    problems = []
    if batch["version"] != expected_version:
        problems.append(f"version {batch['version']}")
    if (batch["rowsTotal"], batch["rowsAccepted"]) != (lists.rows, accepted):
        problems.append(f"rows {batch['rowsTotal']}/{batch['rowsAccepted']}")
    if batch["pending"] != lists.pending:
        problems.append(f"pending {batch['pending']}")
    if len(payload["rowErrors"]) != lists.bad:
        problems.append(f"{len(payload['rowErrors'])} row errors")
    if expected_version == 2 and (batch["added"], batch["removed"]) != (lists.replaced, lists.replaced):
        problems.append(f"added/removed {batch['added']}/{batch['removed']}")
    if problems:
        raise RuntimeError(f"{label}: unexpected result: {', '.join(problems)}: {batch}")


_WRITTEN = "subsidy_membership, subsidy_list_entry, subsidy_batch, enrollment, enrollment_tally"


def run_round(http: httpx.Client, token: str, args, lists: Lists, urls, settings) -> list[Measured]:  # noqa: ANN001
    asyncio.run(_clear_lists(urls, settings, args.category))
    measured = []
    for version, (label, data) in enumerate((("v1 first upload", lists.first), ("v2 5% changed", lists.second)), start=1):
        settle(urls, _WRITTEN)
        print(f"  {label}: {host_speed()}", flush=True)
        with PeakRss() as rss:
            seconds, payload = upload(http, token, args.category, data, f"{args.category}-v{version}.xlsx")
        _check(label, payload, lists, version)
        measured.append(Measured(label, lists.rows, seconds, rss.peak, rss.before, payload["batch"]))
    listed = gql(http, ENROLLMENT, {"id": lists.sample}, token)["person"]["enrollment"]
    if listed["subsidyCategory"] is None:
        raise RuntimeError("the listed person's enrolment was not recomputed")
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1, help="each round: clear the lists, v1, v2")
    parser.add_argument("--persons", type=int, default=600_000, help="demo size when the county is not loaded yet")
    parser.add_argument("--user", default="minzheng", help="民政局 (minzheng) or 医保局 (yibao)")
    parser.add_argument("--category", default="dibao")
    args = parser.parse_args(argv)

    from api.demo import TENANT_CODE

    county = demo_county(args.persons)
    if county is None:
        return 1
    settings, urls, password = county.settings, county.urls, county.password

    started = time.perf_counter()
    persons = asyncio.run(_persons(urls, settings, args.rows + args.rows // 20 + 3))
    lists = build_lists(persons, args.rows)
    del persons
    print(
        f"lists built in {time.perf_counter() - started:.1f} s: {lists.rows:,} rows"
        f" ({len(lists.first) / 1e6:.1f} MB .xlsx), {lists.pending} pending, {lists.bad} bad;"
        f" v2 replaces {lists.replaced:,}",
        flush=True,
    )

    server, thread, base_url = start_server(settings, urls)
    results: list[Measured] = []
    try:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            login = gql(http, LOGIN, {"input": {"tenantCode": TENANT_CODE, "username": args.user, "password": password}})
            if login["login"]["userErrors"]:
                print(f"login failed: {login['login']['userErrors']}", file=sys.stderr)
                return 1
            token = login["login"]["token"]
            for number in range(1, args.rounds + 1):
                for m in run_round(http, token, args, lists, urls, settings):
                    results.append(m)
                    b = m.batch
                    print(
                        f"round {number} {m.label}: {m.rows:,} rows in {m.seconds:.2f} s = {m.rows / m.seconds:,.0f} rows/s,"
                        f" peak RSS {m.peak_rss / 2**20:.0f} MB ({m.rss_before / 2**20:.0f} MB before;"
                        f" version {b['version']}: accepted {b['rowsAccepted']:,},"
                        f" added {b['added']:,}, removed {b['removed']:,}, pending {b['pending']})",
                        flush=True,
                    )
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    print()
    print(f"subsidy list upload, {args.user} → {YEAR} {args.category}, {TENANT_CODE}, over HTTP (GraphQL multipart)")
    for label in ("v1 first upload", "v2 5% changed"):
        runs = [m for m in results if m.label == label]
        seconds = [m.seconds for m in runs]
        peaks = [m.peak_rss / 2**20 for m in runs]
        print(
            f"{label}: {runs[0].rows:,} rows, {min(seconds):.2f}–{max(seconds):.2f} s,"
            f" {runs[0].rows / max(seconds):,.0f}–{runs[0].rows / min(seconds):,.0f} rows/s,"
            f" peak RSS {min(peaks):.0f}–{max(peaks):.0f} MB ({len(runs)} run(s))"
        )
    print("target: ≥ 20,000 rows/s (≤ 5 s for 100,000 rows), peak RSS < 500 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

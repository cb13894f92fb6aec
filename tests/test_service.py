"""Running it as a service: probes, a clean stop on SIGTERM, no server left behind."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace

import httpx
import psycopg
import pytest

from api.database import (
    DatabaseUrls,
    drop_database,
    embedded_running,
    ensure_roles_and_database,
    start_embedded,
    stop_embedded,
    with_user_and_db,
)
from api.health import migration_heads
from tests.conftest import ROOT, TEST_DATABASE, _free_port, start_server


def test_livez_answers_without_the_database(client):
    response = client.http.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_at_head(client):
    response = client.http.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready" and body["database"] == "ok"
    assert body["migration"] == body["head"] == sorted(migration_heads())
    assert client.http.get("/healthz").status_code == 200


def test_readyz_refuses_a_database_behind_the_code(client, urls):
    (head,) = migration_heads()
    with psycopg.connect(urls.owner, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0016c'")
        try:
            response = client.http.get("/readyz")
        finally:
            conn.execute("UPDATE alembic_version SET version_num = %s", (head,))
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "migration": ["0016c"], "head": [head]}
    assert client.http.get("/readyz").status_code == 200
    assert client.http.get("/livez").status_code == 200


@pytest.fixture
def probe_database(settings):
    """A database of its own (empty: never migrated) that the test may drop."""
    if settings.database_url:
        pytest.skip("needs the embedded server")
    name = f"{TEST_DATABASE}_probe"
    drop_database(settings, name)
    superuser = start_embedded(settings)
    ensure_roles_and_database(superuser, settings, name)
    yield name, DatabaseUrls(
        owner=with_user_and_db(superuser, settings.owner_role, name), app=with_user_and_db(superuser, settings.app_role, name)
    )
    drop_database(settings, name)


def test_readyz_unmigrated_then_unreachable(settings, probe_database):
    name, urls = probe_database
    server, thread, url = start_server(replace(settings, database_name=name, pool_min=1), urls)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            unmigrated = http.get("/readyz")
            assert unmigrated.status_code == 503
            assert unmigrated.json()["database"] == "ok" and unmigrated.json()["migration"] is None
            drop_database(settings, name)  # WITH (FORCE): the pool's sessions are ended
            gone = http.get("/readyz")
            assert gone.status_code == 503
            assert gone.json() == {"status": "unavailable", "database": "unreachable"}
            assert http.get("/livez").status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _serve(settings, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ZHENGJIAO_DATA_DIR": str(settings.data_dir),
        "ZHENGJIAO_DATABASE": TEST_DATABASE,
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_live(url: str, process: subprocess.Popen) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        assert process.poll() is None, process.stdout.read().decode()
        try:
            if httpx.get(url + "/livez", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("zhengjiao serve did not come up")


def test_serve_finishes_the_request_in_flight_on_sigterm(settings):
    if settings.database_url:
        pytest.skip("serves the embedded test database")
    port = _free_port()
    process = _serve(settings, port)
    try:
        _wait_live(f"http://127.0.0.1:{port}", process)
        body = b'{"query": "{ __typename }"}'
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            head = (
                "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body[:10])  # the request has begun …
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)  # … when the stop comes
            time.sleep(0.5)
            assert process.poll() is None, "stopped before the request in flight was answered"
            sock.sendall(body[10:])
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        assert response.startswith(b"HTTP/1.1 200"), response
        assert b'"__typename":"Query"' in response.replace(b" ", b"")
        # uvicorn shuts down (lifespan included), then raises the captured SIGTERM again
        # so that the exit status says why it ended.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        log = process.stdout.read().decode()
        assert "Application shutdown complete" in log, log
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_test_session_stops_the_embedded_server_it_started(tmp_path):
    """`make test` on a machine where no test server runs leaves none running."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DATABASE_URL"))}
    env["ZHENGJIAO_DATA_DIR"] = str(data_dir)
    command = [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "tests/embedded_probe.py"]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (data_dir / "pgdata" / "PG_VERSION").exists()  # it did start one
    from api.settings import Settings

    mine = Settings(data_dir=data_dir)
    assert not embedded_running(mine)
    # A server already running when the session begins is someone else's: left running.
    start_embedded(mine)
    try:
        again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stdout + again.stderr
        assert embedded_running(mine)
    finally:
        stop_embedded(mine)
    assert not embedded_running(mine)

"""`zhengjiao serve --workers 2`: two processes serve one database, and what either
caches (casbin enforcers, documents) follows the versions in the database, so a change
made through one is seen by both at once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import TEST_DATABASE, _free_port
from tests.payment_support import campaign
from tests.subsidy_support import SET_POLICY, UPLOAD, csv_list, policy_input
from tests.support import new_id_number

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 8  # requests on fresh connections, spread by the kernel over both workers
MAX_ROUNDS = 100  # until both have answered


@pytest.fixture(scope="module")
def workers(urls):
    """`zhengjiao serve --workers 2` on the test database, as a process of its own."""
    port = _free_port()
    env = {**os.environ, "ZHENGJIAO_DATABASE": TEST_DATABASE, "ZHENGJIAO_POOL_MIN": "1", "ZHENGJIAO_POOL_MAX": "3"}
    command = [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--workers", "2", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.time() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"workers did not start: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=30)


def _upload_codes(url: str, token: str, category: str) -> list[str]:
    """A dry run of a one-row list, on a new connection (so any worker may take it)."""
    variables = {"input": {"year": 2027, "category": category, "file": None, "dryRun": True}}
    body = {"operations": json.dumps({"query": UPLOAD, "variables": variables}), "map": '{"0": ["variables.input.file"]}'}
    data = csv_list([("张三", new_id_number(), "张庄村", "2026-10-01", "")])
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    response = httpx.post(f"{url}/graphql", data=body, files={"0": ("list.csv", data, "text/csv")}, headers=headers)
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["uploadSubsidyList"]
    return [e["code"] for e in payload["userErrors"]]


def test_two_workers_see_a_category_owner_move_at_once(client, new_county, clock, workers, settings):
    county, _ = campaign(client, new_county, clock)
    civil, rural = county.tokens["civil"], county.tokens["rural_revitalization"]
    # both workers build and cache this county's enforcer
    assert all(_upload_codes(workers, civil, "dibao") == [] for _ in range(ROUNDS))
    assert all(_upload_codes(workers, rural, "dibao") == ["FORBIDDEN"] for _ in range(ROUNDS))

    policy = policy_input("neixiang-2027.json")
    for category in policy["categories"]:
        if category["code"] == "dibao":
            category["owner"] = "RURAL_REVITALIZATION"
    moved = client.data(SET_POLICY, {"input": policy}, county.tokens["medical"])["setYearPolicy"]
    assert moved["userErrors"] == []

    since = _now(settings)
    for rounds in range(1, MAX_ROUNDS + 1):
        assert _upload_codes(workers, civil, "dibao") == ["FORBIDDEN"]
        assert _upload_codes(workers, rural, "dibao") == []
        if rounds >= ROUNDS and len(_serving_since(settings, since)) == 2:
            break  # both workers have answered since the move
    assert len(_serving_since(settings, since)) == 2


def _superuser(settings):  # noqa: ANN001, ANN202
    from api.database import start_embedded

    if settings.database_url:
        pytest.skip("needs the embedded server's superuser to read every session")
    return psycopg.connect(start_embedded(settings), autocommit=True)


def _now(settings):  # noqa: ANN001, ANN202
    with _superuser(settings) as conn:
        return conn.execute("SELECT clock_timestamp()").fetchone()[0]


def _serving_since(settings, since) -> set[str]:  # noqa: ANN001
    """The worker processes (application_name zhengjiao-<pid>) whose connections ran a
    statement after `since`."""
    with _superuser(settings) as conn:
        rows = conn.execute(
            """SELECT DISTINCT application_name FROM pg_stat_activity
                WHERE datname = %s AND application_name LIKE 'zhengjiao-%%' AND query_start > %s
                  AND application_name <> %s""",
            (TEST_DATABASE, since, f"zhengjiao-{os.getpid()}"),
        ).fetchall()
    return {r[0] for r in rows}


def test_two_workers_take_a_new_standard_at_once(client, new_county, clock, workers):
    from datetime import datetime

    from tests.payment_support import SHANGHAI, new_person, pay
    from tests.support import GraphQLClient

    county, _ = campaign(client, new_county, clock)
    clock.travel_to(None)  # the workers keep the real time: the 2027 window is open
    today = datetime.now(SHANGHAI).date()
    persons = [new_person(client, county) for _ in range(2 * ROUNDS)]

    def paid(number: str, amount: str) -> list[str]:
        fresh = GraphQLClient(workers)  # a new connection: any worker may take it
        try:
            payload = pay(fresh, county.tokens["tax"], number, 2027, amount, today, channel="TAX_HALL")
        finally:
            fresh.http.close()
        return [e["code"] for e in payload["userErrors"]]

    assert all(paid(number, "400.00") == [] for number in persons[:ROUNDS])
    set_policy = client.data(SET_POLICY, {"input": policy_input("neixiang-2027.json", standard="420.00")},
                             county.tokens["medical"])["setYearPolicy"]
    assert set_policy["userErrors"] == []
    assert all(paid(number, "400.00") == ["AMOUNT_MISMATCH"] for number in persons[ROUNDS:])
    assert all(paid(number, "420.00") == [] for number in persons[ROUNDS:])

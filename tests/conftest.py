"""One real PostgreSQL (embedded, or DATABASE_URL), one real HTTP server for the session."""
from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import fasteners
import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("ZHENGJIAO_DATA_DIR", str(ROOT / ".zhengjiao-test"))
os.environ.setdefault("ZHENGJIAO_ARGON2_TIME_COST", "1")
os.environ.setdefault("ZHENGJIAO_ARGON2_MEMORY_KIB", "8192")

from api.database import drop_database, embedded_running, resolve_urls, stop_embedded  # noqa: E402
from api.migrate import migrate  # noqa: E402
from api.settings import load_settings  # noqa: E402
from tests.support import (  # noqa: E402
    CREATE_USER,
    ONBOARD,
    PASSWORD,
    UNIT_BY_CODE,
    County,
    GraphQLClient,
    small_tree,
)

# One database per pytest-xdist worker on the one test server (`make test` runs two).
TEST_DATABASE = f"zhengjiao_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _controller(session) -> bool:
    """The process that runs the whole session: the xdist controller, or the only one."""
    return not hasattr(session.config, "workerinput")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts workers that start the server
def pytest_sessionstart(session):
    # Whether the embedded test server was already up (someone's `make test` still
    # running, or a server left by hand): then it is not ours to stop.
    if _controller(session):
        session.config._embedded_was_running = bool(load_settings().database_url) or embedded_running(load_settings())


@pytest.hookimpl(trylast=True)  # after pytest-xdist has ended its workers
def pytest_sessionfinish(session):
    """The embedded server this session started is stopped once every worker is done
    (workers only start it: they cannot know which of them finishes last)."""
    if _controller(session) and not session.config._embedded_was_running:
        stop_embedded(load_settings())


@pytest.fixture(scope="session")
def settings():
    return replace(load_settings(), database_name=TEST_DATABASE)


@pytest.fixture(scope="session")
def urls(settings):
    # Workers start (and on first use tune and restart) the embedded server one at a time.
    with fasteners.InterProcessLock(str(settings.data_dir) + ".lock"):
        if not settings.database_url:
            drop_database(settings, TEST_DATABASE)
        found = resolve_urls(settings, TEST_DATABASE)
        migrate(found, settings)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(settings, urls):
    import uvicorn

    from api.app import create_app

    port = _free_port()
    app = create_app(settings, urls)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    server.app_object = app
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def server(settings, urls):
    server, thread, url = start_server(settings, urls)
    server.url = url
    yield server
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def server_url(server):
    return server.url


@pytest.fixture
def clock(server):
    """The server's business clock; pinned moments are released after the test."""
    app_clock = server.app_object.state.runtime.services.clock
    yield app_clock
    app_clock.travel_to(None)


@pytest.fixture(scope="session")
def client(server_url) -> GraphQLClient:
    return GraphQLClient(server_url)


@pytest.fixture(scope="session")
def owner_db(settings, urls):
    """Run a coroutine against the owner connection: `owner_db(lambda db: …, tenant_id)`."""
    from api.owner import owner_transaction

    def run(body, tenant_id=None):
        async def go():
            async with owner_transaction(urls, settings, tenant_id) as db:
                return await body(db)

        return asyncio.run(go())

    return run


@pytest.fixture(scope="session")
def operator_token(client, owner_db, settings) -> str:
    from authz.accounts import create_operator
    from authz.passwords import Passwords

    owner_db(lambda db: create_operator(db, Passwords(settings.argon2_time_cost, settings.argon2_memory_kib), "operator", PASSWORD))
    return client.login(None, "operator", PASSWORD)


_codes = itertools.count(500101)


ALL_DEPARTMENTS = [
    "MEDICAL_SECURITY", "TAX", "FINANCE", "CIVIL_AFFAIRS", "RURAL_REVITALIZATION",
    "DISABLED_FEDERATION", "VETERANS", "HEALTH", "EDUCATION", "PUBLIC_SECURITY",
]


def onboard_county(client: GraphQLClient, operator_token: str, departments: list[str] | None = None) -> County:
    """A fresh county with admin, two collectors, township staff and department staff
    (`medical`, `tax`, `civil`, and with `departments` one account per department,
    named by its code in lower case)."""
    code = str(next(_codes))
    extra = [d for d in departments or [] if d not in ("MEDICAL_SECURITY", "TAX", "CIVIL_AFFAIRS", "FINANCE")]
    payload = client.data(
        ONBOARD,
        {
            "input": {
                "code": code,
                "name": f"测试县{code}",
                "units": small_tree(code),
                "departments": ["MEDICAL_SECURITY", "TAX", "CIVIL_AFFAIRS", "FINANCE", *extra],
                "admin": {"username": "admin", "password": PASSWORD},
            }
        },
        operator_token,
    )["onboardTenant"]
    assert payload["userErrors"] == [], payload["userErrors"]
    county = County(code=code, id=payload["tenant"]["id"])
    admin = client.login(code, "admin", PASSWORD)
    county.tokens["admin"] = admin
    for suffix in ("100", "100001", "100201", "300", "300201", "300202", "900", "900001"):
        unit = client.data(UNIT_BY_CODE, {"code": code + suffix}, admin)["unitByCode"]
        county.units[suffix] = unit["id"]
    accounts = {
        "collector": {"role": "VILLAGE_COLLECTOR", "scope": county.units["100201"]},
        "collector2": {"role": "VILLAGE_COLLECTOR", "scope": county.units["300201"]},
        "township": {"role": "TOWNSHIP_STAFF", "scope": county.units["100"]},
        "medical": {"role": "DEPARTMENT_STAFF", "department": "MEDICAL_SECURITY"},
        "tax": {"role": "DEPARTMENT_STAFF", "department": "TAX"},
        "civil": {"role": "DEPARTMENT_STAFF", "department": "CIVIL_AFFAIRS"},
    }
    for department in departments or []:
        accounts[department.lower()] = {"role": "DEPARTMENT_STAFF", "department": department}
    for username, grant in accounts.items():
        result = client.data(CREATE_USER, {"input": {"username": username, "password": PASSWORD, **grant}}, admin)
        assert result["createUser"]["userErrors"] == [], result
        county.tokens[username] = client.login(code, username, PASSWORD)
    return county


@pytest.fixture(scope="session")
def county_a(client, operator_token) -> County:
    return onboard_county(client, operator_token)


@pytest.fixture(scope="session")
def county_b(client, operator_token) -> County:
    return onboard_county(client, operator_token)


@pytest.fixture
def new_county(client, operator_token):
    return lambda departments=None: onboard_county(client, operator_token, departments)


@pytest.fixture(scope="session")
def onboard(client, operator_token):
    """`new_county` for module-scoped fixtures (a county shared by a module's tests)."""
    return lambda departments=None: onboard_county(client, operator_token, departments)


@pytest.fixture(autouse=True)
def every_message_in_the_catalogue():
    """A message asked for that the catalogue lacks fails the test that asked for it
    (servers run in-process, so their look-ups land here too)."""
    from tenants import messages

    messages.missing.clear()
    yield
    assert not messages.missing, f"message ids missing from tenants/locale: {sorted(messages.missing)}"

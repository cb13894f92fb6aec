"""Password guessing costs: one login per request, argon2 off the event loop, back-off and
locks per account and per address (audited), and rules for new passwords.

Every test that needs low limits starts its own server with its own secret key: the
counters are keyed by an HMAC under that key, so they never meet the session server's
(whose production defaults the rest of the suite logs in under).
"""
from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from sqlalchemy import text

from authz.accounts import create_operator
from authz.passwords import Passwords
from authz.throttle_rules import Subject
from authz.throttle_store import throttle_key
from tenants.problems import Rejected
from tests.conftest import start_server
from tests.support import (
    CREATE_USER,
    LOGIN,
    ONBOARD,
    PASSWORD,
    County,
    GraphQLClient,
    small_tree,
)

WRONG = "Wrong-password-42"
LOOSE = {"slow_after": 1000, "lock_after": 1000, "address_slow_after": 1000, "address_lock_after": 1000}


class Server:
    """A server of its own: its settings, its clock, its secret."""

    def __init__(self, settings, urls, argon2: tuple[int, int] | None = None, **limits) -> None:
        self.secret = secrets.token_urlsafe(32)
        cost = {} if argon2 is None else {"argon2_time_cost": argon2[0], "argon2_memory_kib": argon2[1]}
        self.settings = replace(settings, secret_key=self.secret, login=replace(settings.login, **limits), **cost)
        self.uvicorn, self.thread, url = start_server(self.settings, urls)
        self.client = GraphQLClient(url)
        services = self.uvicorn.app_object.state.runtime.services
        self.clock = services.login_guard.clock
        self.checks = 0  # argon2 verifications this server ran (on its argon2 threads)
        verify, counting = services.passwords.verify, threading.Lock()

        def counted_verify(stored_hash, password):
            with counting:
                self.checks += 1
            return verify(stored_hash, password)

        services.passwords.verify = counted_verify

    def stop(self) -> None:
        self.clock.travel_to(None)
        self.uvicorn.should_exit = True
        self.thread.join(timeout=10)

    def login(self, tenant_code, username, password) -> dict:
        variables = {"input": {"tenantCode": tenant_code, "username": username, "password": password}}
        return self.client.data(LOGIN, variables)["login"]

    def account_key(self, tenant_code: str, username: str) -> str:
        return throttle_key(self.secret, Subject.ACCOUNT, f"county\x00{tenant_code}\x00{username}")

    def address_key(self) -> str:
        return throttle_key(self.secret, Subject.ADDRESS, "127.0.0.1")


@pytest.fixture
def servers(settings, urls):
    started: list[Server] = []

    def start(argon2: tuple[int, int] | None = None, **limits) -> Server:
        started.append(Server(settings, urls, argon2, **limits))
        return started[-1]

    yield start
    for server in started:
        server.stop()


ACCOUNTS = ("collector", "township", "medical", "tax", "civil")


@pytest.fixture(scope="module")
def county(client, operator_token) -> County:
    """A county of this module's own (code 59…), its admin and five more accounts."""
    code = "590101"
    admin = {"username": "admin", "password": PASSWORD}
    variables = {"input": {"code": code, "name": "限速县", "units": small_tree(code), "departments": ["TAX"], "admin": admin}}
    payload = client.data(ONBOARD, variables, operator_token)["onboardTenant"]
    assert payload["userErrors"] == [], payload["userErrors"]
    county = County(code=code, id=payload["tenant"]["id"])
    county.tokens["admin"] = client.login(code, "admin", PASSWORD)
    for username in ACCOUNTS:
        grant = {"username": username, "password": PASSWORD, "role": "COUNTY_ADMIN"}
        assert client.data(CREATE_USER, {"input": grant}, county.tokens["admin"])["createUser"]["userErrors"] == []
    return county


def refused(payload: dict) -> bool:
    return payload["token"] is None and [e["code"] for e in payload["userErrors"]] == ["INVALID_CREDENTIALS"]


def lock_events(owner_db, county_code: str) -> list[tuple[str, dict]]:
    async def read(db):
        tenant_id = await db.scalar(text("SELECT id FROM tenant WHERE code = :c"), {"c": county_code})
        await db.bind_tenant(tenant_id)
        rows = await db.execute(
            text("SELECT operation, after FROM audit_log WHERE tenant_id = :t AND operation LIKE 'login.%' ORDER BY id"),
            {"t": tenant_id},
        )
        return [(r.operation, r.after) for r in rows]

    return owner_db(read)


def counter_row(owner_db, key: str):
    async def read(db):
        return (await db.execute(text("SELECT failures, locked_until FROM login_throttle WHERE key = :k"), {"k": key})).first()

    return owner_db(read)


# -- argon2 off the event loop ---------------------------------------------------------


def test_concurrent_logins_do_not_hold_up_other_requests(servers, county):
    server = servers(**LOOSE, argon2=(4, 65_536))
    started = time.perf_counter()
    one = server.login(county.code, "admin", WRONG)
    single = time.perf_counter() - started
    assert refused(one)

    def guess(_):
        return server.login(county.code, "admin", WRONG)

    with ThreadPoolExecutor(30) as pool:
        started = time.perf_counter()
        guesses = [pool.submit(guess, i) for i in range(30)]
        time.sleep(single / 2)  # the guesses are in, argon2 is busy
        plain_started = time.perf_counter()
        assert server.client.data("{ __typename }") == {"__typename": "Query"}
        plain = time.perf_counter() - plain_started
        results = [g.result() for g in guesses]
        logins = time.perf_counter() - started
    assert all(refused(r) for r in results)
    timing = f"one login {single:.3f}s, 30 logins {logins:.3f}s, the plain request {plain:.3f}s"
    assert plain < 1.0 and plain * 3 < logins, timing  # in the queue behind them it would take most of it
    print(timing)


# -- one login per request -------------------------------------------------------------

LOGIN_ALIASES = "mutation {\n%s\n}" % "\n".join(
    f'  g{i}: login(input: {{tenantCode: "CODE", username: "admin", password: "Guess-{i:04d}-x"}}) {{ token }}'
    for i in range(30)
)
LOGIN_FRAGMENTS = """
mutation { ...One ... on Mutation { ...Two } }
fragment One on Mutation { a: login(input: {tenantCode: "CODE", username: "admin", password: "Guess-0001-x"}) { token } }
fragment Two on Mutation { ...Three }
fragment Three on Mutation { b: login(input: {tenantCode: "CODE", username: "admin", password: "Guess-0002-x"}) { token } }
"""


@pytest.mark.parametrize("document", [LOGIN_ALIASES, LOGIN_FRAGMENTS], ids=["aliases", "fragments"])
def test_a_request_with_several_logins_is_refused_before_any_guess(servers, county, owner_db, document):
    server = servers(**LOOSE)
    body = server.client.gql(document.replace("CODE", county.code))
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TOO_MANY_LOGINS"]
    assert counter_row(owner_db, server.account_key(county.code, "admin")) is None
    assert counter_row(owner_db, server.address_key()) is None
    assert server.checks == 0
    assert server.login(county.code, "admin", PASSWORD)["token"]


def test_one_login_per_request_holds_on_the_default_server_too(client, county):
    body = client.gql(LOGIN_ALIASES.replace("CODE", county.code))
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TOO_MANY_LOGINS"]
    same_name_twice = (
        'mutation { login(input: {tenantCode: "%s", username: "admin", password: "%s"}) { token }'
        ' ... on Mutation { login(input: {tenantCode: "%s", username: "admin", password: "%s"}) { token } } }'
    ) % (county.code, PASSWORD, county.code, PASSWORD)
    assert client.data(same_name_twice)["login"]["token"]  # one response name: one execution


# -- back-off and locks ----------------------------------------------------------------


def test_a_hundred_wrong_passwords_then_the_right_one_is_refused(servers, county, owner_db):
    server = servers(
        slow_after=3, lock_after=5, backoff_seconds=0.001, backoff_max_seconds=0.002,
        address_slow_after=1000, address_lock_after=1000,
    )
    assert all(refused(server.login(county.code, "collector", f"Wrong-{i:03d}-pass")) for i in range(100))
    assert refused(server.login(county.code, "collector", PASSWORD))
    row = counter_row(owner_db, server.account_key(county.code, "collector"))
    assert row.failures == server.checks == 5  # the other 96 attempts: no argon2, not counted
    events = lock_events(owner_db, county.code)
    assert [(op, after["username"]) for op, after in events] == [("login.locked", "collector")]
    assert after_locked_until(events[0]) == row.locked_until

    server.clock.travel_to(row.locked_until + timedelta(seconds=1))
    assert server.login(county.code, "collector", PASSWORD)["token"]
    events = lock_events(owner_db, county.code)
    assert [op for op, _ in events] == ["login.locked", "login.unlocked"]
    assert counter_row(owner_db, server.account_key(county.code, "collector")) is None  # success clears it


def after_locked_until(event):
    from datetime import datetime

    return datetime.fromisoformat(event[1]["lockedUntil"])


def test_back_off_doubles_and_refuses_without_checking_the_password(servers, county, owner_db):
    server = servers(slow_after=2, backoff_seconds=60, **without(LOOSE, "slow_after"))
    start = server.clock.now()
    server.clock.travel_to(start)
    assert refused(server.login(county.code, "township", WRONG))
    assert refused(server.login(county.code, "township", WRONG))
    assert refused(server.login(county.code, "township", PASSWORD))
    assert server.checks == 2  # the right password came too early: not checked, not counted
    assert counter_row(owner_db, server.account_key(county.code, "township")).failures == 2

    server.clock.travel_to(start + timedelta(seconds=59))
    assert refused(server.login(county.code, "township", PASSWORD))
    server.clock.travel_to(start + timedelta(seconds=61))
    assert refused(server.login(county.code, "township", WRONG))  # the third: 120 s now
    server.clock.travel_to(start + timedelta(seconds=61 + 119))
    assert refused(server.login(county.code, "township", PASSWORD))
    server.clock.travel_to(start + timedelta(seconds=61 + 121))
    assert server.login(county.code, "township", PASSWORD)["token"]


def test_concurrent_failures_count_exactly(servers, county, owner_db):
    server = servers(lock_after=30, **without(LOOSE, "lock_after"))

    def wrong_at_once(n: int) -> None:
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(lambda i: server.login(county.code, "tax", f"Wrong-{i:03d}-pass"), range(n)))
        assert all(refused(r) for r in results)

    wrong_at_once(29)
    assert server.login(county.code, "tax", PASSWORD)["token"]  # 29 < 30: no lock, and the count is cleared
    wrong_at_once(30)
    assert refused(server.login(county.code, "tax", PASSWORD))
    locks = [after for op, after in lock_events(owner_db, county.code) if op == "login.locked"]
    assert [after["username"] for after in locks].count("tax") == 1
    assert counter_row(owner_db, server.account_key(county.code, "tax")).failures == 30


def test_an_address_is_locked_across_usernames(servers, county, owner_db, caplog):
    server = servers(address_lock_after=6, **without(LOOSE, "address_lock_after"))
    with caplog.at_level("WARNING", logger="zhengjiao.login"):
        for i in range(6):
            assert refused(server.login(county.code, f"probe{i}", WRONG))
    assert refused(server.login(county.code, "medical", PASSWORD))  # a right password, a locked address
    assert refused(server.login(None, "operator", PASSWORD))
    row = counter_row(owner_db, server.address_key())
    assert row.failures == 6 and row.locked_until is not None
    assert "login.locked: client address" in caplog.text and "127.0.0.1" not in caplog.text
    assert counter_row(owner_db, server.account_key(county.code, "medical")) is None  # not counted against it

    server.clock.travel_to(row.locked_until + timedelta(seconds=1))
    assert server.login(county.code, "medical", PASSWORD)["token"]
    assert counter_row(owner_db, server.address_key()) is None


def test_an_operator_lock_is_logged_and_holds(servers, owner_db, operator_token, caplog):
    server = servers(lock_after=2, **without(LOOSE, "lock_after"))
    with caplog.at_level("WARNING", logger="zhengjiao.login"):
        assert refused(server.login(None, "operator", WRONG))
        assert refused(server.login(None, "operator", WRONG))
    assert refused(server.login(None, "operator", PASSWORD))
    assert "login.locked: account 'operator' of no county" in caplog.text
    assert WRONG not in caplog.text and PASSWORD not in caplog.text


def test_a_megabyte_password_is_refused_without_hashing(servers, county, owner_db):
    server = servers(**LOOSE)
    # A megabyte does not even get in (the body cap); 100,000 characters stop at the edge.
    variables = {"input": {"tenantCode": county.code, "username": "civil", "password": "x" * 1_100_000}}
    assert server.client.post(LOGIN, variables).status_code == 413
    huge = timed(lambda: server.login(county.code, "civil", "x" * 100_000))
    assert [e["code"] for e in huge.result["userErrors"]] == ["TEXT_TOO_LONG"] and huge.seconds < 1.0
    assert server.checks == 0
    assert refused(server.login(county.code, "civil", "x" * 129))
    assert server.checks == 0
    assert counter_row(owner_db, server.account_key(county.code, "civil")).failures == 1  # a failure all the same


def test_the_table_keeps_no_usernames_or_addresses(servers, county, owner_db):
    server = servers(**LOOSE)
    assert refused(server.login(county.code, "admin", WRONG))

    async def read(db):
        return (await db.execute(text("SELECT * FROM login_throttle"))).all()

    rows = owner_db(read)
    keys = {r.key for r in rows}
    assert {server.account_key(county.code, "admin"), server.address_key()} <= keys
    assert not any(county.code in str(v) or "admin" in str(v) or "127.0.0.1" in str(v) for r in rows for v in r)


def test_stale_counters_are_pruned_and_locks_kept(owner_db):
    from datetime import datetime

    from authz.throttle_rules import LoginLimits
    from authz.throttle_store import count_failure, prune

    limits = LoginLimits(lock_after=2)
    then = datetime(2020, 1, 1, tzinfo=UTC)

    async def run(db):
        await count_failure(db, "stale-test", Subject.ACCOUNT, limits, then)
        await count_failure(db, "stale-locked-test", Subject.ACCOUNT, limits, then)
        await count_failure(db, "stale-locked-test", Subject.ACCOUNT, limits, then)
        await prune(db, limits, then + timedelta(hours=1))
        rows = await db.execute(text("SELECT key FROM login_throttle WHERE key LIKE 'stale-%'"))
        keys = [r.key for r in rows]
        await db.execute(text("DELETE FROM login_throttle WHERE key LIKE 'stale-%'"))
        return keys

    assert owner_db(run) == ["stale-locked-test"]


# -- rules for new passwords -----------------------------------------------------------

WEAK = [
    ("Ab1-short", "至少需要 10 个字符"),
    ("Ab1-" + "x" * 125, "最多 128 个字符"),
    ("Wangfang-2026", "不能包含用户名"),
    ("wangfang1", "至少需要 10 个字符"),
    ("WANGFANG-is-me-1", "不能包含用户名"),
    ("password12", "过于常见"),
    ("woaini1314", "过于常见"),
    ("Password123", "过于常见"),
    ("Qwertyuiop2026!", "过于常见"),
    ("Zhongguo2026", "过于常见"),
    ("Woaini5201314", "过于常见"),
]


@pytest.mark.parametrize("password,reason", WEAK, ids=[f"{p[:16]}" for p, _ in WEAK])
def test_create_user_refuses_weak_passwords(client, county, password, reason):
    variables = {"input": {"username": "wangfang", "password": password, "role": "COUNTY_ADMIN"}}
    errors = client.data(CREATE_USER, variables, county.tokens["admin"])["createUser"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["password"], "WEAK_PASSWORD")]
    assert reason in errors[0]["message"]


def test_strong_passwords_and_the_projects_own_pass(client, county):
    from api.demo import DEFAULT_PASSWORD
    from authz.password_rules import password_problem

    for username in ("admin", "operator", "chengguan", "zhangzhuang", "yibao"):
        assert password_problem(DEFAULT_PASSWORD, username) is None
        assert password_problem(PASSWORD, username) is None
    variables = {"input": {"username": "lihua", "password": "Cun-wei-hui-7", "role": "COUNTY_ADMIN"}}
    assert client.data(CREATE_USER, variables, county.tokens["admin"])["createUser"]["userErrors"] == []


def test_onboarding_refuses_a_weak_admin_password(client, operator_token):
    variables = {
        "input": {
            "code": "500999", "name": "弱密码县", "units": small_tree("500999"), "departments": ["TAX"],
            "admin": {"username": "admin", "password": "Admin-2026-x"},
        }
    }
    errors = client.data(ONBOARD, variables, operator_token)["onboardTenant"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["admin", "password"], "WEAK_PASSWORD")]
    assert "用户名" in errors[0]["message"]


def test_create_operator_refuses_a_weak_password(owner_db, settings):
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
    with pytest.raises(Rejected) as refused_:
        owner_db(lambda db: create_operator(db, passwords, "operator2", "password12"))
    assert [p.code for p in refused_.value.problems] == ["WEAK_PASSWORD"]


# -- helpers ---------------------------------------------------------------------------


class timed:
    def __init__(self, call) -> None:
        started = time.perf_counter()
        self.result = call()
        self.seconds = time.perf_counter() - started


def without(limits: dict, *names: str) -> dict:
    return {k: v for k, v in limits.items() if k not in names}


def test_the_business_clock_does_not_move_the_throttle(servers, county):
    """A training server replaying a past campaign pins the business clock; logins
    keep wall time (a failure 'in the future' once refused every login)."""
    server = servers(slow_after=3, **without(LOOSE, "slow_after"))
    business = server.uvicorn.app_object.state.runtime.services.clock
    assert refused(server.login(county.code, "civil", WRONG))
    business.travel_to(business.now() - timedelta(days=400))
    try:
        assert server.login(county.code, "civil", PASSWORD)["token"]
        assert refused(server.login(county.code, "civil", WRONG))
    finally:
        business.travel_to(None)


def test_back_off_rules():
    from datetime import datetime

    from authz.throttle_rules import Counter, LoginLimits, backoff
    from authz.throttle_rules import refused as refused_now

    limits = LoginLimits(slow_after=5, backoff_seconds=1, backoff_max_seconds=300)
    assert [backoff(n, 5, limits).total_seconds() for n in (4, 5, 6, 7, 13, 14, 400)] == [0, 1, 2, 4, 256, 300, 300]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    later = now + timedelta(seconds=30)
    below = Counter(Subject.ACCOUNT, 4, later, later, None)  # a failure after `now`, no back-off due
    assert not refused_now(below, limits, now)
    due = Counter(Subject.ACCOUNT, 5, now, now, None)
    assert refused_now(due, limits, now + timedelta(seconds=0.5))
    assert not refused_now(due, limits, now + timedelta(seconds=1))
    stale = Counter(Subject.ACCOUNT, 9, now, now, None)  # its window is over: the count starts again
    assert not refused_now(stale, limits, now + timedelta(seconds=limits.window_seconds))
    over = Counter(Subject.ACCOUNT, 10, now, now, now + timedelta(seconds=900))
    assert refused_now(over, limits, now + timedelta(seconds=899))
    assert not refused_now(over, limits, now + timedelta(seconds=900))

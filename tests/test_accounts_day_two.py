"""Day two of an account: deactivation and reactivation, an admin's password reset and
the user's own change, and the county admin's list of accounts — over real HTTP.

These tests fail logins on purpose, so they run on servers of their own (own secret
key, so their login counters are their own, as in tests/test_login_hardening.py): the
session server's address counter stays for the rest of the suite.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from authz.throttle_rules import Subject
from authz.throttle_store import throttle_key
from tests.conftest import start_server
from tests.support import CREATE_USER, LOGIN, PASSWORD, REGISTER, County, GraphQLClient, new_id_number

USER_FIELDS = "id username role department active lastLoginAt mustChangePassword scope { code }"
ERRORS = "userErrors { field code message }"
DEACTIVATE = f"mutation($input: UserRefInput!) {{ deactivateUser(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"
REACTIVATE = f"mutation($input: UserRefInput!) {{ reactivateUser(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"
RESET = f"mutation($input: ResetPasswordInput!) {{ resetPassword(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"
CHANGE = (
    f"mutation($input: ChangePasswordInput!) {{ changePassword(input: $input) {{ token user {{ {USER_FIELDS} }} {ERRORS} }} }}"
)
USERS = f"""
query($role: Role, $active: Boolean, $first: Int, $after: String) {{
  users(role: $role, active: $active, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {USER_FIELDS} }} }}
  }}
}}"""
VIEWER = "{ viewer { username role mustChangePassword scope { code } } }"
PERSONS = "{ persons(first: 1) { totalCount } }"
TEMPORARY = "Temp-0rary-pass-77"
NEW = "My-own-new-pass-42"


def own_server(settings, urls, **limits):
    """A server of its own secret (so its login counters are its own); addresses never throttled."""
    limits = {"address_slow_after": 1000, "address_lock_after": 1000, **limits}
    secret = secrets.token_urlsafe(32)
    own = replace(settings, secret_key=secret, login=replace(settings.login, **limits))
    server, thread, url = start_server(own, urls)
    server.client, server.secret, server.thread = GraphQLClient(url), secret, thread
    server.clock = server.app_object.state.runtime.services.login_guard.clock
    return server


def stop(server) -> None:
    server.clock.travel_to(None)
    server.should_exit = True
    server.thread.join(timeout=10)


@pytest.fixture(scope="module")
def own(settings, urls):
    server = own_server(settings, urls)
    yield server
    stop(server)


def on(server, county: County) -> County:
    """The county with its accounts logged in at `server`."""
    tokens = {name: server.client.login(county.code, name, PASSWORD) for name in county.tokens}
    return replace(county, tokens=tokens)


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def error_code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


def login(client, county, username, password) -> dict:
    return client.data(LOGIN, {"input": {"tenantCode": county.code, "username": username, "password": password}})["login"]


def user_of(client, county, username) -> dict:
    """The account as the county admin lists it."""
    edges = client.data(USERS, {"first": 100}, county.tokens["admin"])["users"]["edges"]
    return next(e["node"] for e in edges if e["node"]["username"] == username)


def mutate(client, document, token, **input) -> dict:
    data = client.data(document, {"input": input}, token)
    return next(iter(data.values()))


def register(client, county, token) -> dict:
    person = {"idNumber": new_id_number(), "name": "测试人", "unit": county.units["100201"]}
    return client.data(REGISTER, {"input": person}, token)["registerPerson"]


def audit_rows(owner_db, county, operation: str) -> list:
    async def read(db):
        tenant_id = await db.scalar(text("SELECT id FROM tenant WHERE code = :c"), {"c": county.code})
        await db.bind_tenant(tenant_id)
        rows = await db.execute(
            text("SELECT outcome, before, after FROM audit_log WHERE tenant_id = :t AND operation = :o ORDER BY id"),
            {"t": tenant_id, "o": operation},
        )
        return [(r.outcome, r.before, r.after) for r in rows]

    return owner_db(read)


# -- deactivation ----------------------------------------------------------------------------


def test_deactivation_refuses_old_tokens_at_once_and_logins_like_a_wrong_password(own, new_county, owner_db):
    client, county = own.client, on(own, new_county())
    old_token = county.tokens["collector"]
    assert client.data(VIEWER, token=old_token)["viewer"]["username"] == "collector"
    collector = user_of(client, county, "collector")

    payload = mutate(client, DEACTIVATE, county.tokens["admin"], user=collector["id"])
    assert payload["userErrors"] == [] and payload["user"]["active"] is False

    assert error_code(client.gql(VIEWER, token=old_token)) == "UNAUTHENTICATED"
    assert codes(register(client, county, old_token)) == ["UNAUTHENTICATED"]
    refused = login(client, county, "collector", PASSWORD)
    wrong = login(client, county, "collector", "Wrong-password-1")
    assert refused["token"] is None and refused["userErrors"] == wrong["userErrors"]
    assert codes(refused) == ["INVALID_CREDENTIALS"]
    # deactivating twice changes nothing
    assert mutate(client, DEACTIVATE, county.tokens["admin"], user=collector["id"])["user"]["active"] is False

    payload = mutate(client, REACTIVATE, county.tokens["admin"], user=collector["id"])
    assert payload["userErrors"] == [] and payload["user"]["active"] is True
    assert error_code(client.gql(VIEWER, token=old_token)) == "UNAUTHENTICATED"  # old sessions stay ended
    fresh = client.login(county.code, "collector", PASSWORD)
    assert client.data(VIEWER, token=fresh)["viewer"]["username"] == "collector"
    assert codes(register(client, county, fresh)) == []

    rows = audit_rows(owner_db, county, "deactivateUser")
    assert rows[0][0] == "ok" and rows[0][1]["active"] is True and rows[0][2]["active"] is False


def test_an_admin_cannot_deactivate_or_reset_themself(own, new_county):
    client, county = own.client, on(own, new_county())
    admin = user_of(client, county, "admin")
    assert codes(mutate(client, DEACTIVATE, county.tokens["admin"], user=admin["id"])) == ["OWN_ACCOUNT"]
    reset = mutate(client, RESET, county.tokens["admin"], user=admin["id"], temporaryPassword=TEMPORARY)
    assert codes(reset) == ["OWN_ACCOUNT"]
    assert user_of(client, county, "admin")["active"] is True  # the token still works, nothing changed
    assert login(client, county, "admin", TEMPORARY)["token"] is None


def test_deactivated_admin_tokens_lose_their_rights_too(own, new_county):
    client, county = own.client, on(own, new_county())
    second = {"username": "admin2", "password": PASSWORD, "role": "COUNTY_ADMIN"}
    assert client.data(CREATE_USER, {"input": second}, county.tokens["admin"])["createUser"]["userErrors"] == []
    admin2 = client.login(county.code, "admin2", PASSWORD)
    target = user_of(client, county, "admin2")
    assert mutate(client, DEACTIVATE, county.tokens["admin"], user=target["id"])["userErrors"] == []
    assert error_code(client.gql(USERS, {}, admin2)) == "UNAUTHENTICATED"
    medical = user_of(client, county, "medical")
    assert codes(mutate(client, DEACTIVATE, admin2, user=medical["id"])) == ["UNAUTHENTICATED"]
    assert user_of(client, county, "medical")["active"] is True


# -- reset and change ------------------------------------------------------------------------


def test_a_reset_password_must_be_changed_before_anything_else(own, new_county, owner_db):
    client, county = own.client, on(own, new_county())
    old_token = county.tokens["collector"]
    collector = user_of(client, county, "collector")
    payload = mutate(client, RESET, county.tokens["admin"], user=collector["id"], temporaryPassword=TEMPORARY)
    assert payload["userErrors"] == [] and payload["user"]["mustChangePassword"] is True
    assert error_code(client.gql(VIEWER, token=old_token)) == "UNAUTHENTICATED"
    assert login(client, county, "collector", PASSWORD)["token"] is None

    temporary = client.login(county.code, "collector", TEMPORARY)
    viewer = client.data(VIEWER, token=temporary)["viewer"]
    assert viewer == {
        "username": "collector", "role": "VILLAGE_COLLECTOR", "mustChangePassword": True,
        "scope": {"code": county.code + "100201"},
    }
    assert error_code(client.gql(PERSONS, token=temporary)) == "MUST_CHANGE_PASSWORD"
    mixed = client.gql("{ viewer { username } persons(first: 1) { totalCount } }", token=temporary)
    assert mixed["data"] is None and error_code(mixed) == "MUST_CHANGE_PASSWORD"
    via_fragment = client.gql("query { ...F } fragment F on Query { persons(first: 1) { totalCount } }", token=temporary)
    assert error_code(via_fragment) == "MUST_CHANGE_PASSWORD"
    before = client.data(PERSONS, token=county.tokens["admin"])["persons"]["totalCount"]
    assert error_code(client.gql(REGISTER, {"input": {"idNumber": new_id_number(), "name": "甲", "unit": county.units["100201"]}}, temporary)) == "MUST_CHANGE_PASSWORD"
    assert client.data(PERSONS, token=county.tokens["admin"])["persons"]["totalCount"] == before
    download = client.http.get(
        f"/downloads/2027/units/{county.code}100201/unpaid.xlsx", headers={"Authorization": f"Bearer {temporary}"}
    )
    assert download.status_code == 403 and error_code(download.json()) == "MUST_CHANGE_PASSWORD"

    same = mutate(client, CHANGE, temporary, oldPassword=TEMPORARY, newPassword=TEMPORARY)
    assert [(e["code"], e["field"]) for e in same["userErrors"]] == [("WEAK_PASSWORD", ["newPassword"])]
    weak = mutate(client, CHANGE, temporary, oldPassword=TEMPORARY, newPassword="12345678901")
    assert codes(weak) == ["WEAK_PASSWORD"] and weak["token"] is None
    changed = mutate(client, CHANGE, temporary, oldPassword=TEMPORARY, newPassword=NEW)
    assert changed["userErrors"] == [] and changed["user"]["mustChangePassword"] is False
    assert error_code(client.gql(VIEWER, token=temporary)) == "UNAUTHENTICATED"
    assert client.data(VIEWER, token=changed["token"])["viewer"]["mustChangePassword"] is False
    assert client.data(PERSONS, token=changed["token"])["persons"]["totalCount"] >= 0
    assert login(client, county, "collector", TEMPORARY)["token"] is None
    assert client.data(PERSONS, token=client.login(county.code, "collector", NEW))["persons"]["totalCount"] >= 0

    for operation, secret in (("resetPassword", TEMPORARY), ("changePassword", NEW)):
        rows = audit_rows(owner_db, county, operation)
        assert rows and all(r[0] in ("ok", "rejected") for r in rows)
        written = json.dumps(rows, default=str)
        assert secret not in written and "$argon2" not in written and PASSWORD not in written


def test_changing_a_password_ends_the_other_sessions(own, new_county):
    client, county = own.client, on(own, new_county())
    first, second = county.tokens["township"], client.login(county.code, "township", PASSWORD)
    changed = mutate(client, CHANGE, first, oldPassword=PASSWORD, newPassword=NEW)
    assert changed["userErrors"] == [] and changed["token"]
    for token in (first, second):
        assert error_code(client.gql(VIEWER, token=token)) == "UNAUTHENTICATED"
    assert client.data(VIEWER, token=changed["token"])["viewer"]["username"] == "township"
    assert login(client, county, "township", PASSWORD)["token"] is None


def test_a_reset_clears_the_accounts_login_lock(own, new_county):
    client, county = own.client, on(own, new_county())
    collector = user_of(client, county, "collector2")
    for _ in range(12):  # the default limits: locked after 10
        login(client, county, "collector2", "Wrong-password-1")
    assert login(client, county, "collector2", PASSWORD)["token"] is None
    assert mutate(client, RESET, county.tokens["admin"], user=collector["id"], temporaryPassword=TEMPORARY)["userErrors"] == []
    assert login(client, county, "collector2", TEMPORARY)["token"]


@pytest.fixture
def strict_server(settings, urls):
    """Back-off after two failures of an account, a minute long."""
    server = own_server(settings, urls, slow_after=2, lock_after=1000, backoff_seconds=60)
    yield server
    stop(server)


def test_a_wrong_old_password_is_refused_and_throttled(strict_server, new_county, owner_db):
    county = new_county()
    client = strict_server.client
    token = client.login(county.code, "medical", PASSWORD)
    start = strict_server.clock.now()
    strict_server.clock.travel_to(start)
    for _ in range(2):
        wrong = mutate(client, CHANGE, token, oldPassword="Wrong-password-1", newPassword=NEW)
        assert [(e["code"], e["field"]) for e in wrong["userErrors"]] == [("INVALID_CREDENTIALS", ["oldPassword"])]
        assert wrong["token"] is None
    # backing off: the right old password is not even checked, and answers the same
    throttled = mutate(client, CHANGE, token, oldPassword=PASSWORD, newPassword=NEW)
    assert codes(throttled) == ["INVALID_CREDENTIALS"]
    key = throttle_key(strict_server.secret, Subject.ACCOUNT, f"county\x00{county.code}\x00medical")

    async def failures(db):
        return await db.scalar(text("SELECT failures FROM login_throttle WHERE key = :k"), {"k": key})

    assert owner_db(failures) == 2
    assert client.data(VIEWER, token=token)["viewer"]["username"] == "medical"  # nothing changed
    assert len(audit_rows(owner_db, county, "changePassword")) == 3

    strict_server.clock.travel_to(start + timedelta(seconds=61))
    changed = mutate(client, CHANGE, token, oldPassword=PASSWORD, newPassword=NEW)
    assert changed["userErrors"] == [] and changed["token"]
    assert owner_db(failures) is None  # the right password clears the account's count


# -- the list and who may use any of it -------------------------------------------------------


def test_users_lists_filters_and_pages(own, new_county):
    client, county = own.client, on(own, new_county())
    admin = county.tokens["admin"]
    everyone = client.data(USERS, {}, admin)["users"]
    assert everyone["totalCount"] == 7
    by_name = {e["node"]["username"]: e["node"] for e in everyone["edges"]}
    assert sorted(by_name) == [e["node"]["username"] for e in everyone["edges"]]
    assert by_name["collector"]["scope"] == {"code": county.code + "100201"}
    assert by_name["medical"]["department"] == "MEDICAL_SECURITY" and by_name["medical"]["scope"] is None
    assert all(u["lastLoginAt"] and u["active"] and not u["mustChangePassword"] for u in by_name.values())

    collectors = client.data(USERS, {"role": "VILLAGE_COLLECTOR"}, admin)["users"]
    assert collectors["totalCount"] == 2
    assert {e["node"]["username"] for e in collectors["edges"]} == {"collector", "collector2"}
    assert mutate(client, DEACTIVATE, admin, user=by_name["collector2"]["id"])["userErrors"] == []
    inactive = client.data(USERS, {"active": False}, admin)["users"]
    assert [e["node"]["username"] for e in inactive["edges"]] == ["collector2"] and inactive["totalCount"] == 1
    active_collectors = client.data(USERS, {"role": "VILLAGE_COLLECTOR", "active": True}, admin)["users"]
    assert [e["node"]["username"] for e in active_collectors["edges"]] == ["collector"]

    seen, after = [], None
    while True:
        page = client.data(USERS, {"first": 3, "after": after}, admin)["users"]
        assert page["totalCount"] == 7 and len(page["edges"]) <= 3
        seen += [e["node"]["username"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(by_name)
    assert error_code(client.gql(USERS, {"after": "not-a-cursor"}, admin)) == "INVALID_CURSOR"
    node = client.data("query($id: ID!) { node(id: $id) { ... on User { username } } }", {"id": by_name["tax"]["id"]}, admin)
    assert node["node"] == {"username": "tax"}


def test_only_the_county_admin_manages_accounts(own, new_county):
    client, county = own.client, on(own, new_county())
    operator_token = client.login(None, "operator", PASSWORD)
    medical = user_of(client, county, "medical")
    for role in ("collector", "township", "medical", "tax"):
        token = county.tokens[role]
        assert error_code(client.gql(USERS, {}, token)) == "FORBIDDEN"
        assert codes(mutate(client, DEACTIVATE, token, user=medical["id"])) == ["FORBIDDEN"]
        assert codes(mutate(client, REACTIVATE, token, user=medical["id"])) == ["FORBIDDEN"]
        assert codes(mutate(client, RESET, token, user=medical["id"], temporaryPassword=TEMPORARY)) == ["FORBIDDEN"]
    assert codes(mutate(client, DEACTIVATE, operator_token, user=medical["id"])) == ["FORBIDDEN"]
    assert codes(mutate(client, CHANGE, operator_token, oldPassword=PASSWORD, newPassword=NEW)) == ["FORBIDDEN"]
    assert codes(mutate(client, DEACTIVATE, None, user=medical["id"])) == ["UNAUTHENTICATED"]
    assert codes(mutate(client, CHANGE, None, oldPassword=PASSWORD, newPassword=NEW)) == ["UNAUTHENTICATED"]
    assert user_of(client, county, "medical") == medical
    assert client.data(VIEWER, token=county.tokens["medical"])["viewer"]["username"] == "medical"


def test_another_countys_user_is_not_found(own, county_a, county_b):
    client, county_a, county_b = own.client, on(own, county_a), on(own, county_b)
    theirs = user_of(client, county_b, "collector")
    admin_a = county_a.tokens["admin"]
    for document, extra in ((DEACTIVATE, {}), (REACTIVATE, {}), (RESET, {"temporaryPassword": TEMPORARY})):
        payload = mutate(client, document, admin_a, user=theirs["id"], **extra)
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["user"])]
    for bad in ("garbage", county_a.units["100"]):  # malformed, and an ID of another type
        assert codes(mutate(client, DEACTIVATE, admin_a, user=bad)) == ["NOT_FOUND"]
    node = client.data("query($id: ID!) { node(id: $id) { id } }", {"id": theirs["id"]}, admin_a)
    assert node["node"] is None
    assert user_of(client, county_b, "collector") == theirs
    assert client.data(VIEWER, token=county_b.tokens["collector"])["viewer"]["username"] == "collector"
    assert login(client, county_b, "collector", TEMPORARY)["token"] is None


def test_a_token_without_a_session_version_is_refused(client, county_a, settings):
    import time

    import jwt

    now = int(time.time())
    user = user_of(client, county_a, "tax")
    from schema.relay import from_global_id

    tenant_id = from_global_id(county_a.id)[1]
    claims = {"iss": "zhengjiao", "sub": f"user:{from_global_id(user['id'])[1]}", "tid": tenant_id, "iat": now, "exp": now + 60}
    for extra in ({}, {"sv": 5}, {"sv": "0"}, {"sv": -1}):
        token = jwt.encode({**claims, **extra}, settings.secret_key, algorithm="HS256")
        assert error_code(client.gql(VIEWER, token=token)) == "UNAUTHENTICATED", extra
    good = jwt.encode({**claims, "sv": 0}, settings.secret_key, algorithm="HS256")
    assert client.data(VIEWER, token=good)["viewer"]["username"] == "tax"

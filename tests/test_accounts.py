"""login, tokens, createUser and its sense checks."""
from __future__ import annotations

import time

import jwt
import psycopg

from tests.support import CREATE_USER, LOGIN, PASSWORD

VIEWER = "{ viewer { username role } }"


def login(client, tenant, username, password):
    return client.data(LOGIN, {"input": {"tenantCode": tenant, "username": username, "password": password}})["login"]


def test_wrong_password_unknown_user_and_unknown_county_look_the_same(client, county_a):
    results = [
        login(client, county_a.code, "admin", "Wrong-password-1"),
        login(client, county_a.code, "nobody", PASSWORD),
        login(client, "999999", "admin", PASSWORD),
        login(client, None, "admin", PASSWORD),
    ]
    for result in results:
        assert result["token"] is None and result["viewer"] is None
        assert result["userErrors"] == results[0]["userErrors"]
    assert results[0]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


def test_token_only_in_the_authorization_header(client, county_a):
    response = client.post(LOGIN, {"input": {"tenantCode": county_a.code, "username": "admin", "password": PASSWORD}})
    assert "set-cookie" not in response.headers
    token = response.json()["data"]["login"]["token"]
    anonymous = client.http.post("/graphql", json={"query": VIEWER}, cookies={"token": token})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert client.data(VIEWER, token=token)["viewer"]["username"] == "admin"


def test_forged_and_expired_tokens_are_refused(client, county_a, settings):
    now = int(time.time())
    claims = {"iss": "zhengjiao", "sub": "user:1", "tid": 1, "iat": now - 100, "exp": now - 10}
    expired = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    forged = jwt.encode({**claims, "exp": now + 100}, "not-the-key-but-long-enough-for-hs256-0123456789", algorithm="HS256")
    for token in (expired, forged, "garbage"):
        body = client.gql(VIEWER, token=token)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_passwords_are_argon2_hashes(county_a, urls):
    with psycopg.connect(urls.owner) as conn:
        tenant = conn.execute("SELECT id FROM tenant WHERE code = %s", (county_a.code,)).fetchone()[0]
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM app_user")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(PASSWORD in h for h in hashes)


def create(client, county, token=None, **grant):
    grant.setdefault("username", f"user{time.monotonic_ns()}")
    grant.setdefault("password", PASSWORD)
    return client.data(CREATE_USER, {"input": grant}, token or county.tokens["admin"])["createUser"]


def codes(payload):
    return [e["code"] for e in payload["userErrors"]]


def test_create_user_checks_role_against_scope(client, county_a, county_b):
    units = county_a.units
    assert codes(create(client, county_a, role="VILLAGE_COLLECTOR", scope=units["100"])) == ["INVALID_SCOPE"]
    assert codes(create(client, county_a, role="VILLAGE_COLLECTOR")) == ["SCOPE_REQUIRED"]
    assert codes(create(client, county_a, role="TOWNSHIP_STAFF", scope=units["100201"])) == ["INVALID_SCOPE"]
    assert codes(create(client, county_a, role="DEPARTMENT_STAFF")) == ["DEPARTMENT_REQUIRED"]
    assert codes(create(client, county_a, role="DEPARTMENT_STAFF", department="VETERANS")) == ["NOT_FOUND"]
    assert codes(create(client, county_a, role="COUNTY_ADMIN", scope=units["100"])) == ["INVALID_SCOPE"]
    assert codes(create(client, county_a, role="PLATFORM_OPERATOR")) == ["INVALID_ROLE"]
    # another county's unit does not exist here
    assert codes(create(client, county_a, role="VILLAGE_COLLECTOR", scope=county_b.units["100201"])) == ["NOT_FOUND"]
    weak = create(client, county_a, role="COUNTY_ADMIN", username="x", password="123")
    assert {tuple(e["field"]) for e in weak["userErrors"]} == {("username",), ("password",)}


def test_create_user_good_cases(client, county_a):
    school = create(client, county_a, role="VILLAGE_COLLECTOR", scope=county_a.units["900001"], username="teacher1")
    assert school["userErrors"] == []
    assert school["viewer"]["scope"]["code"] == county_a.code + "900001"
    special = create(client, county_a, role="TOWNSHIP_STAFF", scope=county_a.units["900"], username="jiaoti")
    assert special["userErrors"] == []
    assert codes(create(client, county_a, role="COUNTY_ADMIN", username="teacher1")) == ["USERNAME_TAKEN"]
    token = client.login(county_a.code, "teacher1", PASSWORD)
    assert client.data(VIEWER, token=token)["viewer"] == {"username": "teacher1", "role": "VILLAGE_COLLECTOR"}


def test_only_county_admins_create_users(client, county_a, operator_token):
    for role in ("collector", "township", "medical"):
        payload = create(client, county_a, token=county_a.tokens[role], role="COUNTY_ADMIN")
        assert codes(payload) == ["FORBIDDEN"]
    assert codes(create(client, county_a, token=operator_token, role="COUNTY_ADMIN")) == ["FORBIDDEN"]

"""Limits, production masking, logs without ID numbers, the audit trail, the SDL file."""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text

from api.logs import RedactingFilter, redact
from schema.build import build_schema
from schema.relay import encode_cursor
from tests.conftest import start_server
from tests.subsidy_support import policy_input, set_policy
from tests.support import PERSONS, REGISTER, GraphQLClient, new_id_number

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def production(settings, urls):
    server, thread, url = start_server(replace(settings, env="production"), urls)
    yield GraphQLClient(url)
    server.should_exit = True
    thread.join(timeout=10)


def test_depth_alias_and_token_limits(client, county_a):
    token = county_a.tokens["admin"]
    deep = "{ units { edges { node { " + "children { edges { node { " * 6 + "code" + " } } }" * 6 + " } } } }"
    assert client.gql(deep, token=token)["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    aliases = "{ " + " ".join(f"a{i}: viewer {{ username }}" for i in range(40)) + " }"
    assert client.gql(aliases, token=token)["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    tokens = "{ viewer { " + "username " * 6000 + "} }"
    assert "token" in client.gql(tokens, token=token)["errors"][0]["message"].lower()


def test_queries_over_get_are_refused(client):
    response = client.http.get("/graphql", params={"query": "{ viewer { username } }"})
    assert response.status_code in (400, 405)


def test_production_hides_introspection_and_graphiql(production, client):
    body = production.gql("{ __schema { types { name } } }")
    assert body["errors"] and "introspection" in body["errors"][0]["message"].lower()
    assert production.http.get("/graphql", headers={"accept": "text/html"}).status_code != 200
    assert client.http.get("/graphql", headers={"accept": "text/html"}).status_code == 200  # development: GraphiQL


YEAR_POLICY = "query($year: Int!) { yearPolicy(year: $year) { year standard } }"


@pytest.fixture
def broken_county(client, new_county, owner_db):
    """A county whose stored assessment rules were damaged behind the server's back: the
    one way left to make a resolver fail unexpectedly (bad input is refused at the edge)."""
    county = new_county(["RURAL_REVITALIZATION"])
    set_policy(client, county.tokens["admin"], policy_input("neixiang-2027.json"))

    async def damage(db):
        tenant = await db.scalar(text("SELECT id FROM tenant WHERE code = :c"), {"c": county.code})
        await db.bind_tenant(tenant)
        await db.execute(
            text(
                """INSERT INTO assessment_rules (tenant_id, year, rules, updated_by)
                   VALUES (:t, 2027, '{"damaged": true}', 'test')
                   ON CONFLICT (tenant_id, year) DO UPDATE SET rules = EXCLUDED.rules"""
            ),
            {"t": tenant},
        )

    owner_db(damage)
    return county


def test_production_masks_unexpected_errors_with_a_reference(production, broken_county, caplog):
    with caplog.at_level(logging.ERROR, logger="zhengjiao.graphql"):
        response = production.post(YEAR_POLICY, {"year": 2027}, broken_county.tokens["admin"])
    error = response.json()["errors"][0]
    assert error["message"].startswith("系统内部错误（错误编号 ")
    assert error["extensions"]["code"] == "INTERNAL"
    reference = error["extensions"]["correlationId"]
    assert response.headers["x-request-id"] == reference
    assert reference in caplog.text
    assert "damaged" not in error["message"]


def test_expected_errors_stay_readable_in_production(production, county_a):
    body = production.gql(PERSONS, {"filter": {"unit": "bm9wZQ"}}, county_a.tokens["admin"])
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"


def test_logs_carry_no_id_numbers(client, county_a, caplog):
    number = new_id_number()
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.DEBUG):
            variables = {"input": {"idNumber": number, "name": "日志", "unit": county_a.units["100201"]}}
            client.data(REGISTER, variables, county_a.tokens["collector"])
            client.data(REGISTER, variables, county_a.tokens["collector"])  # PERSON_EXISTS
            client.post(PERSONS, {"filter": {"search": number}, "after": encode_cursor(["/", 10**30])}, county_a.tokens["admin"])
            logging.getLogger("zhengjiao.test").error("raw %s in a message", number)
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert caplog.records
    assert number not in caplog.text
    assert number[:6] + "********" in caplog.text


def test_redact():
    assert redact("id 411325199001011234 and 41132519900101123X") == "id 411325******** and 411325********"
    assert redact('{"password": "s3cret-pass"}') == '{"password": "***"}'
    assert redact("amount 350.00 on 2022-10-15") == "amount 350.00 on 2022-10-15"


def test_every_mutation_is_audited(client, county_a, urls):
    number = new_id_number()
    variables = {"input": {"idNumber": number, "name": "审计", "unit": county_a.units["100201"]}}
    client.data(REGISTER, variables, county_a.tokens["collector"])
    client.data(REGISTER, variables, county_a.tokens["collector"])
    with psycopg.connect(urls.owner) as conn:
        tenant = conn.execute("SELECT id FROM tenant WHERE code = %s", (county_a.code,)).fetchone()[0]
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
        rows = conn.execute(
            "SELECT outcome, after::text, correlation_id FROM audit_log WHERE operation = 'registerPerson' ORDER BY id DESC LIMIT 2"
        ).fetchall()
    assert [r[0] for r in rows] == ["rejected", "ok"]
    assert all(number not in r[1] for r in rows)
    assert "PERSON_EXISTS" in rows[0][1]
    assert all(r[2] for r in rows)


def test_schema_file_is_current():
    """Front-end teams generate clients from schema.graphql: `make schema` refreshes it."""
    checked_in = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert checked_in == build_schema().as_str() + "\n", "schema.graphql is stale: run `make schema`"


def test_health(client):
    assert httpx.get(client.base_url + "/healthz").json() == {"status": "ok"}

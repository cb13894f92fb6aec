"""Cross-tenant probes from the outside: county A's users asking for county B's things."""
from __future__ import annotations

import pytest

from tests.support import (
    CREATE_USER,
    PASSWORD,
    PERSONS,
    REGISTER,
    UNIT_BY_CODE,
    new_id_number,
)

NODE = "query($id: ID!) { node(id: $id) { id ... on Person { idNumber } ... on Unit { code } } }"
UNITS = "query($parent: ID) { units(parent: $parent) { totalCount edges { node { code } } } }"
PERSON = "query($id: String!) { person(idNumber: $id) { idNumber } }"


@pytest.fixture(scope="module")
def b_person(client, county_b):
    number = new_id_number(region="411302")
    variables = {"input": {"idNumber": number, "name": "乙县人", "unit": county_b.units["100201"]}}
    payload = client.data(REGISTER, variables, county_b.tokens["collector"])["registerPerson"]
    assert payload["userErrors"] == []
    return payload["person"]


ROLES = ("admin", "collector", "township", "medical", "tax", "civil")


@pytest.mark.parametrize("who", ROLES)
def test_a_cannot_read_b_persons(client, county_a, b_person, who):
    token = county_a.tokens[who]
    assert client.data(PERSON, {"id": b_person["idNumber"]}, token)["person"] is None
    assert client.data(NODE, {"id": b_person["id"]}, token)["node"] is None
    search = client.data(PERSONS, {"filter": {"search": b_person["idNumber"]}}, token)["persons"]
    assert search["totalCount"] == 0 and search["edges"] == []


@pytest.mark.parametrize("who", ROLES)
def test_a_cannot_read_b_units(client, county_a, county_b, who):
    token = county_a.tokens[who]
    assert client.data(UNIT_BY_CODE, {"code": county_b.code + "100"}, token)["unitByCode"] is None
    assert client.data(NODE, {"id": county_b.units["100"]}, token)["node"] is None
    children = client.data(UNITS, {"parent": county_b.units["100"]}, token)["units"]
    assert children["totalCount"] == 0
    body = client.gql(PERSONS, {"filter": {"unit": county_b.units["100"]}}, token)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_cannot_write_into_b(client, county_a, county_b):
    register = client.data(
        REGISTER, {"input": {"idNumber": new_id_number(), "name": "越界", "unit": county_b.units["100201"]}}, county_a.tokens["admin"]
    )["registerPerson"]
    assert register["person"] is None and register["userErrors"][0]["code"] == "NOT_FOUND"
    user = client.data(
        CREATE_USER,
        {"input": {"username": "intruder", "password": PASSWORD, "role": "VILLAGE_COLLECTOR", "scope": county_b.units["100201"]}},
        county_a.tokens["admin"],
    )["createUser"]
    assert user["userErrors"][0]["code"] == "NOT_FOUND"


def test_same_id_number_may_exist_in_two_counties(client, county_a, b_person):
    """重复参保 across counties is detectable later; it is not a registration error here."""
    payload = client.data(
        REGISTER, {"input": {"idNumber": b_person["idNumber"], "name": "乙县人", "unit": county_a.units["100201"]}}, county_a.tokens["collector"]
    )["registerPerson"]
    assert payload["userErrors"] == []


def test_a_token_for_b_cannot_be_made_from_a_login(client, county_a, county_b):
    # same username in both counties: the tenant code decides which account logs in
    token_a = client.login(county_a.code, "collector", PASSWORD)
    viewer = client.data("{ viewer { tenant { code } scope { code } } }", token=token_a)["viewer"]
    assert viewer["tenant"]["code"] == county_a.code
    assert viewer["scope"]["code"].startswith(county_a.code)


def test_operator_reads_no_county_data(client, operator_token, b_person, county_b):
    body = client.gql(PERSONS, {}, operator_token)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert client.gql(PERSON, {"id": b_person["idNumber"]}, operator_token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert client.gql(UNITS, {}, operator_token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"

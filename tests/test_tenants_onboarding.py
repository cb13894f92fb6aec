"""onboardTenant and addUnits: one transaction, named errors, idempotent retries."""
from __future__ import annotations

import itertools

import psycopg
import pytest

from tests.support import ONBOARD, PASSWORD, UNIT_BY_CODE, small_tree, unit

_codes = itertools.count(600101)

ADD_UNITS = """
mutation($input: AddUnitsInput!) {
  addUnits(input: $input) { units { id code name kind path parent { code } } userErrors { field code message } }
}"""

UNITS = """
query($parent: ID, $first: Int, $after: String) {
  units(parent: $parent, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id code name kind children { totalCount } } }
  }
}"""


def onboard_input(code: str, units=None, **extra) -> dict:
    return {
        "input": {
            "code": code,
            "name": f"测试县{code}",
            "units": units if units is not None else small_tree(code),
            "departments": ["MEDICAL_SECURITY", "TAX", "DISABLED_FEDERATION"],
            "admin": {"username": "admin", "password": PASSWORD},
            **extra,
        }
    }


def tenant_rows(urls, code: str) -> dict[str, int]:
    with psycopg.connect(urls.owner) as conn:
        row = conn.execute("SELECT id FROM tenant WHERE code = %s", (code,)).fetchone()
        if row is None:
            return {"tenant": 0}
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(row[0]),))
        counts = {"tenant": 1}
        for table in ("unit", "department", "app_user", "audit_log"):
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return counts


def test_onboarding_writes_everything_at_once(client, operator_token, urls):
    code = str(next(_codes))
    payload = client.data(ONBOARD, onboard_input(code), operator_token)["onboardTenant"]
    assert payload["userErrors"] == []
    assert payload["tenant"]["code"] == code
    assert tenant_rows(urls, code) == {"tenant": 1, "unit": 8, "department": 3, "app_user": 1, "audit_log": 1}
    admin = client.login(code, "admin", PASSWORD)
    top = client.data(UNITS, {}, admin)["units"]
    assert [e["node"]["code"] for e in top["edges"]] == [code + "100", code + "300", code + "900"]
    assert top["edges"][2]["node"]["kind"] == "SPECIAL"
    assert top["edges"][0]["node"]["children"]["totalCount"] == 2
    school = client.data(UNIT_BY_CODE, {"code": code + "900001"}, admin)["unitByCode"]
    assert school["kind"] == "SCHOOL"
    assert school["path"].count("/") == 3  # /special/school/


def test_reonboarding_is_refused_and_retry_is_idempotent(client, operator_token, urls):
    code = str(next(_codes))
    first = client.data(ONBOARD, onboard_input(code, clientMutationId="req-1"), operator_token)["onboardTenant"]
    again = client.data(ONBOARD, onboard_input(code, clientMutationId="req-1"), operator_token)["onboardTenant"]
    assert again["userErrors"] == [] and again["tenant"] == first["tenant"]
    other = client.data(ONBOARD, onboard_input(code, clientMutationId="req-2"), operator_token)["onboardTenant"]
    assert other["tenant"] is None
    assert [e["code"] for e in other["userErrors"]] == ["TENANT_EXISTS"]
    plain = client.data(ONBOARD, onboard_input(code), operator_token)["onboardTenant"]
    assert [e["code"] for e in plain["userErrors"]] == ["TENANT_EXISTS"]
    assert tenant_rows(urls, code)["unit"] == 8


@pytest.mark.parametrize(
    ("units", "code", "field", "mentions"),
    [
        (lambda c: [unit(c + "100", "城关镇", "TOWN"), unit(c + "100", "另一个镇", "TOWN")], "DUPLICATE_CODE", ["units", "1", "code"], "另一个镇"),
        (lambda c: [unit(c + "100", "  ", "TOWN")], "EMPTY_NAME", ["units", "0", "name"], "100"),
        (
            lambda c: [unit(c + "100", "城关镇", "TOWN", [unit(c + "100201", "张庄村", "VILLAGE", [unit(c + "100202", "小村", "VILLAGE")])])],
            "INVALID_PARENT",
            ["units", "0", "children", "0", "children", "0"],
            "张庄村",
        ),
    ],
)
def test_bad_trees_write_nothing(client, operator_token, urls, units, code, field, mentions):
    tenant = str(next(_codes))
    payload = client.data(ONBOARD, onboard_input(tenant, units(tenant)), operator_token)["onboardTenant"]
    assert payload["tenant"] is None
    errors = [e for e in payload["userErrors"] if e["code"] == code]
    assert errors and errors[0]["field"] == field and mentions in errors[0]["message"]
    assert tenant_rows(urls, tenant) == {"tenant": 0}


def test_five_thousand_units_with_one_bad_at_the_end(client, operator_token, urls):
    tenant = str(next(_codes))
    townships = []
    for t in range(50):
        villages = [unit(f"{tenant}{t:03d}{v:03d}", f"村{t}-{v}", "VILLAGE") for v in range(99)]
        townships.append(unit(f"{tenant}{t:03d}", f"镇{t}", "TOWN", villages))
    townships[-1]["children"][-1]["name"] = ""  # unit number 5,000
    payload = client.data(ONBOARD, onboard_input(tenant, townships), operator_token)["onboardTenant"]
    assert payload["tenant"] is None
    assert len(payload["userErrors"]) == 1
    error = payload["userErrors"][0]
    assert error["code"] == "EMPTY_NAME"
    assert error["field"] == ["units", "49", "children", "98", "name"]
    assert f"{tenant}049098" in error["message"]
    assert tenant_rows(urls, tenant) == {"tenant": 0}
    townships[-1]["children"][-1]["name"] = "最后一个村"
    payload = client.data(ONBOARD, onboard_input(tenant, townships), operator_token)["onboardTenant"]
    assert payload["userErrors"] == []
    assert tenant_rows(urls, tenant)["unit"] == 5000


def test_bad_admin_or_code_writes_nothing(client, operator_token, urls):
    tenant = str(next(_codes))
    bad = onboard_input(tenant)
    bad["input"]["admin"]["password"] = "short"
    payload = client.data(ONBOARD, bad, operator_token)["onboardTenant"]
    assert [e["field"] for e in payload["userErrors"]] == [["admin", "password"]]
    assert tenant_rows(urls, tenant) == {"tenant": 0}
    payload = client.data(ONBOARD, onboard_input("41"), operator_token)["onboardTenant"]
    assert payload["userErrors"][0]["code"] == "INVALID_CODE"


def test_only_operators_onboard(client, county_a):
    payload = client.data(ONBOARD, onboard_input(str(next(_codes))), county_a.tokens["admin"])["onboardTenant"]
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]
    anonymous = client.data(ONBOARD, onboard_input(str(next(_codes))))["onboardTenant"]
    assert [e["code"] for e in anonymous["userErrors"]] == ["UNAUTHENTICATED"]


def test_add_units_grows_the_tree(client, new_county):
    county = new_county()
    admin = county.tokens["admin"]
    township = county.units["300"]
    payload = client.data(
        ADD_UNITS,
        {"input": {"parent": township, "units": [unit(county.code + "300203", "新村", "VILLAGE"), unit(county.code + "300001", "新社区", "COMMUNITY")]}},
        admin,
    )["addUnits"]
    assert payload["userErrors"] == []
    assert {u["code"] for u in payload["units"]} == {county.code + "300203", county.code + "300001"}
    assert all(u["parent"]["code"] == county.code + "300" for u in payload["units"])
    top = client.data(ADD_UNITS, {"input": {"parent": None, "units": [unit(county.code + "400", "阳明山管理局", "MANAGEMENT_AREA")]}}, admin)
    assert top["addUnits"]["units"][0]["path"].count("/") == 2


def test_add_units_rejects_bad_input_and_collectors(client, new_county):
    county = new_county()
    admin = county.tokens["admin"]
    village = county.units["100201"]
    under_village = client.data(ADD_UNITS, {"input": {"parent": village, "units": [unit(county.code + "100299", "组", "VILLAGE")]}}, admin)
    assert under_village["addUnits"]["userErrors"][0]["code"] == "INVALID_PARENT"
    taken = client.data(ADD_UNITS, {"input": {"parent": None, "units": [unit(county.code + "100", "重复", "TOWN")]}}, admin)
    assert taken["addUnits"]["userErrors"][0]["code"] == "DUPLICATE_CODE"
    collector = client.data(ADD_UNITS, {"input": {"parent": village, "units": [unit(county.code + "100298", "x", "VILLAGE")]}}, county.tokens["collector"])
    assert collector["addUnits"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert client.data(UNIT_BY_CODE, {"code": county.code + "100298"}, admin)["unitByCode"] is None


def test_units_are_keyset_paginated(client, new_county):
    county = new_county()
    admin = county.tokens["admin"]
    township = county.units["300"]
    client.data(ADD_UNITS, {"input": {"parent": township, "units": [unit(f"{county.code}300{i:03d}", f"村{i}", "VILLAGE") for i in range(210, 240)]}}, admin)
    seen, after = [], None
    while True:
        page = client.data(UNITS, {"parent": township, "first": 7, "after": after}, admin)["units"]
        assert page["totalCount"] == 32
        seen += [e["node"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen) and len(set(seen)) == 32

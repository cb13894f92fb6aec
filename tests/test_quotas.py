"""setQuotas and quotas(year) over HTTP; the seed tables loaded into real counties."""
from __future__ import annotations

import asyncio

import pytest

from api.quota_cli import apply_quotas
from domain.progress.files import QUOTA_FILES, read_quota_file
from domain.progress.store import load_demo_quotas
from tenants.problems import Rejected
from tests.quota_support import (
    QUOTAS,
    SET_QUOTAS,
    by_code,
    onboard_tree,
    progress,
    set_quotas,
)
from tests.support import chinese, unit


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def targets(client, token: str, year: int) -> dict[str, int]:
    return {q["unit"]["code"]: q["target"] for q in client.data(QUOTAS, {"year": year}, token)["quotas"]}


def test_admin_sets_quotas_and_scoped_roles_read_their_own(client, new_county):
    county = new_county()
    admin, c = county.tokens["admin"], county.code
    payload = set_quotas(client, admin, 2027, {county.units["100"]: 5, county.units["300"]: 3, county.units["900"]: 2})
    assert payload["userErrors"] == []
    assert {q["unit"]["code"]: q["target"] for q in payload["quotas"]} == {c + "100": 5, c + "300": 3, c + "900": 2}
    assert targets(client, county.tokens["medical"], 2027) == {c + "100": 5, c + "300": 3, c + "900": 2}
    assert targets(client, county.tokens["township"], 2027) == {c + "100": 5}
    assert targets(client, county.tokens["collector"], 2027) == {}
    assert targets(client, admin, 2026) == {}

    # upsert: one changed, the others kept; replace: the others dropped
    set_quotas(client, admin, 2027, {county.units["100"]: 6})
    assert targets(client, admin, 2027) == {c + "100": 6, c + "300": 3, c + "900": 2}
    set_quotas(client, admin, 2027, {county.units["300"]: 4, county.units["900001"]: 1}, replace=True)
    assert targets(client, admin, 2027) == {c + "300": 4, c + "900001": 1}


def test_bad_quotas_are_all_reported_and_nothing_is_written(client, new_county):
    county = new_county()
    admin = county.tokens["admin"]
    set_quotas(client, admin, 2027, {county.units["100"]: 5})
    variables = {"input": {"year": 2027, "quotas": [
        {"unit": county.units["300"], "target": 7},
        {"unit": "not-an-id", "target": 1},
        {"unit": county.units["900"], "target": -1},
        {"unit": county.units["300"], "target": 2},
    ]}}
    payload = client.data(SET_QUOTAS, variables, admin)["setQuotas"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("NOT_FOUND", ["quotas", "1", "unit"]),
        ("INVALID_TARGET", ["quotas", "2", "target"]),
        ("DUPLICATE_UNIT", ["quotas", "3", "unit"]),
    ]
    assert payload["quotas"] == []
    assert targets(client, admin, 2027) == {county.code + "100": 5}
    assert codes(set_quotas(client, admin, 1999, {county.units["100"]: 5})) == ["INVALID_YEAR"]
    assert codes(set_quotas(client, admin, 2027, {})) == ["EMPTY"]


def test_only_the_county_admin_sets_quotas_and_only_its_own(client, new_county, county_b):
    county = new_county()
    for who in ("collector", "township", "medical", "tax"):
        assert codes(set_quotas(client, county.tokens[who], 2027, {county.units["100"]: 5})) == ["FORBIDDEN"], who
    # another county's admin: the unit does not exist in its county
    assert codes(set_quotas(client, county_b.tokens["admin"], 2027, {county.units["100"]: 5})) == ["NOT_FOUND"]
    assert targets(client, county.tokens["admin"], 2027) == {}
    assert targets(client, county_b.tokens["admin"], 2027) == {}


BAIGONGSHAN_TREE = [
    unit("340405001", "新庄孜街道", "STREET", [unit("340405001001", "新庄孜社区", "COMMUNITY")]),
    unit("340405002", "土坝孜街道", "STREET"),
    unit("340405003", "毕家岗街道", "STREET"),
    unit("340405100", "八公山镇", "TOWN", [unit("340405100200", "妙山村", "VILLAGE")]),
    unit("340405121", "山王镇", "TOWN"),
    unit("340405901", "区残联", "SPECIAL"),
    unit("340405902", "区教体局", "SPECIAL", [unit("340405902001", "八公山中学", "SCHOOL")]),
]


def test_baigongshan_2022_table_loads_and_totals_70000(client, operator_token, settings, urls):
    county = onboard_tree(client, operator_token, "940405", "八公山区（测试）", BAIGONGSHAN_TREE)
    table = read_quota_file(QUOTA_FILES / "baigongshan-2022.json")
    asyncio.run(apply_quotas(urls, settings, county.code, table, None, "test"))
    loaded = targets(client, county.tokens["admin"], 2022)
    assert sum(loaded.values()) == 70_000 and len(loaded) == 7
    assert (loaded["340405901"], loaded["340405902"]) == (1400, 2717)
    rows = by_code(progress(client, county.tokens["admin"], 2022))
    assert rows["340405121"]["target"] == 22688 and sum(r["target"] for r in rows.values()) == 70_000
    # a school under 区教体局 carries no quota of its own
    school = progress(client, county.tokens["admin"], 2022, county.units["340405902"])
    assert [(r["unit"]["code"], r["target"]) for r in school] == [("340405902001", 0)]


def test_a_table_naming_unknown_units_is_refused_whole(client, operator_token, settings, urls):
    county = onboard_tree(client, operator_token, "940406", "缺乡镇的县", BAIGONGSHAN_TREE[:2])
    table = read_quota_file(QUOTA_FILES / "baigongshan-2022.json")
    with pytest.raises(Rejected) as rejected:
        asyncio.run(apply_quotas(urls, settings, county.code, table, None, "test"))
    assert {p.code for p in rejected.value.problems} == {"NOT_FOUND"}
    assert any("340405121（山王镇）" in chinese(p) for p in rejected.value.problems)
    assert targets(client, county.tokens["admin"], 2022) == {}


def test_demo_county_gets_neixiang_2023_table(client, settings, urls, owner_db):
    import contextlib
    import io
    import os

    from api.demo import DEFAULT_PASSWORD, TENANT_CODE, run_demo
    from tenants.onboarding import find_tenant

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert run_demo(persons=300, if_empty=True, seed=7, settings=settings, urls=urls) == 0  # as tests/test_demo.py
    tenant_id = owner_db(lambda db: find_tenant(db, TENANT_CODE))[0].id
    owner_db(lambda db: load_demo_quotas(db, tenant_id), tenant_id)
    owner_db(lambda db: load_demo_quotas(db, tenant_id), tenant_id)  # twice: the same table
    admin = client.login(TENANT_CODE, "admin", os.environ.get("ZHENGJIAO_DEMO_PASSWORD") or DEFAULT_PASSWORD)
    for year in (2023, 2027):
        loaded = targets(client, admin, year)
        assert (len(loaded), sum(loaded.values())) == (16, 604_120)
    rows = by_code(progress(client, admin, 2023))
    assert rows["411325104"]["target"] == 62010  # 湍东镇
    assert rows["411325901"]["target"] == 0  # 县残联: no quota in the 内乡 table

"""`zhengjiao demo`: the demo county 内乡县 loads, is valid, and its accounts work."""
from __future__ import annotations

import contextlib
import io
import os
from datetime import date

import pytest
from sqlalchemy import text

from api.demo import (
    DEFAULT_PASSWORD,
    TENANT_CODE,
    TOWNSHIPS,
    PersonFactory,
    build_plan,
    person_counts,
    run_demo,
)
from domain.persons.idnumber import parse_id_number
from tests.support import PERSONS

DEMO_PERSONS = 300
UNITS = """
query($parent: ID) {
  units(parent: $parent, first: 100) { totalCount edges { node { id code name kind } } }
}"""
USERS = ["admin", "yibao", "shuiwu", "minzheng", "xiangcun", "caizheng", "chengguan", "zhangzhuang"]
TOWNSHIP_NAMES = {
    "411325100": "城关镇", "411325101": "夏馆镇", "411325102": "师岗镇", "411325103": "马山口镇",
    "411325104": "湍东镇", "411325105": "赤眉镇", "411325106": "瓦亭镇", "411325107": "王店镇",
    "411325108": "灌涨镇", "411325109": "桃溪镇", "411325110": "岞曲镇", "411325111": "余关镇",
    "411325300": "板场乡", "411325301": "大桥乡", "411325302": "赵店乡", "411325306": "七里坪乡",
}


def _password() -> str:
    return os.environ.get("ZHENGJIAO_DEMO_PASSWORD") or DEFAULT_PASSWORD


def _quiet_demo(**kwargs) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_demo(**kwargs)
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def demo(settings, urls, owner_db):
    """Load the demo once; with a reused database (DATABASE_URL) it may be there already."""
    from tenants.onboarding import find_tenant

    fresh = owner_db(lambda db: find_tenant(db, TENANT_CODE)) is None
    code, output = _quiet_demo(persons=DEMO_PERSONS, if_empty=True, seed=7, settings=settings, urls=urls)
    assert code == 0, output
    tenant_id = owner_db(lambda db: find_tenant(db, TENANT_CODE))[0].id
    return {"fresh": fresh, "output": output, "tenant_id": tenant_id}


@pytest.fixture(scope="module")
def admin_token(demo, client):
    return client.login(TENANT_CODE, "admin", _password())


def test_sixteen_townships_and_special_units(demo, client, admin_token):
    top = client.data(UNITS, {"parent": None}, admin_token)["units"]
    nodes = {e["node"]["code"]: e["node"] for e in top["edges"]}
    townships = {code: n["name"] for code, n in nodes.items() if n["kind"] in ("TOWN", "TOWNSHIP")}
    assert townships == TOWNSHIP_NAMES
    assert "岞曲镇" in townships.values()
    assert {nodes[c]["kind"] for c in ("411325300", "411325301", "411325302", "411325306")} == {"TOWNSHIP"}
    assert (nodes["411325901"]["name"], nodes["411325901"]["kind"]) == ("县残联", "SPECIAL")
    assert (nodes["411325902"]["name"], nodes["411325902"]["kind"]) == ("县教体局", "SPECIAL")
    assert top["totalCount"] == 18

    schools = client.data(UNITS, {"parent": nodes["411325902"]["id"]}, admin_token)["units"]["edges"]
    assert len(schools) == 3 and {e["node"]["kind"] for e in schools} == {"SCHOOL"}
    assert "内乡县第一高级中学" in {e["node"]["name"] for e in schools}

    villages = client.data(UNITS, {"parent": nodes["411325100"]["id"]}, admin_token)["units"]["edges"]
    kinds = [e["node"]["kind"] for e in villages]
    assert kinds.count("COMMUNITY") >= 1 and 12 <= kinds.count("VILLAGE") <= 25
    assert all(len(e["node"]["code"]) == 12 for e in villages)
    assert "张庄村" in {e["node"]["name"] for e in villages}


def test_persons_count_and_valid_id_numbers(demo, client, admin_token, owner_db):
    total = client.data(PERSONS, {"first": 1}, admin_token)["persons"]["totalCount"]
    if demo["fresh"]:
        assert total == DEMO_PERSONS
    else:
        assert total > 0

    async def rows(db):
        result = await db.execute(text("SELECT id_number, birth_date, sex, created_by FROM person"))
        return result.all()

    persons = owner_db(rows, demo["tenant_id"])
    assert len(persons) == total
    assert len({p.id_number for p in persons}) == len(persons)
    for p in persons:
        parsed = parse_id_number(p.id_number)
        assert (parsed.birth_date, parsed.sex) == (p.birth_date, p.sex)
        assert date(1930, 1, 1) <= p.birth_date <= date(2026, 12, 31)
    if demo["fresh"]:
        assert {p.created_by for p in persons} == {"demo"}


def test_demo_users_log_in_and_see_their_scope(demo, client, admin_token):
    tokens = {user: client.login(TENANT_CODE, user, _password()) for user in USERS}
    assert all(tokens.values())
    county = client.data(PERSONS, {"first": 1}, admin_token)["persons"]["totalCount"]
    township = client.data(PERSONS, {"first": 50}, tokens["chengguan"])["persons"]
    village = client.data(PERSONS, {"first": 50}, tokens["zhangzhuang"])["persons"]
    assert village["totalCount"] <= township["totalCount"] < county
    assert all(e["node"]["unit"]["code"].startswith("411325100") for e in township["edges"])
    assert all(e["node"]["unit"]["code"] == "411325100200" for e in village["edges"])
    if "operator  " in demo["output"] and "（未改变" not in demo["output"]:
        assert client.login(None, "operator", _password())


def test_second_run_is_refused_or_skipped(demo, settings, urls):
    code, output = _quiet_demo(persons=10, if_empty=False, seed=7, settings=settings, urls=urls)
    assert code == 1 and "已经载入" in output
    code, output = _quiet_demo(persons=10, if_empty=True, seed=7, settings=settings, urls=urls)
    assert code == 0 and "无需操作" in output


def test_plan_is_deterministic_and_follows_the_quotas():
    plan, again = build_plan(411325), build_plan(411325)
    assert [(u.code, u.name, [(c.code, c.name) for c in u.children]) for u in plan.units] == [
        (u.code, u.name, [(c.code, c.name) for c in u.children]) for u in again.units
    ]
    for township in plan.units[:16]:
        names = [c.name for c in township.children if c.kind.value == "VILLAGE"]
        assert len(names) == len(set(names)) and 12 <= len(names) <= 25
        assert 1 <= sum(c.kind.value == "COMMUNITY" for c in township.children)
    counts = person_counts(plan, 604_120)
    assert sum(counts.values()) == 604_120
    by_township = {}
    for leaf in plan.leaves:
        by_township[leaf.township] = by_township.get(leaf.township, 0) + counts[leaf.code]
    quota = {TENANT_CODE + suffix: q for suffix, _, _, q in TOWNSHIPS}
    ratios = [by_township[code] / q for code, q in quota.items()]
    assert max(ratios) - min(ratios) < 0.001  # township share ∝ its 2023 quota


def test_id_numbers_stay_unique_on_a_crowded_day():
    factory = PersonFactory(1, today=date(2026, 11, 22))
    day = date(1990, 5, 17).toordinal()
    numbers = [factory.id_number("411325", day, male=i % 2 == 0) for i in range(1500)]
    assert len({n for n, _ in numbers}) == 1500
    for number, ordinal in numbers:
        parsed = parse_id_number(number)
        assert parsed.birth_date.toordinal() == ordinal >= day
        assert 1 <= int(number[14:17]) <= 999
    persons = [factory.person(students=False) for _ in range(5000)]
    assert len({p[0] for p in persons}) == 5000
    assert all(parse_id_number(p[0]).sex == p[3] for p in persons)

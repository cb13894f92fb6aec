"""quotaProgress over HTTP: equal to a recount, ranked stably, scoped, and frozen in snapshots."""
from __future__ import annotations

import asyncio
from datetime import date, timedelta

from api.quota_cli import snapshot_all
from tests.payment_support import (
    campaign,
    decide,
    new_person,
    pay,
    request_refund,
    shanghai,
    tally_matches_recount,
)
from tests.quota_support import (
    HISTORY,
    PROGRESS,
    SNAPSHOT,
    by_code,
    progress,
    set_quotas,
    subtree_recount,
    unit_paths,
)
from tests.subsidy_support import csv_list, upload

YEAR = 2027
DAY = date(2026, 11, 5)
SUFFIXES = ["100", "100001", "100201", "300", "300201", "300202", "900", "900001"]
FIGURES = ("persons", "enrolled", "paid", "subsidized", "unpaid", "refunded")


def tax_pay(client, county, person: str, on: date = DAY) -> str:
    result = pay(client, county.tokens["tax"], person, YEAR, "400.00", on, channel="TAX_HALL")
    assert result["userErrors"] == [], result
    return result["payment"]["id"]


def assert_progress_is_the_recount(client, owner_db, county, paths: dict[str, str]) -> None:
    """Every level of the tree: each child's figures equal a count of its persons' rows."""
    admin = county.tokens["admin"]
    for parent in (None, "100", "300", "900"):
        rows = progress(client, admin, YEAR, county.units[parent] if parent else None)
        assert rows, parent
        for row in rows:
            suffix = row["unit"]["code"][len(county.code):]
            truth = subtree_recount(owner_db, county, YEAR, paths[suffix])
            assert {k: row[k] for k in FIGURES} == truth, (suffix, row, truth)
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount


def test_progress_equals_the_recount_after_payments_refunds_and_list_changes(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=DAY)
    paths = unit_paths(client, county, SUFFIXES)
    set_quotas(client, county.tokens["admin"], YEAR, {county.units["100"]: 4, county.units["300"]: 4, county.units["900"]: 1})
    people = {suffix: [new_person(client, county, unit=suffix, name=f"居民{suffix[-3:]}{i}") for i in range(n)]
              for suffix, n in (("100001", 2), ("100201", 3), ("300201", 2), ("300202", 1), ("900001", 2))}
    assert_progress_is_the_recount(client, owner_db, county, paths)

    # a 特困 person is enrolled by the list, nobody collects
    tekun = people["100001"][0]
    listed = upload(client, county.tokens["civil_affairs"], YEAR, "tekun", csv_list([("居民0010", tekun, "东关社区", None, None)]))
    assert listed["userErrors"] == [] and listed["rowErrors"] == []
    payments = [tax_pay(client, county, p) for p in (people["100201"] + people["300201"][:1] + people["900001"][:1])]
    assert_progress_is_the_recount(client, owner_db, county, paths)
    top = by_code(progress(client, county.tokens["admin"], YEAR))
    assert top[county.code + "100"]["enrolled"] == 4 and top[county.code + "100"]["rate"] == 1.0

    # a refund takes a paid person out again
    refund = request_refund(client, county.tokens["tax"], payments[0], "GAVE_UP", eventDate=DAY.isoformat())
    assert refund["userErrors"] == []
    assert decide(client, county.tokens["tax"], refund["refund"]["id"])["userErrors"] == []
    assert_progress_is_the_recount(client, owner_db, county, paths)

    # the list changes: the first 特困 person drops off, another comes on
    other = people["300202"][0]
    relisted = upload(client, county.tokens["civil_affairs"], YEAR, "tekun", csv_list([("居民2020", other, "王沟村", None, None)]),
                      confirm_removals=True)
    assert (relisted["batch"]["added"], relisted["batch"]["removed"]) == (1, 1)
    assert_progress_is_the_recount(client, owner_db, county, paths)
    rows = by_code(progress(client, county.tokens["admin"], YEAR))
    c = county.code
    assert {k: rows[c + "100"][k] for k in ("target", "enrolled", "remaining", "percent")} == {
        "target": 4, "enrolled": 2, "remaining": 2, "percent": "50.00",
    }
    assert (rows[c + "300"]["enrolled"], rows[c + "300"]["subsidized"]) == (2, 1)


def test_ranking_ties_share_a_rank_in_a_stable_order(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=DAY)
    c, admin = county.code, county.tokens["admin"]
    set_quotas(client, admin, YEAR, {county.units["100"]: 4, county.units["300"]: 2, county.units["900"]: 1})
    for suffix, paid in (("100201", 2), ("300201", 1), ("900001", 1)):
        for i in range(paid):
            tax_pay(client, county, new_person(client, county, unit=suffix, name=f"排名{suffix[-3:]}{i}"))
    expected = [(c + "900", 1, 1.0), (c + "100", 2, 0.5), (c + "300", 2, 0.5)]
    for _ in range(3):
        rows = progress(client, admin, YEAR)
        assert [(r["unit"]["code"], r["rank"], r["rate"]) for r in rows] == expected
        assert {r["siblings"] for r in rows} == {3}


def test_scoped_callers_see_their_own_line_with_its_rank(client, new_county, county_b, clock, operator_token):
    county, _ = campaign(client, new_county, clock, today=DAY)
    c = county.code
    set_quotas(client, county.tokens["admin"], YEAR, {county.units["100"]: 2, county.units["300"]: 1})
    tax_pay(client, county, new_person(client, county, unit="300201"))

    township = progress(client, county.tokens["township"], YEAR)
    assert [(r["unit"]["code"], r["rank"], r["siblings"]) for r in township] == [(c + "100", 2, 3)]
    collector = progress(client, county.tokens["collector"], YEAR)
    assert [r["unit"]["code"] for r in collector] == [c + "100"]
    villages = progress(client, county.tokens["collector"], YEAR, county.units["100"])
    assert [(r["unit"]["code"], r["siblings"]) for r in villages] == [(c + "100201", 2)]
    assert [r["unit"]["code"] for r in progress(client, county.tokens["township"], YEAR, county.units["100"])] == [
        c + "100001", c + "100201",
    ]

    def error(token: str, parent: str | None) -> str:
        body = client.gql(PROGRESS, {"year": YEAR, "parent": parent}, token)
        assert body["data"] is None
        return body["errors"][0]["extensions"]["code"]

    assert error(county.tokens["collector2"], county.units["100"]) == "NOT_FOUND"  # another village's township
    assert error(county.tokens["collector"], county.units["300"]) == "NOT_FOUND"
    assert error(county_b.tokens["admin"], county.units["100"]) == "NOT_FOUND"  # another county
    assert error(operator_token, None) == "FORBIDDEN"
    assert {r["unit"]["code"][:6] for r in progress(client, county_b.tokens["admin"], YEAR)} <= {county_b.code}


def test_snapshots_give_history_weekly_ranks_and_past_rankings(client, new_county, clock, settings, urls):
    county, _ = campaign(client, new_county, clock, today=DAY)
    c, admin = county.code, county.tokens["admin"]
    set_quotas(client, admin, YEAR, {county.units["100"]: 2, county.units["300"]: 2})
    first = new_person(client, county, unit="100201")
    second = new_person(client, county, unit="300201")
    tax_pay(client, county, first)

    taken = client.data(SNAPSHOT, {"input": {"year": YEAR}}, admin)["takeProgressSnapshot"]
    assert (taken["day"], taken["userErrors"]) == (DAY.isoformat(), []) and taken["units"] == len(SUFFIXES)
    for who in ("township", "collector", "medical"):
        refused = client.data(SNAPSHOT, {"input": {"year": YEAR}}, county.tokens[who])["takeProgressSnapshot"]
        assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]

    # a week later, by the command line: 板场乡 has caught up
    later = DAY + timedelta(days=7)
    clock.travel_to(shanghai(later, 23))
    tax_pay(client, county, second, later)
    done = asyncio.run(snapshot_all(urls, settings, county.code, None, clock))
    assert done == [(county.code, YEAR, later.isoformat(), len(SUFFIXES))]

    then = by_code(progress(client, admin, YEAR, as_of=(DAY + timedelta(days=3)).isoformat()))
    assert {k: then[c + "300"][k] for k in ("enrolled", "rank", "measuredOn")} == {
        "enrolled": 0, "rank": 2, "measuredOn": DAY.isoformat(),
    }
    now = by_code(progress(client, admin, YEAR))
    assert (now[c + "300"]["enrolled"], now[c + "300"]["rank"], now[c + "300"]["measuredOn"]) == (1, 1, None)

    history = client.data(HISTORY, {"year": YEAR, "unit": county.units["300"], "interval": "DAY"}, admin)["progressHistory"]
    assert [(p["day"], p["enrolled"], p["rank"], p["percent"]) for p in history] == [
        (DAY.isoformat(), 0, 2, "0.00"), (later.isoformat(), 1, 1, "50.00"),
    ]
    county_total = client.data(HISTORY, {"year": YEAR, "unit": None, "interval": "WEEK"}, admin)["progressHistory"]
    assert [(p["target"], p["enrolled"], p["rank"]) for p in county_total] == [(4, 1, None), (4, 2, None)]
    own = client.data(HISTORY, {"year": YEAR, "unit": None, "interval": "DAY"}, county.tokens["township"])["progressHistory"]
    assert [p["enrolled"] for p in own] == [1, 1]  # the township's own unit

    body = client.gql(HISTORY, {"year": YEAR, "unit": county.units["300"], "interval": "DAY"}, county.tokens["township"])
    assert body["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")
    body = client.gql(PROGRESS, {"year": YEAR, "parent": None, "asOf": "2026-10-01"}, admin)
    assert body["errors"][0]["extensions"]["code"] == "NO_SNAPSHOT"


def test_tally_verify_finds_and_repairs_drift(client, new_county, clock, owner_db, settings, urls):
    from sqlalchemy import text

    from api.quota_cli import verify_tallies
    from schema.relay import from_global_id

    county, _ = campaign(client, new_county, clock, today=DAY)
    tax_pay(client, county, new_person(client, county, unit="100201"))
    new_person(client, county, unit="300201")
    assert [(y, d) for _, y, d in asyncio.run(verify_tallies(urls, settings, county.code, YEAR, False))] == [(YEAR, [])]

    tenant_id = from_global_id(county.id)[1]

    async def corrupt(db):
        await db.execute(text("UPDATE enrollment_tally SET paid = paid + 5 WHERE tenant_id = :t AND year = :y"),
                         {"t": tenant_id, "y": YEAR})

    owner_db(corrupt, tenant_id)
    (_, _, drift), = asyncio.run(verify_tallies(urls, settings, county.code, YEAR, False))
    assert len(drift) == 2 and all(d.tally.paid == d.recount.paid + 5 for d in drift)
    (_, _, repaired), = asyncio.run(verify_tallies(urls, settings, county.code, YEAR, True))
    assert len(repaired) == 2
    (_, _, after), = asyncio.run(verify_tallies(urls, settings, county.code, YEAR, False))
    assert after == []
    assert by_code(progress(client, county.tokens["admin"], YEAR))[county.code + "100"]["paid"] == 1

"""断保 and 漏保 through GraphQL and the downloads: who is listed, in whose scope, and the
counts beside quota progress equal the lists."""
from __future__ import annotations

from datetime import date

import pytest

from tests.payment_import_support import csv_file, import_history
from tests.payment_support import campaign, new_person, pay
from tests.quota_support import by_code
from tests.subsidy_support import csv_list, upload
from tests.test_downloads import column, download, sheet_rows

YEAR = 2027
DAY = date(2026, 11, 5)
HISTORY_HEADER = ("证件号码", "姓名", "年度", "参保状态")

GAPS = """
query($year: Int!, $unit: ID, $first: Int, $after: String) {
  lapsedPersons(year: $year, unit: $unit, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { idNumber name unit { code } } }
  }
  neverEnrolled(year: $year, unit: $unit, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { idNumber name unit { code } } }
  }
}"""

PROGRESS = """
query($year: Int!, $parent: ID) { quotaProgress(year: $year, parent: $parent) { unit { code } lapsed neverEnrolled } }
"""


@pytest.fixture
def county(client, new_county, clock):
    """张庄村 (100201) and 李营村 (300201), with history imported from the earlier system:

    paid27 — paid 2027 here (so 断保 of 2028 if nothing is paid then);
    back26 — enrolled 2026 on record, paid again 2027;
    lapsed26 — enrolled 2026 on record, nothing for 2027 (断保 of 2027);
    old25 — enrolled 2025, not 2026 (an older break: neither list of 2027);
    never — registered, nothing on record (漏保);
    tekun — never on record, subsidized for 2027 by a list (enrolled);
    other_lapsed, other_never — the same in 李营村, another township.
    """
    county, _ = campaign(client, new_county, clock, today=DAY)
    names = ("paid27", "back26", "lapsed26", "old25", "never", "tekun")
    people = {name: new_person(client, county, unit="100201", name=f"张{name}") for name in names}
    people |= {name: new_person(client, county, unit="300201", name=f"李{name}") for name in ("other_lapsed", "other_never")}
    history = [
        (people["back26"], "", 2026, "已参保"), (people["lapsed26"], "", 2026, "已参保"),
        (people["lapsed26"], "", 2025, "已参保"), (people["old25"], "", 2025, "已参保"),
        (people["old25"], "", 2026, "未参保"), (people["other_lapsed"], "", 2026, "是"),
    ]
    imported = import_history(client, county.tokens["medical"], csv_file(history, header=HISTORY_HEADER))
    assert imported["rowErrors"] == [] and imported["userErrors"] == []
    for name in ("paid27", "back26"):
        assert pay(client, county.tokens["tax"], people[name], YEAR, "400.00", DAY, channel="TAX_HALL")["userErrors"] == []
    listed = upload(client, county.tokens["civil_affairs"], YEAR, "tekun", csv_list([("张tekun", people["tekun"], "张庄村", None, None)]))
    assert listed["rowErrors"] == [] and listed["userErrors"] == []
    return county, people


def gaps(client, token: str, year: int = YEAR, unit: str | None = None, first: int | None = None) -> dict:
    return client.data(GAPS, {"year": year, "unit": unit, "first": first}, token)


def id_numbers(connection: dict) -> set[str]:
    return {edge["node"]["idNumber"] for edge in connection["edges"]}


def test_lapsed_and_never_enrolled_for_the_whole_county(client, county):
    county, people = county
    found = gaps(client, county.tokens["admin"])
    assert id_numbers(found["lapsedPersons"]) == {people["lapsed26"], people["other_lapsed"]}
    assert id_numbers(found["neverEnrolled"]) == {people["never"], people["other_never"]}
    assert found["lapsedPersons"]["totalCount"] == 2 and found["neverEnrolled"]["totalCount"] == 2


def test_a_year_paid_here_makes_the_next_year_lapsed_when_not_paid_again(client, county):
    county, people = county
    found = gaps(client, county.tokens["admin"], year=YEAR + 1)
    # everyone enrolled in 2027 (paid, subsidized) and not in 2028 is 断保 of 2028
    assert id_numbers(found["lapsedPersons"]) == {people["paid27"], people["back26"], people["tekun"]}
    # 漏保 is "nothing up to the year": 2026 on record is enough to leave it
    assert id_numbers(found["neverEnrolled"]) == {people["never"], people["other_never"]}


def test_a_collector_sees_only_their_village_and_pages_through_it(client, county):
    county, people = county
    collector = county.tokens["collector"]
    found = gaps(client, collector)
    assert id_numbers(found["lapsedPersons"]) == {people["lapsed26"]}
    assert id_numbers(found["neverEnrolled"]) == {people["never"]}
    assert {e["node"]["unit"]["code"] for e in found["neverEnrolled"]["edges"]} == {county.code + "100201"}

    first = gaps(client, county.tokens["admin"], first=1)["neverEnrolled"]
    assert first["pageInfo"]["hasNextPage"] and len(first["edges"]) == 1
    rest = client.data(GAPS, {"year": YEAR, "first": 5, "after": first["pageInfo"]["endCursor"]}, county.tokens["admin"])
    assert id_numbers(first) | id_numbers(rest["neverEnrolled"]) == {people["never"], people["other_never"]}


def test_a_township_may_narrow_to_a_village_but_not_leave_its_subtree(client, county, county_b):
    county, people = county
    narrowed = gaps(client, county.tokens["township"], unit=county.units["100201"])
    assert id_numbers(narrowed["lapsedPersons"]) == {people["lapsed26"]}

    def error(token: str, unit: str) -> str:
        body = client.gql(GAPS, {"year": YEAR, "unit": unit}, token)
        assert body["data"] is None
        return body["errors"][0]["extensions"]["code"]

    assert error(county.tokens["township"], county.units["300201"]) == "NOT_FOUND"  # not in its sight
    assert error(county.tokens["collector"], county.units["300201"]) == "NOT_FOUND"
    assert error(county_b.tokens["admin"], county.units["100201"]) == "NOT_FOUND"  # another county
    assert gaps(client, county_b.tokens["admin"])["neverEnrolled"]["totalCount"] == 0


def test_departments_that_see_masked_numbers_get_them_masked(client, county):
    county, people = county
    found = gaps(client, county.tokens["civil_affairs"])
    shown = id_numbers(found["lapsedPersons"])
    assert len(shown) == 2 and not shown & set(people.values())
    assert all("*" in number for number in shown)


def test_counts_beside_quota_progress_equal_the_lists(client, county):
    county, _ = county
    rows = by_code(client.data(PROGRESS, {"year": YEAR, "parent": None}, county.tokens["admin"])["quotaProgress"])
    lines = {code.removeprefix(county.code): (r["lapsed"], r["neverEnrolled"]) for code, r in rows.items()}
    for unit_code, line in lines.items():
        unit = county.units.get(unit_code)
        if unit is None:
            continue
        found = gaps(client, county.tokens["admin"], unit=unit)
        assert line == (found["lapsedPersons"]["totalCount"], found["neverEnrolled"]["totalCount"]), unit_code
    assert lines["100"] == (1, 1) and lines["300"] == (1, 1)


def test_paying_takes_a_person_off_both_lists(client, county):
    county, people = county
    for name in ("lapsed26", "never"):
        assert pay(client, county.tokens["tax"], people[name], YEAR, "400.00", DAY, channel="TAX_HALL")["userErrors"] == []
    found = gaps(client, county.tokens["collector"])
    assert found["lapsedPersons"]["totalCount"] == 0 and found["neverEnrolled"]["totalCount"] == 0


def test_the_village_downloads_list_the_same_persons(client, county):
    county, people = county
    collector = county.tokens["collector"]
    title, header, body = sheet_rows(download(client, collector, county.code + "100201", "lapsed"))
    assert "断保人员名单" in title and "共 1 人" in title
    assert column(header, body, "证件号码") == [people["lapsed26"]]
    title, header, body = sheet_rows(download(client, collector, county.code + "100201", "never-enrolled"))
    assert "漏保人员名单" in title and column(header, body, "姓名") == ["张never"]
    assert "应缴金额（元）" not in header
    assert download(client, collector, county.code + "300201", "lapsed").status_code in (403, 404)

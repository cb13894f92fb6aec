"""The removal guard of subsidy lists: a version that accepts no row, or removes more
than a share of the members, is refused unless the removals are confirmed, and the
payload says who would lose what (八公山 2022: standard 320, 低保 DEDUCT 90 % → due 32)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from api.settings import load_settings
from domain.persons.idnumber import check_character, mask
from domain.subsidy_lists.rules import (
    DEFAULT_REMOVAL_SHARE,
    parse_share,
    removal_problem,
)
from schema.relay import from_global_id
from tests.conftest import ALL_DEPARTMENTS
from tests.subsidy_support import (
    UPLOAD_REMOVALS,
    campaign_day,
    csv_list,
    enrollment,
    policy_input,
    register_person,
    set_policy,
)
from tests.subsidy_support import upload as upload_list
from tests.support import chinese, english, new_id_number

YEAR = 2022
BATCHES = """
query($year: Int!, $category: String) {
  subsidyBatches(year: $year, category: $category) { totalCount edges { node { version rowsAccepted removed } } }
}"""


# --- the rule ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("members", "accepted", "removed", "share", "confirmed", "code"),
    [
        (0, 0, 0, "0.2", False, "NO_ROWS_ACCEPTED"),  # a first version with no row
        (0, 0, 0, "0.2", True, "NO_ROWS_ACCEPTED"),  # nothing to confirm
        (0, 3, 0, "0.2", False, None),
        (10, 0, 10, "0.2", False, "REMOVALS_NOT_CONFIRMED"),  # every row rejected
        (10, 0, 10, "0.2", True, None),
        (10, 0, 10, "1", False, "REMOVALS_NOT_CONFIRMED"),  # accepting no row always asks
        (10, 10, 1, "0.2", False, None),  # 1 of 10
        (10, 8, 2, "0.2", False, None),  # exactly the share is not more than it
        (10, 7, 3, "0.2", False, "REMOVALS_NOT_CONFIRMED"),
        (10, 5, 5, "0.2", False, "REMOVALS_NOT_CONFIRMED"),
        (10, 5, 5, "0.2", True, None),
        (10, 5, 5, "0.5", False, None),
        (2, 1, 1, "0.2", False, "REMOVALS_NOT_CONFIRMED"),
        (100, 71, 29, "0.29", False, None),  # decimal, not float: 0.29 × 100 is 29
        (100, 70, 30, "0.29", False, "REMOVALS_NOT_CONFIRMED"),
        (10, 11, 1, "0", False, "REMOVALS_NOT_CONFIRMED"),  # share 0: every removal asks
        (10, 12, 0, "0", False, None),
        (10, 10, 0, "0.2", False, None),
    ],
)
def test_removal_rule(members, accepted, removed, share, confirmed, code):
    problem = removal_problem(members, accepted, removed, Decimal(share), confirmed=confirmed)
    assert (problem.code if problem else None) == code


def test_removal_message_says_how_many_and_what_to_do():
    problem = removal_problem(10, 5, 5, DEFAULT_REMOVAL_SHARE)
    assert english(problem) == (
        "This version would remove 5 of the list's 10 members (more than 20 %): "
        "check who would lose the subsidy in a dry run, then send confirmRemovals: true."
    )
    assert chinese(problem).startswith("本次上传将从名单的 10 人中移除 5 人（超过 20%）：请先试运行")
    assert problem.field == ["confirmRemovals"]


def test_the_share_setting(monkeypatch):
    monkeypatch.delenv("ZHENGJIAO_LIST_REMOVAL_SHARE", raising=False)
    assert load_settings().list_removal_share == Decimal("0.2")
    monkeypatch.setenv("ZHENGJIAO_LIST_REMOVAL_SHARE", "0.35")
    assert load_settings().list_removal_share == Decimal("0.35")
    for bad in ("1.5", "-0.1", "a fifth", ""):
        with pytest.raises(ValueError):
            parse_share(bad)


# --- through HTTP -----------------------------------------------------------------

@pytest.fixture
def county(client, new_county, clock):
    """八公山 2022, the clock in its window."""
    county = new_county(ALL_DEPARTMENTS)
    policy = policy_input("baigongshan-2022.json")
    clock.travel_to(campaign_day(policy))
    set_policy(client, county.tokens["medical"], policy)
    return county


@pytest.fixture
def removal_share(server):
    """The running server's share (the setting as resolvers read it), restored after."""
    services = server.app_object.state.runtime.services
    before = services.list_removal_share
    yield lambda share: setattr(services, "list_removal_share", Decimal(share))
    services.list_removal_share = before


def upload(client, token, data, **options) -> dict:
    return upload_list(client, token, YEAR, "dibao", data, query=UPLOAD_REMOVALS, **options)


def people(client, county, count: int) -> list[tuple[str, str]]:
    return [(register_person(client, county, date(1960, 1, 1 + i), f"低保{i}"), f"低保{i}") for i in range(count)]


def rows_of(persons) -> bytes:
    return csv_list([(name, number, "张庄村", None, None) for number, name in persons])


def broken(number: str) -> str:
    """The same number with a wrong check character."""
    return number[:17] + ("0" if check_character(number[:17]) != "0" else "1")


def listed(client, county, persons, **options) -> dict:
    result = upload(client, county.tokens["civil_affairs"], rows_of(persons), **options)
    assert result["userErrors"] == [] and result["rowErrors"] == [], result
    return result


def codes(result) -> list[str]:
    return [e["code"] for e in result["userErrors"]]


def dues(client, county, persons) -> list[str]:
    return [enrollment(client, county.tokens["admin"], number, YEAR)["amountDue"] for number, _ in persons]


def versions(client, county) -> list[tuple[int, int, int]]:
    found = client.data(BATCHES, {"year": YEAR, "category": "dibao"}, county.tokens["medical"])["subsidyBatches"]
    return [(e["node"]["version"], e["node"]["rowsAccepted"], e["node"]["removed"]) for e in found["edges"]]


def audited(owner_db, county) -> list[tuple[str, dict]]:
    tenant_id = from_global_id(county.id)[1]

    async def read(db):
        rows = await db.execute(
            text("SELECT outcome, after FROM audit_log WHERE tenant_id = :t AND operation = 'uploadSubsidyList' ORDER BY id"),
            {"t": tenant_id},
        )
        return [tuple(r) for r in rows]

    return owner_db(read, tenant_id)


def test_a_file_whose_every_row_is_rejected_does_not_empty_the_list(client, county, owner_db):
    persons = people(client, county, 3)
    listed(client, county, persons)
    assert dues(client, county, persons) == ["32.00"] * 3
    civil = county.tokens["civil_affairs"]
    bad_file = rows_of([(broken(number), name) for number, name in persons])

    refused = upload(client, civil, bad_file)
    assert codes(refused) == ["REMOVALS_NOT_CONFIRMED"]
    assert "将从名单的 3 人中移除 3 人" in refused["userErrors"][0]["message"]
    batch = refused["batch"]
    assert (batch["version"], batch["rowsTotal"], batch["rowsAccepted"], batch["rowsRejected"]) == (2, 3, 0, 3)
    assert (batch["removed"], batch["dryRun"]) == (3, True)
    assert [(e["row"], e["code"]) for e in refused["rowErrors"]] == [(2, "INVALID_ID_CHECKSUM"), (3, "INVALID_ID_CHECKSUM"), (4, "INVALID_ID_CHECKSUM")]
    assert refused["removalsTotal"] == 3
    # 民政局 sees ID numbers masked, in the removals as everywhere
    assert sorted((r["idNumber"], r["name"]) for r in refused["removals"]) == sorted((mask(n), name) for n, name in persons)
    assert {(r["amountDueBefore"], r["amountDueAfter"], r["subsidyBefore"], r["subsidyAfter"]) for r in refused["removals"]} == {
        ("32.00", "320.00", "288.00", "0.00")
    }
    assert {(r["categoryBefore"], r["categoryAfter"], r["statusBefore"], r["statusAfter"]) for r in refused["removals"]} == {
        ("dibao", None, "UNPAID", "UNPAID")
    }
    assert {r["unit"]["code"] for r in refused["removals"]} == {county.code + "100201"}
    # nothing changed
    assert dues(client, county, persons) == ["32.00"] * 3
    assert versions(client, county) == [(1, 3, 0)]

    confirmed = upload(client, civil, bad_file, confirm_removals=True)
    assert confirmed["userErrors"] == [] and confirmed["batch"]["dryRun"] is False
    assert (confirmed["batch"]["version"], confirmed["removalsTotal"], len(confirmed["removals"])) == (2, 3, 3)
    assert dues(client, county, persons) == ["320.00"] * 3
    assert versions(client, county) == [(2, 0, 3), (1, 3, 0)]
    trail = audited(owner_db, county)
    assert [outcome for outcome, _ in trail] == ["ok", "rejected", "ok"]
    assert trail[0][1]["removalsConfirmed"] is False
    assert trail[1][1] == {"codes": ["REMOVALS_NOT_CONFIRMED"]}
    assert trail[2][1]["removalsConfirmed"] is True and trail[2][1]["removed"] == 3


def test_name_and_number_columns_swapped_are_refused(client, county):
    persons = people(client, county, 3)
    listed(client, county, persons)
    swapped = csv_list([(number, name, "张庄村", None, None) for number, name in persons])  # 姓名 over numbers
    refused = upload(client, county.tokens["civil_affairs"], swapped)
    assert codes(refused) == ["REMOVALS_NOT_CONFIRMED"]
    assert {(e["column"], e["code"]) for e in refused["rowErrors"]} == {("证件号码", "INVALID_ID_FORMAT")}
    assert refused["batch"]["rowsAccepted"] == 0 and refused["removalsTotal"] == 3
    assert dues(client, county, persons) == ["32.00"] * 3
    assert versions(client, county) == [(1, 3, 0)]


def test_removing_one_of_ten_needs_no_confirmation(client, county):
    persons = people(client, county, 10)
    listed(client, county, persons)
    applied = listed(client, county, persons[1:])
    assert (applied["batch"]["version"], applied["batch"]["removed"], applied["batch"]["dryRun"]) == (2, 1, False)
    # an applied version lists its removals too
    (removal,) = applied["removals"]
    assert (removal["name"], removal["amountDueBefore"], removal["amountDueAfter"]) == (persons[0][1], "32.00", "320.00")
    assert dues(client, county, persons) == ["320.00"] + ["32.00"] * 9


def test_removing_five_of_ten_is_refused_and_the_dry_run_says_who_loses_what(client, county):
    """Four registered persons and one pending number leave; one of the four stays
    subsidised by another list (脱贫), which only the real rules, applied and rolled
    back, can tell."""
    persons = people(client, county, 9)
    pending = (new_id_number(born=date(1958, 8, 8)), "未登记")
    members = persons + [pending]
    listed(client, county, members)
    tuopin = persons[2]
    result = upload_list(client, county.tokens["rural_revitalization"], YEAR, "tuopin", rows_of([tuopin]))
    assert result["userErrors"] == []
    kept, leaving = persons[4:9], persons[:4] + [pending]
    medical = county.tokens["medical"]  # 医保局 sees whole ID numbers

    for dry_run in (True, False):
        refused = upload(client, medical, rows_of(kept), dry_run=dry_run)
        assert codes(refused) == ["REMOVALS_NOT_CONFIRMED"], refused
        assert "将从名单的 10 人中移除 5 人" in refused["userErrors"][0]["message"]
        assert refused["batch"]["dryRun"] is True and refused["removalsTotal"] == 5
    removals = refused["removals"]
    assert [r["idNumber"] for r in removals] == sorted(number for number, _ in leaving)  # by ID number
    after = {r["idNumber"]: (r["amountDueBefore"], r["amountDueAfter"], r["categoryAfter"]) for r in removals}
    assert after == {
        persons[0][0]: ("32.00", "320.00", None),
        persons[1][0]: ("32.00", "320.00", None),
        tuopin[0]: ("32.00", "32.00", "tuopin"),
        persons[3][0]: ("32.00", "320.00", None),
        pending[0]: (None, None, None),
    }
    unregistered = next(r for r in removals if r["idNumber"] == pending[0])
    assert (unregistered["name"], unregistered["person"], unregistered["unit"]) == ("未登记", None, None)
    registered = next(r for r in removals if r["idNumber"] == persons[0][0])
    assert registered["person"] == {"idNumber": persons[0][0], "name": persons[0][1]}
    assert dues(client, county, persons) == ["32.00"] * 9
    assert versions(client, county) == [(1, 10, 0)]

    # a dry run confirming the removals is no refusal, and still writes nothing
    dry = upload(client, medical, rows_of(kept), dry_run=True, confirm_removals=True)
    assert dry["userErrors"] == [] and dry["removals"] == removals
    assert versions(client, county) == [(1, 10, 0)]

    applied = upload(client, medical, rows_of(kept), confirm_removals=True)
    assert applied["userErrors"] == [] and applied["removals"] == removals
    for number, _ in persons[:4]:
        assert enrollment(client, medical, number, YEAR)["amountDue"] == after[number][1]
    assert versions(client, county)[0] == (2, 5, 5)


def test_the_share_is_a_setting(client, county, removal_share):
    persons = people(client, county, 10)
    listed(client, county, persons)
    removal_share("0.5")
    applied = listed(client, county, persons[5:])
    assert applied["batch"]["removed"] == 5
    removal_share("0")
    refused = upload(client, county.tokens["civil_affairs"], rows_of(persons[6:]))
    assert codes(refused) == ["REMOVALS_NOT_CONFIRMED"] and refused["removalsTotal"] == 1


def test_a_first_version_accepting_no_row_is_refused(client, county):
    persons = people(client, county, 2)
    bad_file = rows_of([(broken(number), name) for number, name in persons])
    for confirm in (False, True):
        refused = upload(client, county.tokens["civil_affairs"], bad_file, confirm_removals=confirm)
        assert codes(refused) == ["NO_ROWS_ACCEPTED"]
        assert (refused["batch"]["rowsTotal"], refused["batch"]["rowsAccepted"], refused["removalsTotal"]) == (2, 0, 0)
        assert [e["code"] for e in refused["rowErrors"]] == ["INVALID_ID_CHECKSUM"] * 2
    assert versions(client, county) == []
    assert dues(client, county, persons) == ["320.00"] * 2

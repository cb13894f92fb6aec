"""The seeds' numbers, end to end: policy over GraphQL, lists uploaded, enrolments read."""
from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import ALL_DEPARTMENTS
from tests.subsidy_support import (
    campaign_day,
    csv_list,
    enrollment,
    policy_input,
    register_person,
    set_policy,
    upload,
)


@pytest.fixture
def seed_county(client, new_county, clock):
    """A county with every department, a seed policy set by 医保局, the clock in its window."""

    def make(policy_file: str):
        county = new_county(ALL_DEPARTMENTS)
        policy = policy_input(policy_file)
        clock.travel_to(campaign_day(policy))
        set_policy(client, county.tokens["medical"], policy)
        return county, policy["year"]

    return make


def listed(client, county, who: str, year: int, category: str, *people: tuple[str, str], confirm_removals: bool = False) -> dict:
    rows = [(name, number, "张庄村", None, None) for number, name in people]
    result = upload(client, county.tokens[who], year, category, csv_list(rows), confirm_removals=confirm_removals)
    assert result["userErrors"] == [] and result["rowErrors"] == [], result
    return result


def test_baigongshan_2022(client, seed_county):
    county, year = seed_county("baigongshan-2022.json")
    dibao = register_person(client, county, date(1960, 3, 1), "低保户")
    tekun = register_person(client, county, date(1950, 3, 1), "特困户")
    both = register_person(client, county, date(1955, 3, 1), "双重")
    plain = register_person(client, county, date(1980, 3, 1), "普通")
    listed(client, county, "civil_affairs", year, "dibao", (dibao, "低保户"), (both, "双重"))
    listed(client, county, "civil_affairs", year, "tekun", (tekun, "特困户"), (both, "双重"))
    admin = county.tokens["admin"]
    e = enrollment(client, admin, dibao, year)
    assert (e["status"], e["amountDue"], e["subsidyAmount"], e["subsidyMode"]) == ("UNPAID", "32.00", "288.00", "DEDUCT")
    e = enrollment(client, admin, tekun, year)
    assert (e["status"], e["amountDue"], e["subsidyCategory"]) == ("SUBSIDIZED", "0.00", "tekun")
    assert e["benefitStart"] == "2022-01-01"
    e = enrollment(client, admin, both, year)
    assert (e["status"], e["amountDue"], e["subsidyCategory"], e["subsidyAmount"]) == ("SUBSIDIZED", "0.00", "tekun", "320.00")
    assert [(s["category"], s["applied"]) for s in e["subsidies"]] == [("tekun", True), ("dibao", False)]
    e = enrollment(client, admin, plain, year)
    assert (e["status"], e["amountDue"], e["subsidyCategory"], e["subsidies"]) == ("UNPAID", "320.00", None, [])


def test_shuangpai_2022(client, seed_county):
    county, year = seed_county("shuangpai-2022.json")
    dibao = register_person(client, county, date(1962, 5, 5), "低保户")
    listed(client, county, "civil_affairs", year, "dibao", (dibao, "低保户"))
    e = enrollment(client, county.tokens["admin"], dibao, year)
    assert (e["status"], e["amountDue"], e["reimbursementDue"], e["subsidyMode"]) == ("UNPAID", "320.00", "160.00", "REIMBURSE")


def test_neixiang_2023(client, seed_county):
    county, year = seed_county("neixiang-2023.json")
    tuopin = register_person(client, county, date(1970, 1, 1), "脱贫户")
    tekun = register_person(client, county, date(1940, 1, 1), "特困户")
    listed(client, county, "rural_revitalization", year, "tuopin", (tuopin, "脱贫户"))
    listed(client, county, "civil_affairs", year, "tekun", (tekun, "特困户"))
    admin = county.tokens["admin"]
    e = enrollment(client, admin, tuopin, year)
    assert (e["amountDue"], e["reimbursementDue"], e["status"]) == ("350.00", "80.00", "UNPAID")
    e = enrollment(client, admin, tekun, year)
    assert (e["status"], e["amountDue"]) == ("SUBSIDIZED", "0.00")


def test_zaozhuang_2022_age_categories_need_no_list(client, seed_county):
    county, year = seed_county("zaozhuang-2022.json")
    admin = county.tokens["admin"]
    sixty_six = register_person(client, county, date(1955, 6, 1), "六十六")  # 66 on 2022-01-01
    seventy_one = register_person(client, county, date(1950, 6, 1), "七十一")
    seventy_tomorrow = register_person(client, county, date(1952, 1, 2), "六十九")  # 69 on 2022-01-01
    e = enrollment(client, admin, sixty_six, year)
    assert (e["amountDue"], e["subsidyCategory"], e["status"]) == ("140.00", "age60", "UNPAID")
    e = enrollment(client, admin, seventy_one, year)
    assert (e["amountDue"], e["subsidyCategory"], e["status"]) == ("0.00", "age70", "SUBSIDIZED")
    assert enrollment(client, admin, seventy_tomorrow, year)["subsidyCategory"] == "age60"


def test_policy_reset_recomputes_the_year(client, seed_county):
    county, year = seed_county("neixiang-2023.json")
    person = register_person(client, county, date(1970, 1, 1), "一般户")
    admin = county.tokens["admin"]
    assert enrollment(client, admin, person, year)["amountDue"] == "350.00"
    payload = set_policy(client, admin, policy_input("neixiang-2023.json", standard="380.00"))
    assert payload["recomputed"] >= 1
    assert enrollment(client, admin, person, year)["amountDue"] == "380.00"


def test_redropping_a_person_restores_the_full_amount(client, seed_county):
    county, year = seed_county("baigongshan-2022.json")
    stays, leaves = register_person(client, county, date(1961, 1, 1), "留"), register_person(client, county, date(1962, 1, 1), "走")
    civil = county.tokens["civil_affairs"]
    listed(client, county, "civil_affairs", year, "dibao", (stays, "留"), (leaves, "走"))
    assert enrollment(client, civil, leaves, year)["amountDue"] == "32.00"
    second = listed(client, county, "civil_affairs", year, "dibao", (stays, "留"), confirm_removals=True)
    assert (second["batch"]["version"], second["batch"]["added"], second["batch"]["removed"]) == (2, 0, 1)
    e = enrollment(client, civil, leaves, year)
    assert (e["amountDue"], e["subsidyCategory"]) == ("320.00", None)
    assert enrollment(client, civil, stays, year)["amountDue"] == "32.00"


def test_listed_before_registration_takes_effect_when_registered(client, seed_county):
    county, year = seed_county("baigongshan-2022.json")
    from tests.support import REGISTER, new_id_number

    number = new_id_number(born=date(1966, 6, 6))
    result = listed(client, county, "civil_affairs", year, "dibao", (number, "后登记"))
    assert result["batch"]["pending"] == 1
    variables = {"input": {"idNumber": number, "name": "后登记", "unit": county.units["100201"]}}
    assert client.data(REGISTER, variables, county.tokens["collector"])["registerPerson"]["userErrors"] == []
    assert enrollment(client, county.tokens["collector"], number, year)["amountDue"] == "32.00"


def test_set_year_policy_validation_and_rights(client, new_county):
    county = new_county()
    bad = policy_input("baigongshan-2022.json")
    bad["categories"][1]["value"] = "120"
    bad["categories"][2]["owner"] = "VETERANS"  # not a department of this county
    bad["windowEnd"] = "2021-08-01"
    from tests.subsidy_support import SET_POLICY

    payload = client.data(SET_POLICY, {"input": bad}, county.tokens["admin"])["setYearPolicy"]
    assert payload["policy"] is None
    fields = {tuple(e["field"]) for e in payload["userErrors"]}
    assert ("categories", "1", "value") in fields and ("categories", "2", "owner") in fields and ("windowEnd",) in fields
    forbidden = client.data(SET_POLICY, {"input": policy_input("neixiang-2023.json")}, county.tokens["civil"])["setYearPolicy"]
    assert [e["code"] for e in forbidden["userErrors"]] == ["FORBIDDEN"]
    read = client.data("{ yearPolicy(year: 2022) { year } }", token=county.tokens["collector"])
    assert read["yearPolicy"] is None

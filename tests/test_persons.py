"""registerPerson, persons, person(idNumber:): validation, scope, masking, concurrency."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from domain.persons.idnumber import make_id_number
from tests.support import PERSONS, REGISTER, new_id_number

PERSON = "query($id: String!) { person(idNumber: $id) { idNumber name birthDate sex unit { code } } }"


def register(client, county, who, unit_suffix, id_number, name="张三", **extra):
    variables = {"input": {"idNumber": id_number, "name": name, "unit": county.units[unit_suffix], **extra}}
    return client.data(REGISTER, variables, county.tokens[who])["registerPerson"]


def codes(payload):
    return [e["code"] for e in payload["userErrors"]]


def test_register_derives_birth_date_and_sex(client, county_a):
    payload = register(client, county_a, "collector", "100201", "360426199101010071", name=" 李四 ", phone="13800000000")
    assert payload["userErrors"] == []
    person = payload["person"]
    assert person["idNumber"] == "360426199101010071"
    assert (person["name"], person["birthDate"], person["sex"]) == ("李四", "1991-01-01", "M")
    assert person["unit"]["code"] == county_a.code + "100201"


def test_id_number_table_through_the_api(client, county_a):
    x_number = next(n for s in range(999) if (n := make_id_number("411325", date(1980, 7, 7), s)).endswith("X"))
    ok = register(client, county_a, "collector", "100201", x_number.lower())
    assert ok["person"]["idNumber"] == x_number
    old = register(client, county_a, "collector", "100201", "411325560612031")
    assert old["person"]["idNumber"].startswith("41132519560612031") and len(old["person"]["idNumber"]) == 18
    bad_check = register(client, county_a, "collector", "100201", "360426199101010072")
    assert bad_check["userErrors"] == [
        {"field": ["idNumber"], "code": "INVALID_ID_CHECKSUM", "message": "身份证号码校验位不正确。"}
    ]
    assert codes(register(client, county_a, "collector", "100201", "411325199902310012")) == ["INVALID_ID_DATE"]
    assert codes(register(client, county_a, "collector", "100201", "12345")) == ["INVALID_ID_FORMAT"]
    assert codes(register(client, county_a, "collector", "100201", new_id_number(), name="  ")) == ["EMPTY_NAME"]


def test_second_registration_names_the_holder(client, county_a):
    number = new_id_number()
    assert register(client, county_a, "collector", "100201", number)["userErrors"] == []
    again = register(client, county_a, "collector2", "300201", number)
    assert codes(again) == ["PERSON_EXISTS"]
    assert "城关镇 / 张庄村" in again["userErrors"][0]["message"]
    assert number not in again["userErrors"][0]["message"]


def test_collector_registers_only_in_own_village(client, county_a):
    assert codes(register(client, county_a, "collector", "300201", new_id_number())) == ["FORBIDDEN"]
    assert codes(register(client, county_a, "civil", "100201", new_id_number())) == ["FORBIDDEN"]
    assert register(client, county_a, "township", "100001", new_id_number())["userErrors"] == []
    assert register(client, county_a, "medical", "300202", new_id_number())["userErrors"] == []
    assert codes(register(client, county_a, "admin", "100", new_id_number())) == ["INVALID_UNIT"]


def test_concurrent_registration_of_one_person(client, new_county):
    county = new_county()
    number = new_id_number()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda who: register(client, county, who, "100201", number), ["collector", "township"]))
    outcomes = sorted("ok" if r["person"] else codes(r)[0] for r in results)
    assert outcomes == ["PERSON_EXISTS", "ok"]
    total = client.data(PERSONS, {"filter": {"search": number}}, county.tokens["admin"])["persons"]["totalCount"]
    assert total == 1
    # the village's counter moved once (totals of unit lists come from the counters)
    village = client.data(PERSONS, {"filter": {"unit": county.units["100201"]}}, county.tokens["admin"])["persons"]
    assert village["totalCount"] == len(village["edges"]) == 1


def test_persons_filters_and_keyset_pages(client, new_county):
    county = new_county()
    names = {}
    for i in range(12):
        unit = ["100201", "100001", "300201"][i % 3]
        number = new_id_number()
        names[number] = ("王" if i % 2 else "赵") + str(i)
        assert register(client, county, "admin", unit, number, name=names[number])["userErrors"] == []
    admin = county.tokens["admin"]
    everyone, after = [], None
    while True:
        page = client.data(PERSONS, {"first": 5, "after": after}, admin)["persons"]
        assert page["totalCount"] == 12
        everyone += [e["node"]["idNumber"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(everyone) == sorted(names) and len(set(everyone)) == 12
    township = client.data(PERSONS, {"filter": {"unit": county.units["100"]}}, admin)["persons"]
    assert township["totalCount"] == 8
    assert {e["node"]["unit"]["code"] for e in township["edges"]} == {county.code + "100201", county.code + "100001"}
    village = client.data(PERSONS, {"filter": {"unit": county.units["300201"]}}, admin)["persons"]
    assert village["totalCount"] == 4
    wang = client.data(PERSONS, {"filter": {"search": "王"}}, admin)["persons"]
    assert wang["totalCount"] == 6
    number = next(iter(names))
    exact = client.data(PERSONS, {"filter": {"search": number.lower()}}, admin)["persons"]
    assert [e["node"]["name"] for e in exact["edges"]] == [names[number]]
    capped = client.data(PERSONS, {"first": 100000}, admin)["persons"]
    assert len(capped["edges"]) == 12


def test_scope_and_masking(client, new_county):
    county = new_county()
    in_village, elsewhere = new_id_number(), new_id_number()
    register(client, county, "admin", "100201", in_village, name="甲")
    register(client, county, "admin", "300202", elsewhere, name="乙")
    collector = county.tokens["collector"]
    mine = client.data(PERSONS, {}, collector)["persons"]
    assert [e["node"]["idNumber"] for e in mine["edges"]] == [in_village]
    assert client.data(PERSON, {"id": elsewhere}, collector)["person"] is None
    assert client.data(PERSON, {"id": in_village}, collector)["person"]["idNumber"] == in_village
    township = client.data(PERSONS, {}, county.tokens["township"])["persons"]
    assert township["totalCount"] == 1
    for who in ("medical", "tax"):
        whole = client.data(PERSON, {"id": elsewhere}, county.tokens[who])["person"]
        assert whole["idNumber"] == elsewhere
    civil = client.data(PERSONS, {}, county.tokens["civil"])["persons"]
    assert civil["totalCount"] == 2
    for edge in civil["edges"]:
        shown = edge["node"]["idNumber"]
        assert shown[6:14] == "********" and shown not in (in_village, elsewhere)
    # a collector asking for another village's list gets an error, not the list: the
    # unit is as invisible as another county's
    body = client.gql(PERSONS, {"filter": {"unit": county.units["300202"]}}, collector)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"

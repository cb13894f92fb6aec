"""The field lists: unpaidPersons page by page, and the .xlsx downloads at stable URLs."""
from __future__ import annotations

import io
from datetime import date

import httpx
import openpyxl
import pytest
from sqlalchemy import text

from domain.persons.idnumber import mask
from schema.relay import from_global_id
from tests.payment_support import campaign, new_person, pay
from tests.quota_support import UNPAID
from tests.subsidy_support import csv_list, upload

YEAR = 2027
DAY = date(2026, 11, 5)


@pytest.fixture
def village(client, new_county, clock):
    """张庄村 (100201): two unpaid, one paid, one 特困; 李营村 (300201): one unpaid."""
    county, _ = campaign(client, new_county, clock, today=DAY)
    people = {
        "unpaid1": new_person(client, county, unit="100201", name="张未缴"),
        "unpaid2": new_person(client, county, unit="100201", name="李未缴"),
        "paid": new_person(client, county, unit="100201", name="王已缴"),
        "tekun": new_person(client, county, unit="100201", name="赵特困"),
        "elsewhere": new_person(client, county, unit="300201", name="钱外村"),
    }
    assert pay(client, county.tokens["tax"], people["paid"], YEAR, "400.00", DAY, channel="TAX_HALL")["userErrors"] == []
    listed = upload(client, county.tokens["civil_affairs"], YEAR, "tekun", csv_list([("赵特困", people["tekun"], "张庄村", None, None)]))
    assert listed["rowErrors"] == [] and listed["userErrors"] == []
    return county, people


def download(client, token: str | None, code: str, name: str, year: int = YEAR) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.http.get(f"/downloads/{year}/units/{code}/{name}.xlsx", headers=headers)


def sheet_rows(response: httpx.Response) -> tuple[str, list[str], list[list]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    title, header, body = rows[0][0], rows[1], [r for r in rows[2:] if r and isinstance(r[0], int)]
    return title, header, body


def column(header: list[str], body: list[list], name: str) -> list:
    index = header.index(name)
    return [r[index] for r in body]


def test_unpaid_list_for_the_collector_with_whole_id_numbers(client, village):
    county, people = village
    title, header, body = sheet_rows(download(client, county.tokens["collector"], county.code + "100201", "unpaid"))
    assert "张庄村" in title and "未缴费人员名单" in title and "共 2 人" in title
    assert header[:5] == ["序号", "乡镇", "村/社区", "姓名", "证件号码"]
    assert sorted(column(header, body, "证件号码")) == sorted([people["unpaid1"], people["unpaid2"]])
    assert set(column(header, body, "乡镇")) == {"城关镇"} and set(column(header, body, "应缴金额（元）")) == {400}


def test_township_list_covers_its_villages_and_departments_see_masked_numbers(client, village):
    county, people = village
    _, header, body = sheet_rows(download(client, county.tokens["township"], county.code + "100", "unpaid"))
    assert len(body) == 2  # 东关社区 has nobody yet; 李营村 is another township's
    _, header, body = sheet_rows(download(client, county.tokens["tax"], county.code + "300", "unpaid"))
    assert column(header, body, "证件号码") == [people["elsewhere"]]  # 税务局 sees numbers whole
    assert download(client, county.tokens["civil"], county.code + "300", "unpaid").status_code == 403


def test_postings_mask_every_id_number(client, village):
    county, people = village
    _, header, body = sheet_rows(download(client, county.tokens["collector"], county.code + "100201", "paid-posting"))
    assert (column(header, body, "姓名"), column(header, body, "证件号码")) == (["王已缴"], [mask(people["paid"])])
    assert column(header, body, "个人缴费（元）") == [400]
    _, header, body = sheet_rows(download(client, county.tokens["admin"], county.code + "100201", "subsidy-posting"))
    assert column(header, body, "证件号码") == [mask(people["tekun"])]
    assert (column(header, body, "资助类别"), column(header, body, "资助方式")) == (["特困人员救助供养对象"], ["全额资助"])


def test_nobody_downloads_outside_their_scope(client, village, county_b):
    county, _ = village
    for who, code in (("collector", "300201"), ("collector", "300"), ("collector2", "100201"), ("township", "300201")):
        response = download(client, county.tokens[who], county.code + code, "unpaid")
        assert response.status_code == 403, (who, code)
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert download(client, county.tokens[who], county.code + code, "paid-posting").status_code == 403
    # another county: the unit is not in its county at all
    assert download(client, county_b.tokens["admin"], county.code + "100201", "unpaid").status_code == 404
    assert download(client, county_b.tokens["collector"], county.code + "100201", "subsidy-posting").status_code == 404
    assert download(client, None, county.code + "100201", "unpaid").status_code == 401
    assert download(client, "forged.token.value", county.code + "100201", "unpaid").status_code == 401
    # the token never travels in the URL
    assert client.http.get(f"/downloads/{YEAR}/units/{county.code}100201/unpaid.xlsx?token=x").status_code == 401


def test_downloads_are_audited(client, village, owner_db):
    county, _ = village
    assert download(client, county.tokens["collector"], county.code + "100201", "paid-posting").status_code == 200
    tenant_id = from_global_id(county.id)[1]

    async def read(db):
        rows = await db.execute(
            text("SELECT operation, entity_id, after FROM audit_log WHERE tenant_id = :t AND operation LIKE 'download:%'"),
            {"t": tenant_id},
        )
        return [tuple(r) for r in rows]

    assert ("download:paid-posting", county.code + "100201", {"year": YEAR, "rows": 1}) in owner_db(read, tenant_id)


def test_unpaid_persons_page_by_page_in_scope(client, village):
    county, people = village
    token = county.tokens["collector"]
    first = client.data(UNPAID, {"year": YEAR, "first": 1}, token)["unpaidPersons"]
    assert first["totalCount"] == 2 and first["pageInfo"]["hasNextPage"]
    rest = client.data(UNPAID, {"year": YEAR, "first": 5, "after": first["pageInfo"]["endCursor"]}, token)["unpaidPersons"]
    seen = [e["node"]["idNumber"] for e in first["edges"] + rest["edges"]]
    assert sorted(seen) == sorted([people["unpaid1"], people["unpaid2"]]) and not rest["pageInfo"]["hasNextPage"]
    county_wide = client.data(UNPAID, {"year": YEAR}, county.tokens["admin"])["unpaidPersons"]
    assert county_wide["totalCount"] == 3
    body = client.gql(UNPAID, {"year": YEAR, "unit": county.units["300201"]}, token)
    assert body["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")

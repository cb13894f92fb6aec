"""先缴后补: REIMBURSE subsidies owed per township, and paid out (双牌: the 一卡通 card)."""
from __future__ import annotations

from datetime import date

from tests.payment_support import campaign, new_person, pay
from tests.subsidy_support import csv_list, upload

OWED = """
query($year: Int!, $paidOut: Boolean) {
  reimbursements(year: $year, paidOut: $paidOut) {
    totalCount edges { node { category amount method person { id idNumber } } }
  }
  reimbursementSummary(year: $year) { unit { code } owedCount owedAmount paidCount paidAmount }
}"""
PAY = """
mutation($input: PayReimbursementsInput!) {
  payReimbursements(input: $input) { paid amount userErrors { field code message } }
}"""


def test_shuangpai_dibao_paid_in_full_is_owed_half_back(client, new_county, clock, county_b):
    county, _ = campaign(client, new_county, clock, "shuangpai-2022.json", today=date(2021, 11, 1))
    dibao, unpaid = new_person(client, county, name="低保户"), new_person(client, county, name="未缴")
    rows = [("低保户", dibao, "张庄村", None, None), ("未缴", unpaid, "张庄村", None, None)]
    assert upload(client, county.tokens["civil_affairs"], 2022, "dibao", csv_list(rows))["rowErrors"] == []
    assert pay(client, county.tokens["collector"], dibao, 2022, "320.00", date(2021, 10, 8))["userErrors"] == []

    owed = client.data(OWED, {"year": 2022}, county.tokens["township"])
    assert owed["reimbursements"]["totalCount"] == 1  # only who has paid is owed
    node = owed["reimbursements"]["edges"][0]["node"]
    assert (node["category"], node["amount"], node["person"]["idNumber"]) == ("dibao", "160.00", dibao)
    assert [(s["unit"]["code"], s["owedCount"], s["owedAmount"]) for s in owed["reimbursementSummary"]] == [
        (county.code + "100201", 1, "160.00")  # a township sees its villages
    ]

    person_id = node["person"]["id"]
    assert client.data(PAY, {"input": {"year": 2022, "persons": [person_id]}}, county_b.tokens["admin"])[
        "payReimbursements"]["userErrors"][0]["code"] == "FORBIDDEN"
    paid = client.data(PAY, {"input": {"year": 2022, "persons": [person_id], "reference": "YKT-2022-01"}},
                       county.tokens["township"])["payReimbursements"]
    assert (paid["paid"], paid["amount"], paid["userErrors"]) == (1, "160.00", [])
    again = client.data(PAY, {"input": {"year": 2022, "persons": [person_id]}}, county.tokens["township"])
    assert again["payReimbursements"]["userErrors"][0]["code"] == "NOT_OWED"
    after = client.data(OWED, {"year": 2022, "paidOut": True}, county.tokens["township"])
    assert after["reimbursements"]["edges"][0]["node"]["method"] == "一卡通"
    assert after["reimbursementSummary"][0]["paidAmount"] == "160.00"
    assert client.data(OWED, {"year": 2022, "paidOut": False}, county.tokens["township"])["reimbursements"]["totalCount"] == 0

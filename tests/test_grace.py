"""枣庄 (三) 集中征缴期: 2021-11-01 to 12-20 "（政府资助人员可延长1个月）": a person with a
subsidy category pays the subsidised amount until 2022-01-20, covered from 1 January;
afterwards "需全额缴纳包括各级政府补助（资助）资金在内的居民基本医疗保险费，且缴费30日后方可
享受" (280 + 550, 30 days). In recordPayment and in channel files."""
from __future__ import annotations

from datetime import date

from tests.newborn_support import born, enrollment_of
from tests.payment_import_support import csv_file, import_payments, payments_of, row_codes
from tests.payment_support import campaign, pay

AGED_65 = date(1956, 6, 1)  # 60–69 on 2022-01-01: half of 280 subsidised → 140 due
AGED_40 = date(1981, 6, 1)


def test_subsidised_persons_pay_one_month_after_the_window(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "zaozhuang-2022.json", today=date(2022, 1, 25))
    last_day, day_after = born(client, county, AGED_65), born(client, county, AGED_65)
    unsubsidised = born(client, county, AGED_40)
    admin, collector = county.tokens["admin"], county.tokens["collector"]
    assert {k: enrollment_of(client, admin, last_day, 2022)[k] for k in ("amountDue", "subsidyCategory")} == {
        "amountDue": "140.00", "subsidyCategory": "age60",
    }
    graced = pay(client, collector, last_day.id_number, 2022, "140.00", date(2022, 1, 20))
    assert (graced["payment"]["timing"], graced["payment"]["benefitStart"]) == ("GRACE", "2022-01-01")
    assert graced["enrollment"]["status"] == "PAID"
    # the day after the grace month: the late rule, standard + fiscal subsidy
    refused = pay(client, collector, day_after.id_number, 2022, "140.00", date(2022, 1, 21))
    assert [e["code"] for e in refused["userErrors"]] == ["AMOUNT_MISMATCH"] and "830.00" in refused["userErrors"][0]["message"]
    late = pay(client, collector, day_after.id_number, 2022, "830.00", date(2022, 1, 21))
    assert (late["payment"]["timing"], late["payment"]["benefitStart"]) == ("LATE", "2022-02-20")
    # no subsidy, no grace: the day after the window is already late
    plain = pay(client, collector, unsubsidised.id_number, 2022, "280.00", date(2021, 12, 21))
    assert [e["code"] for e in plain["userErrors"]] == ["AMOUNT_MISMATCH"] and "830.00" in plain["userErrors"][0]["message"]


def test_channel_files_give_the_grace_month_too(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "zaozhuang-2022.json", today=date(2022, 1, 25))
    graced, after, late = born(client, county, AGED_65), born(client, county, AGED_65), born(client, county, AGED_40)
    rows = [
        (graced.id_number, "", "140.00", "微信", "2022-01-20 23:30:00", "WX-ZZ-1"),
        (after.id_number, "", "140.00", "微信", "2022-01-21 00:10:00", "WX-ZZ-2"),
        (late.id_number, "", "830.00", "支付宝", "2021-12-21 09:00:00", "ZFB-ZZ-3"),
    ]
    tax = county.tokens["tax"]
    result = import_payments(client, tax, 2022, csv_file(rows))
    assert (result["accepted"], row_codes(result)) == (2, [(3, "AMOUNT_MISMATCH")])
    assert "830.00" in result["rowErrors"][0]["message"]
    assert [(p["timing"], p["benefitStart"]) for p in payments_of(client, tax, graced.id_number)] == [("GRACE", "2022-01-01")]
    assert [(p["timing"], p["benefitStart"]) for p in payments_of(client, tax, late.id_number)] == [("LATE", "2022-01-20")]

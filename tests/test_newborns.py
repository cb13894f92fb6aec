"""Newborns over GraphQL, with the documents' own dates (DOMAIN.md §9):

- 八公山 "出生后的3个月内": three calendar months (born 01-31 → until 04-30), benefits from
  birth; "新生儿在出生三个月后参保的，待遇自缴费次日起享受".
- 内乡 "出生后90天内", benefits from birth; later "自参保登记之日起享受" (the registration day).
- Both in recordPayment and in channel files (the SQL twins).
"""
from __future__ import annotations

from datetime import date

from tests.newborn_support import born, enrollment_of
from tests.payment_import_support import csv_file, import_payments, payments_of, row_codes
from tests.payment_support import campaign, pay, shanghai


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def timing(payload: dict) -> tuple[str, str]:
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["payment"]["timing"], payload["payment"]["benefitStart"]


def test_baigongshan_three_calendar_months_then_the_day_after_payment(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "baigongshan-2022.json", today=date(2022, 5, 10))
    collector = county.tokens["collector"]
    last_day, day_after = born(client, county, date(2022, 1, 31)), born(client, county, date(2022, 1, 31))
    # 01-31 + 3 months is 04-30 (no 04-31): the period's last day, covered from birth
    assert timing(pay(client, collector, last_day.id_number, 2022, "320.00", date(2022, 4, 30))) == ("NEWBORN", "2022-01-31")
    late = pay(client, collector, day_after.id_number, 2022, "320.00", date(2022, 5, 1))
    assert timing(late) == ("NEWBORN_LATE", "2022-05-02")  # "待遇自缴费次日起享受"
    assert late["enrollment"] == {"status": "PAID", "amountDue": "320.00", "paidAmount": "320.00", "benefitStart": "2022-05-02"}
    # born in the campaign (2021-11-30 + 3 months = 2022-02-28): from 1 January inside the
    # period; after it no migrant's proof is asked, as it would be in the extension
    inside, after = born(client, county, date(2021, 11, 30)), born(client, county, date(2021, 11, 30))
    assert timing(pay(client, collector, inside.id_number, 2022, "320.00", date(2022, 2, 28))) == ("NEWBORN", "2022-01-01")
    assert timing(pay(client, collector, after.id_number, 2022, "320.00", date(2022, 3, 1))) == ("NEWBORN_LATE", "2022-03-02")
    # an adult on the same day: the extension is over
    adult = born(client, county, date(1980, 5, 5))
    assert codes(pay(client, collector, adult.id_number, 2022, "320.00", date(2022, 3, 1), extensionProof="务工证明")) == [
        "WINDOW_CLOSED"
    ]


def test_neixiang_ninety_days_then_the_registration_day(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2023, 1, 10))
    on_birthday = born(client, county, date(2023, 1, 10))  # registered the day it was born
    clock.travel_to(shanghai(date(2023, 3, 20), 12))
    in_time, late = born(client, county, date(2023, 1, 10)), born(client, county, date(2023, 1, 10))
    clock.travel_to(shanghai(date(2023, 4, 11), 12))
    registered_late = born(client, county, date(2023, 1, 10))
    collector = county.tokens["collector"]
    # 2023-01-10 + 90 days = 2023-04-10, the last day covered from birth
    assert timing(pay(client, collector, in_time.id_number, 2023, "350.00", date(2023, 4, 10), channel="TAX_HALL")) == ("NEWBORN", "2023-01-10")
    # the day after: "自参保登记之日起享受" — registered 03-20, so from 03-20; registered 04-11, from 04-11
    assert timing(pay(client, collector, late.id_number, 2023, "350.00", date(2023, 4, 11), channel="TAX_HALL")) == ("NEWBORN_LATE", "2023-03-20")
    assert timing(pay(client, collector, registered_late.id_number, 2023, "350.00", date(2023, 4, 11), channel="TAX_HALL")) == (
        "NEWBORN_LATE", "2023-04-11",
    )
    # registered on its birthday: covered from the day of birth, which masked readers are not told
    paid = pay(client, collector, on_birthday.id_number, 2023, "350.00", date(2023, 4, 11), channel="TAX_HALL")
    assert timing(paid) == ("NEWBORN_LATE", "2023-01-10")
    finance = county.tokens["finance"]
    [payment] = payments_of(client, finance, on_birthday.id_number)
    assert (payment["timing"], payment["benefitStart"]) == ("NEWBORN_LATE", None)
    assert enrollment_of(client, finance, on_birthday, 2023)["benefitStart"] is None
    assert enrollment_of(client, county.tokens["admin"], on_birthday, 2023)["benefitStart"] == "2023-01-10"


def test_born_at_the_end_of_2022_pays_for_2023(client, new_county, clock):
    """内乡: "2022年底出生的小孩，必须缴费才能享受次年医保待遇" — in the window, or as a newborn."""
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 12, 29))
    in_window, newborn, late = (born(client, county, date(2022, 12, 28)) for _ in range(3))
    clock.travel_to(shanghai(date(2023, 3, 29), 12))
    collector = county.tokens["collector"]
    assert timing(pay(client, collector, in_window.id_number, 2023, "350.00", date(2022, 12, 30), channel="TAX_HALL")) == ("WINDOW", "2023-01-01")
    # 2022-12-28 + 90 days = 2023-03-28
    assert timing(pay(client, collector, newborn.id_number, 2023, "350.00", date(2023, 3, 28), channel="TAX_HALL")) == ("NEWBORN", "2023-01-01")
    # registered 2022-12-29, before the benefit year: from its first day
    assert timing(pay(client, collector, late.id_number, 2023, "350.00", date(2023, 3, 29), channel="TAX_HALL")) == ("NEWBORN_LATE", "2023-01-01")


def test_channel_files_date_newborns_as_record_payment_does(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "baigongshan-2022.json", today=date(2022, 5, 10))
    last_day, day_after, campaign_born = (
        born(client, county, date(2022, 1, 31)), born(client, county, date(2022, 1, 31)), born(client, county, date(2021, 11, 30)),
    )
    adult = born(client, county, date(1980, 5, 5))
    rows = [
        (last_day.id_number, "", "320.00", "微信", "2022-04-30 21:00:00", "WX-NB-1"),
        (day_after.id_number, "", "320.00", "微信", "2022-05-01 08:00:00", "WX-NB-2"),
        (campaign_born.id_number, "", "320.00", "支付宝", "2022-03-01 09:00:00", "ZFB-NB-3"),
        (adult.id_number, "", "320.00", "支付宝", "2022-03-01 09:00:00", "ZFB-NB-4"),
    ]
    tax = county.tokens["tax"]
    result = import_payments(client, tax, 2022, csv_file(rows))
    assert (result["accepted"], row_codes(result)) == (3, [(5, "WINDOW_CLOSED")])
    found = {p.id_number: payments_of(client, tax, p.id_number) for p in (last_day, day_after, campaign_born)}
    assert [(found[p.id_number][0]["timing"], found[p.id_number][0]["benefitStart"]) for p in (last_day, day_after, campaign_born)] == [
        ("NEWBORN", "2022-01-31"), ("NEWBORN_LATE", "2022-05-02"), ("NEWBORN_LATE", "2022-03-02"),
    ]


def test_channel_files_take_the_registration_day(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2023, 3, 20))
    in_time, late = born(client, county, date(2023, 1, 10)), born(client, county, date(2023, 1, 10))
    clock.travel_to(shanghai(date(2023, 4, 12), 12))
    rows = [
        (in_time.id_number, "", "350.00", "微信", "2023-04-10 23:59:00", "WX-NX-1"),
        (late.id_number, "", "350.00", "微信", "2023-04-11 00:01:00", "WX-NX-2"),
    ]
    tax = county.tokens["tax"]
    result = import_payments(client, tax, 2023, csv_file(rows))
    assert (result["accepted"], result["rowErrors"]) == (2, [])
    assert [(p["timing"], p["benefitStart"]) for p in payments_of(client, tax, in_time.id_number)] == [("NEWBORN", "2023-01-10")]
    assert [(p["timing"], p["benefitStart"]) for p in payments_of(client, tax, late.id_number)] == [("NEWBORN_LATE", "2023-03-20")]

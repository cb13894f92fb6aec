"""The cells of a channel file: channel names, payment times, amounts, ID numbers (no database)."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.payments.channels import channel_of
from domain.payments.files import SHANGHAI, id_number_of, parse_amount, parse_paid_at
from domain.persons.idnumber import IdNumberError, make_id_number, parse_id_number


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("微信", "WECHAT"), ("微信支付", "WECHAT"), ("WeChat", "WECHAT"), ("wechat", "WECHAT"),
        ("支付宝", "ALIPAY"), ("ALIPAY", "ALIPAY"),
        ("税务APP", "TAX_APP"), ("税务app", "TAX_APP"), ("电子税务局", "TAX_APP"), ("粤税通", "TAX_APP"),
        ("楚税通小程序", "TAX_APP"), ("tax_app", "TAX_APP"), ("TAX APP", "TAX_APP"),
        ("手机银行", "BANK_APP"), ("农业银行手机银行", "BANK_APP"), ("网上银行", "BANK_APP"),
        ("银行柜台", "BANK_COUNTER"), ("农商行柜台", "BANK_COUNTER"),
        ("POS", "POS"), ("智能POS", "POS"), ("ｐｏｓ机", "POS"),
        ("办税服务厅", "TAX_HALL"), ("办税服务厅自助终端", "TAX_HALL"),
        ("学校", "SCHOOL"), ("SCHOOL", "SCHOOL"),
        ("银行代扣", "BANK_WITHHOLDING"), ("BANK_WITHHOLDING", "BANK_WITHHOLDING"), ("农信社批量代扣", "BANK_WITHHOLDING"),
        ("现金", "CASH_AGENT"), ("CASH_AGENT", "CASH_AGENT"),
        ("飞鸽传书", None), ("", None), ("银行", None),
    ],
)
def test_channel_names(name, channel):
    assert channel_of(name) == channel


@pytest.mark.parametrize(
    ("raw", "moment"),
    [
        ("2026-11-05 10:30:00", datetime(2026, 11, 5, 10, 30, tzinfo=SHANGHAI)),
        ("2026-11-05 10:30", datetime(2026, 11, 5, 10, 30, tzinfo=SHANGHAI)),
        ("2026-11-05", datetime(2026, 11, 5, tzinfo=SHANGHAI)),
        ("2026/11/5 9:05", datetime(2026, 11, 5, 9, 5, tzinfo=SHANGHAI)),
        ("2026.11.05 09:05:07", datetime(2026, 11, 5, 9, 5, 7, tzinfo=SHANGHAI)),
        ("2026年11月5日 10时30分", datetime(2026, 11, 5, 10, 30, tzinfo=SHANGHAI)),
        ("20261105103000", datetime(2026, 11, 5, 10, 30, tzinfo=SHANGHAI)),
        ("2026-11-05T02:30:00Z", datetime(2026, 11, 5, 2, 30, tzinfo=UTC)),
        ("2026-11-05T10:30:00+08:00", datetime(2026, 11, 5, 10, 30, tzinfo=timezone(timedelta(hours=8)))),
        ("46331.4375", datetime(2026, 11, 5, 10, 30, tzinfo=SHANGHAI)),  # an Excel serial
    ],
)
def test_payment_times(raw, moment):
    parsed = parse_paid_at(raw)
    assert parsed == moment and parsed.utcoffset() is not None


@pytest.mark.parametrize("raw", ["昨天下午", "2026-13-05", "2026-02-30 10:00", "11/05/2026", "12345", "2026-11-05 25:00"])
def test_not_payment_times(raw):
    with pytest.raises(ValueError):
        parse_paid_at(raw)


@pytest.mark.parametrize(
    ("raw", "amount", "code"),
    [
        ("400.00", Decimal("400.00"), None), ("400", Decimal("400.00"), None), ("¥400.00", Decimal("400.00"), None),
        ("400元", Decimal("400.00"), None), ("1,200.00", Decimal("1200.00"), None),
        ("", None, "MISSING_AMOUNT"), ("abc", None, "INVALID_AMOUNT"), ("0", None, "INVALID_AMOUNT"),
        ("-400", None, "INVALID_AMOUNT"), ("400.001", None, "INVALID_AMOUNT"), ("NaN", None, "INVALID_AMOUNT"),
        ("1000000", None, "INVALID_AMOUNT"),
    ],
)
def test_amounts(raw, amount, code):
    assert parse_amount(raw) == (amount, code)


def test_the_fast_id_number_path_agrees_with_parse_id_number():
    rng = random.Random(7)
    today = date(2026, 11, 23)
    samples = ["411325200002290017", "411325190002290011", "41132519900101123x", "411325 19900101 1234", "411325800101123",
               "011325199001011234", "411325202701011234", "41132518891231123X"]
    for _ in range(3000):
        good = make_id_number("411325", date(1930, 1, 1) + timedelta(days=rng.randrange(35000)), rng.randrange(1000))
        samples.append(good)
        position = rng.randrange(18)
        samples.append(good[:position] + rng.choice("0123456789X") + good[position + 1:])
    for raw in samples:
        try:
            expected = parse_id_number(raw, today=today).value
        except IdNumberError as error:
            expected = error.code
        try:
            found = id_number_of(raw, today)
        except IdNumberError as error:
            found = error.code
        assert found == expected, raw

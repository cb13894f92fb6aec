"""Channels by who records and when (domain/payments/rules.py): 灞桥 — village agents take no
cash, schools, bank counters and the tax hall may; 内乡 — after the concentrated period
(11-30) online and the tax hall window. Pure rules, a table of cases; the SQL twin is
tests/test_channel_rules_sql.py, the mutations tests/test_payment_channels.py."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from authz.roles import Role
from domain.payments.rules import (
    ChannelRule,
    PaymentChannel,
    RecorderKind,
    channel_open,
    channel_refusal,
    open_channels,
)
from domain.policy.files import PolicyFormatError, policy_from_dict, policy_to_dict
from domain.policy.rules import YearPolicy, validate_policy
from schema.payments import recorder_kind
from tenants.kinds import DepartmentCode, UnitKind
from tenants.messages import raw_params
from tests.support import chinese, english

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"

C = PaymentChannel
K = RecorderKind


def load(name: str) -> YearPolicy:
    return policy_from_dict(json.loads((POLICIES / name).read_text(encoding="utf-8")))


BAQIAO = load("baqiao-2022.json")
NEIXIANG_2023 = load("neixiang-2023.json")
NEIXIANG_2027 = load("neixiang-2027.json")
NO_RULES = load("baigongshan-2022.json")
FIELD_CHANNELS = (C.CASH_AGENT, C.SCHOOL, C.POS, C.BANK_COUNTER, C.BANK_WITHHOLDING)
AFTER_11_30 = [C.WECHAT, C.ALIPAY, C.TAX_APP, C.BANK_APP, C.TAX_HALL]  # 线上 + 税务窗口


def test_the_seed_files_state_the_documents_rules():
    assert BAQIAO.channel_rules == (ChannelRule((C.CASH_AGENT,), (K.SCHOOL_COLLECTOR,)),)
    assert NEIXIANG_2023.channel_rules == (ChannelRule(FIELD_CHANNELS, open_until=date(2022, 11, 30)),)
    # 2027: the same shape one campaign later
    assert NEIXIANG_2027.channel_rules == (ChannelRule(FIELD_CHANNELS, open_until=date(2026, 11, 30)),)
    assert (BAQIAO.categories, BAQIAO.standard, BAQIAO.window_start, BAQIAO.extension_end) == (
        (), Decimal("320.00"), date(2021, 10, 15), None,
    )
    for name in ("baigongshan-2022.json", "shuangpai-2022.json", "zaozhuang-2022.json"):
        assert load(name).channel_rules == ()


@pytest.mark.parametrize(
    ("policy", "channel", "recorder", "day", "is_open"),
    [
        # 灞桥: "除大中专院校、银行柜台、办税服务厅可以收取现金外，其他代办单位原则上不再收取现金"
        (BAQIAO, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2021, 11, 5), False),
        (BAQIAO, C.CASH_AGENT, K.TOWNSHIP_STAFF, date(2021, 11, 5), False),
        (BAQIAO, C.CASH_AGENT, K.TAX_BUREAU, date(2021, 11, 5), False),
        (BAQIAO, C.CASH_AGENT, K.SCHOOL_COLLECTOR, date(2021, 11, 5), True),
        (BAQIAO, C.CASH_AGENT, K.SCHOOL_COLLECTOR, date(2021, 12, 31), True),
        (BAQIAO, C.BANK_COUNTER, K.TAX_BUREAU, date(2021, 11, 5), True),
        (BAQIAO, C.TAX_HALL, K.TAX_BUREAU, date(2021, 11, 5), True),
        (BAQIAO, C.TAX_HALL, K.VILLAGE_COLLECTOR, date(2021, 11, 5), True),
        (BAQIAO, C.WECHAT, K.VILLAGE_COLLECTOR, date(2021, 11, 5), True),
        (BAQIAO, C.BANK_COUNTER, K.CHANNEL_FILE, date(2021, 12, 20), True),
        # 内乡 2023: "集中征缴11月30结束后,群众参保以线上缴费为主，同时在…税务窗口安排专人征收"
        (NEIXIANG_2023, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2022, 10, 15), True),
        (NEIXIANG_2023, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2022, 11, 30), True),
        (NEIXIANG_2023, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2022, 12, 1), False),
        (NEIXIANG_2023, C.CASH_AGENT, K.TOWNSHIP_STAFF, date(2022, 12, 1), False),
        (NEIXIANG_2023, C.SCHOOL, K.SCHOOL_COLLECTOR, date(2022, 11, 30), True),
        (NEIXIANG_2023, C.SCHOOL, K.CHANNEL_FILE, date(2022, 12, 1), False),
        (NEIXIANG_2023, C.POS, K.VILLAGE_COLLECTOR, date(2022, 12, 31), False),
        (NEIXIANG_2023, C.BANK_COUNTER, K.CHANNEL_FILE, date(2022, 12, 1), False),
        (NEIXIANG_2023, C.TAX_HALL, K.TAX_BUREAU, date(2022, 12, 1), True),
        (NEIXIANG_2023, C.TAX_HALL, K.TAX_BUREAU, date(2022, 12, 31), True),
        (NEIXIANG_2023, C.WECHAT, K.VILLAGE_COLLECTOR, date(2022, 12, 1), True),
        (NEIXIANG_2023, C.ALIPAY, K.CHANNEL_FILE, date(2022, 12, 31), True),
        (NEIXIANG_2027, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2026, 11, 30), True),
        (NEIXIANG_2027, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2026, 12, 1), False),
        # no rules: today's behaviour, every channel open to everyone
        (NO_RULES, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2021, 12, 31), True),
        (NO_RULES, C.CASH_AGENT, K.TOWNSHIP_STAFF, date(2022, 2, 28), True),
    ],
)
def test_channel_open(policy, channel, recorder, day, is_open):
    assert channel_open(policy.channel_rules, channel, recorder, day) is is_open
    refusal = channel_refusal(policy, channel, recorder, day)
    assert (refusal is None) is is_open
    assert channel in open_channels(policy.channel_rules, recorder, day) or not is_open


# A county that opens cash to village collectors for a season, to schools all campaign,
# and withholding only to channel files in December: rules combine per channel.
SEASONS = (
    ChannelRule((C.CASH_AGENT,), (K.VILLAGE_COLLECTOR, K.TOWNSHIP_STAFF), date(2021, 10, 1), date(2021, 11, 15)),
    ChannelRule((C.CASH_AGENT, C.SCHOOL), (K.SCHOOL_COLLECTOR,)),
    ChannelRule((C.BANK_WITHHOLDING,), (K.CHANNEL_FILE,), date(2021, 12, 1)),
    ChannelRule((C.POS,), (), date(2021, 10, 1), date(2021, 10, 31)),
    ChannelRule((C.POS,), (), date(2021, 12, 1), date(2021, 12, 15)),
)


@pytest.mark.parametrize(
    ("channel", "recorder", "day", "is_open"),
    [
        (C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2021, 9, 30), False),
        (C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2021, 10, 1), True),
        (C.CASH_AGENT, K.TOWNSHIP_STAFF, date(2021, 11, 15), True),
        (C.CASH_AGENT, K.TOWNSHIP_STAFF, date(2021, 11, 16), False),
        (C.CASH_AGENT, K.SCHOOL_COLLECTOR, date(2021, 9, 1), True),
        (C.CASH_AGENT, K.SCHOOL_COLLECTOR, date(2021, 12, 31), True),
        (C.CASH_AGENT, K.TAX_BUREAU, date(2021, 10, 10), False),
        (C.SCHOOL, K.VILLAGE_COLLECTOR, date(2021, 10, 10), False),
        (C.BANK_WITHHOLDING, K.CHANNEL_FILE, date(2021, 11, 30), False),
        (C.BANK_WITHHOLDING, K.CHANNEL_FILE, date(2021, 12, 1), True),
        (C.BANK_WITHHOLDING, K.TAX_BUREAU, date(2021, 12, 1), False),
        (C.POS, K.TAX_BUREAU, date(2021, 10, 31), True),
        (C.POS, K.TAX_BUREAU, date(2021, 11, 1), False),
        (C.POS, K.TAX_BUREAU, date(2021, 12, 15), True),
        (C.WECHAT, K.CHANNEL_FILE, date(2021, 9, 1), True),
    ],
)
def test_rules_combine_per_channel(channel, recorder, day, is_open):
    assert channel_open(SEASONS, channel, recorder, day) is is_open


def test_open_channels_that_day():
    assert open_channels(NEIXIANG_2023.channel_rules, K.VILLAGE_COLLECTOR, date(2022, 12, 1)) == AFTER_11_30
    assert open_channels(NEIXIANG_2023.channel_rules, K.VILLAGE_COLLECTOR, date(2022, 11, 30)) == list(PaymentChannel)
    assert open_channels(BAQIAO.channel_rules, K.VILLAGE_COLLECTOR, date(2021, 11, 5)) == [
        c for c in PaymentChannel if c is not C.CASH_AGENT
    ]
    assert open_channels(BAQIAO.channel_rules, K.SCHOOL_COLLECTOR, date(2021, 11, 5)) == list(PaymentChannel)
    assert open_channels((), K.TOWNSHIP_STAFF, date(2021, 11, 5)) == list(PaymentChannel)


@pytest.mark.parametrize(
    ("policy", "channel", "recorder", "day", "message"),
    [
        (
            BAQIAO, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2021, 11, 5),
            "The 2022 policy does not open CASH_AGENT to village and community collectors (only to school collectors); "
            "on 2021-11-05 the person can pay by WECHAT, ALIPAY, TAX_APP, BANK_APP, BANK_COUNTER, POS, TAX_HALL, SCHOOL, "
            "BANK_WITHHOLDING.",
        ),
        (
            NEIXIANG_2023, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2022, 12, 1),
            "CASH_AGENT is open to village and community collectors until 2022-11-30; "
            "on 2022-12-01 the person can pay by WECHAT, ALIPAY, TAX_APP, BANK_APP, TAX_HALL.",
        ),
        (
            replace(NO_RULES, channel_rules=SEASONS), C.BANK_WITHHOLDING, K.CHANNEL_FILE, date(2021, 11, 30),
            "BANK_WITHHOLDING is open to channel files from 2021-12-01; "
            "on 2021-11-30 the person can pay by WECHAT, ALIPAY, TAX_APP, BANK_APP, BANK_COUNTER, TAX_HALL.",
        ),
        (
            replace(NO_RULES, channel_rules=SEASONS), C.POS, K.TAX_BUREAU, date(2021, 11, 20),
            "POS is open to the tax bureau only on 2021-10-01 – 2021-10-31, 2021-12-01 – 2021-12-15; "
            "on 2021-11-20 the person can pay by WECHAT, ALIPAY, TAX_APP, BANK_APP, BANK_COUNTER, TAX_HALL.",
        ),
        (
            replace(NO_RULES, channel_rules=(ChannelRule(tuple(PaymentChannel), open_until=date(2021, 12, 31)),)),
            C.WECHAT, K.TAX_BUREAU, date(2022, 1, 5),
            "WECHAT is open to the tax bureau until 2021-12-31; no channel is open to the tax bureau on 2022-01-05.",
        ),
    ],
)
def test_a_refusal_says_why_and_where_to_pay_instead(policy, channel, recorder, day, message):
    refusal = channel_refusal(policy, channel, recorder, day)
    assert refusal is not None
    assert (refusal.code, refusal.field) == ("CHANNEL_CLOSED", ["channel"])
    assert english(refusal) == message


def test_a_refusal_is_worded_in_chinese_by_default():
    refusal = channel_refusal(NEIXIANG_2023, C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2022, 12, 1))
    assert chinese(refusal) == (
        "现金代收渠道向村（社区）征缴经办人员开放至 2022-11-30；"
        "2022-12-01 可使用的缴费渠道：微信、支付宝、税务APP、手机银行、办税服务厅。"
    )
    assert dict(raw_params(refusal.params))["channel"] == "CASH_AGENT"


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (ChannelRule(()), ("channelRules", "0", "channels")),
        (ChannelRule((C.POS,), open_from=date(2021, 12, 1), open_until=date(2021, 11, 30)), ("channelRules", "0", "until")),
        # a 2020 date in a 2022 policy (the 枣庄 seed's kind of typo): opens nothing
        (ChannelRule((C.POS,), open_until=date(2020, 11, 30)), ("channelRules", "0", "until")),
        (ChannelRule((C.POS,), open_from=date(2023, 1, 1)), ("channelRules", "0", "from")),
    ],
)
def test_bad_rules_are_refused(rule, problem):
    problems = validate_policy(replace(NO_RULES, channel_rules=(rule,)), set(DepartmentCode))
    assert [(p.code, tuple(p.field)) for p in problems] == [("INVALID_CHANNEL_RULE", problem)]


def test_rules_at_the_edges_of_the_campaign_are_valid():
    edges = (
        ChannelRule((C.POS,), open_until=NO_RULES.window_start),
        ChannelRule((C.SCHOOL,), open_from=date(2022, 12, 31)),
        ChannelRule((C.CASH_AGENT,), (K.SCHOOL_COLLECTOR,), date(2021, 12, 1), date(2021, 12, 1)),
    )
    assert validate_policy(replace(NO_RULES, channel_rules=edges), set(DepartmentCode)) == []


def test_rules_round_trip_through_files_and_name_bad_keys():
    policy = replace(NO_RULES, channel_rules=SEASONS)
    assert policy_from_dict(policy_to_dict(policy)) == policy
    document = policy_to_dict(policy)
    document["channelRules"][2]["recordedBy"] = ["VILLAGE_AGENT"]
    with pytest.raises(PolicyFormatError) as error:
        policy_from_dict(document)
    assert error.value.key == "channelRules[2].recordedBy[0]"
    document["channelRules"][2] = {"channels": ["POS"], "until": "30.11.2021"}
    with pytest.raises(PolicyFormatError) as error:
        policy_from_dict(document)
    assert error.value.key == "channelRules[2].until"


@pytest.mark.parametrize(
    ("role", "department", "unit_kind", "kind"),
    [
        (Role.VILLAGE_COLLECTOR, None, UnitKind.VILLAGE, K.VILLAGE_COLLECTOR),
        (Role.VILLAGE_COLLECTOR, None, UnitKind.COMMUNITY, K.VILLAGE_COLLECTOR),
        (Role.VILLAGE_COLLECTOR, None, UnitKind.SCHOOL, K.SCHOOL_COLLECTOR),
        (Role.TOWNSHIP_STAFF, None, UnitKind.STREET, K.TOWNSHIP_STAFF),
        (Role.TOWNSHIP_STAFF, None, UnitKind.SPECIAL, K.TOWNSHIP_STAFF),
        (Role.DEPARTMENT_STAFF, DepartmentCode.TAX, None, K.TAX_BUREAU),
    ],
)
def test_the_kind_of_recorder_comes_from_the_account(role, department, unit_kind, kind):
    assert recorder_kind(role, department, unit_kind) is kind


def test_accounts_that_record_no_payments_have_no_kind():
    with pytest.raises(ValueError):
        recorder_kind(Role.DEPARTMENT_STAFF, DepartmentCode.FINANCE, None)

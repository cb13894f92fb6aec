"""Payment channels as channel files name them (渠道): 微信 → WECHAT, 银行代扣 → BANK_WITHHOLDING.

The tax bureau's exports, the banks' statements and the townships' spreadsheets each
spell a channel their own way, so a name is folded (NFKC, case, blanks, punctuation)
and looked up among the known spellings first, then matched by the words that give it
away ("…手机银行", "…税通", "…代扣"). An unknown name stays unknown: guessing a channel
would put money on the wrong reconciliation line.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from domain.payments.rules import PaymentChannel

CASH = PaymentChannel.CASH_AGENT


_EXACT: dict[PaymentChannel, tuple[str, ...]] = {
    PaymentChannel.WECHAT: ("微信", "微信支付", "微信缴费", "微信小程序", "微信公众号", "财付通", "weixin", "wx", "wechatpay"),
    PaymentChannel.ALIPAY: ("支付宝", "支付宝缴费", "支付宝小程序", "zfb"),
    PaymentChannel.TAX_APP: (
        "税务app", "税务小程序", "电子税务局", "自然人电子税务局", "个人所得税app", "个税app", "掌上办税", "移动办税",
        "网上办税", "办税app", "税务公众号", "税务微信公众号",
    ),
    PaymentChannel.BANK_APP: ("手机银行", "网上银行", "网银", "银行app", "云闪付", "银联"),
    PaymentChannel.BANK_COUNTER: ("银行柜台", "柜台", "银行柜面", "柜面", "银行网点", "网点"),
    PaymentChannel.POS: ("智能pos", "pos机", "刷卡", "移动pos"),
    PaymentChannel.TAX_HALL: (
        "办税服务厅", "办税大厅", "税务大厅", "办税厅", "自助办税终端", "自助办税", "办税服务厅自助终端", "办税服务厅窗口",
        "办税窗口",
    ),
    PaymentChannel.CASH_AGENT: ("现金", "代收", "现金代收", "村代收", "社区代收", "村级代收", "经办人代收", "cash"),
    PaymentChannel.SCHOOL: ("学校", "学校代收", "校园", "学校代缴"),
    PaymentChannel.BANK_WITHHOLDING: ("银行代扣", "代扣", "批量代扣", "委托代扣", "银行批扣", "批扣"),
}


# Tried in order on names that are not known exactly: the most specific words first
# (a "银行代扣" is withholding, not a bank app; "办税服务厅自助" is the hall).
_CONTAINS: tuple[tuple[str, PaymentChannel], ...] = (
    ("代扣", PaymentChannel.BANK_WITHHOLDING),
    ("批扣", PaymentChannel.BANK_WITHHOLDING),
    ("手机银行", PaymentChannel.BANK_APP),
    ("网上银行", PaymentChannel.BANK_APP),
    ("网银", PaymentChannel.BANK_APP),
    ("柜台", PaymentChannel.BANK_COUNTER),
    ("柜面", PaymentChannel.BANK_COUNTER),
    ("办税服务厅", PaymentChannel.TAX_HALL),
    ("办税大厅", PaymentChannel.TAX_HALL),
    ("自助办税", PaymentChannel.TAX_HALL),
    ("电子税务局", PaymentChannel.TAX_APP),
    ("税通", PaymentChannel.TAX_APP),  # 粤税通, 楚税通, 豫税通 … the provinces' tax apps
    ("税务app", PaymentChannel.TAX_APP),
    ("税务小程序", PaymentChannel.TAX_APP),
    ("办税app", PaymentChannel.TAX_APP),
    ("微信", PaymentChannel.WECHAT),
    ("支付宝", PaymentChannel.ALIPAY),
    ("pos", PaymentChannel.POS),
    ("学校", PaymentChannel.SCHOOL),
    ("现金", PaymentChannel.CASH_AGENT),
)


_PUNCTUATION = re.compile(r"[\s_\-·.。,，/()（）\[\]【】]+")


def fold(name: str) -> str:
    """Compare channel names loosely: full-width → ASCII, no case, no blanks or punctuation."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", name).casefold())


def _known() -> dict[str, PaymentChannel]:
    known = {fold(channel): channel for channel in PaymentChannel}
    for channel, names in _EXACT.items():
        for name in names:
            known[fold(name)] = channel
    return known


_KNOWN = _known()


@lru_cache(maxsize=4096)
def channel_of(name: str) -> PaymentChannel | None:
    """The PaymentChannel a file's channel name stands for, or None when unknown."""
    folded = fold(name)
    if not folded:
        return None
    found = _KNOWN.get(folded)
    if found is not None:
        return found
    return next((channel for word, channel in _CONTAINS if word in folded), None)

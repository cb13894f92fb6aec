"""Cash (现金) in the collectors' hands until it reaches the treasury, no I/O.

A collector declares what they hold (申报, a remittance); the tax bureau confirms it
(缴费确认单). The 双限 rule (内乡, 灞桥) says when cash must be handed over: within the
policy's `remitDays` (5) or once `remitAmount` (10,000 yuan) is held, whichever comes
first.
"""
from __future__ import annotations

from enum import StrEnum


class RemittanceStatus(StrEnum):
    DECLARED = "DECLARED"  # by the collector or their township
    CONFIRMED = "CONFIRMED"  # by the tax bureau

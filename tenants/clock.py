"""The business clock: dates are the tenant's (Asia/Shanghai), not the server's.

A clock can be pinned to a moment (`travel_to`): tests of past campaigns use it, and so
can a training environment replaying a campaign.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


class Clock:
    def __init__(self) -> None:
        self._pinned: datetime | None = None

    def now(self) -> datetime:
        return self._pinned or datetime.now(UTC)

    def today(self, zone: str = DEFAULT_ZONE) -> date:
        return self.now().astimezone(ZoneInfo(zone)).date()

    def travel_to(self, moment: datetime | None) -> None:
        """Pin the clock (an aware datetime), or release it with None."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError("pin the clock with an aware datetime")
        self._pinned = moment

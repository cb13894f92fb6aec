"""GraphQL face of payment channels and of a year policy's channel rules (which channels
are open to which recorders, and when). Apart from schema/payments.py, which reaches the
policy through enrolments: the policy types need the channel enum without that cycle."""
from __future__ import annotations

from datetime import date

import strawberry

from domain.payments.rules import ChannelRule, PaymentChannel, RecorderKind

PaymentChannelEnum = strawberry.enum(PaymentChannel, name="PaymentChannel")
RecorderKindEnum = strawberry.enum(
    RecorderKind, name="RecorderKind",
    description="Who records a payment, from the recording account: its role and the kind of its unit.",
)


@strawberry.type(name="ChannelRule")
class ChannelRuleType:
    channels: list[PaymentChannelEnum]
    recorded_by: list[RecorderKindEnum] = strawberry.field(description="Empty: every kind of recorder.")
    open_from: date | None = strawberry.field(name="from", description="First Beijing day open (null: no start).")
    open_until: date | None = strawberry.field(name="until", description="Last Beijing day open (null: no end).")

    @classmethod
    def of(cls, rule: ChannelRule) -> ChannelRuleType:
        return cls(
            channels=list(rule.channels), recorded_by=list(rule.recorded_by), open_from=rule.open_from,
            open_until=rule.open_until,
        )


@strawberry.input(
    description="Opens its channels to its kinds of recorder from..until (both included). A channel named by "
    "rules is open only where one of them opens it; a channel no rule names is open to all."
)
class ChannelRuleInput:
    channels: list[PaymentChannelEnum]
    recorded_by: list[RecorderKindEnum] | None = strawberry.field(default=None, description="Null or empty: every kind.")
    open_from: date | None = strawberry.field(default=None, name="from")
    open_until: date | None = strawberry.field(default=None, name="until")


def to_channel_rule(rule: ChannelRuleInput) -> ChannelRule:
    return ChannelRule(
        channels=tuple(PaymentChannel(c) for c in rule.channels),
        recorded_by=tuple(RecorderKind(k) for k in rule.recorded_by or []),
        open_from=rule.open_from,
        open_until=rule.open_until,
    )

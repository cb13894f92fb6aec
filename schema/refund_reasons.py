"""The GraphQL enum of the seven refund reasons, in a module of its own: payments,
refunds and persons' life events (schema/person_events.py) all name it."""
from __future__ import annotations

import strawberry

from domain.refunds.rules import RefundReason

RefundReasonEnum = strawberry.enum(RefundReason, name="RefundReason")

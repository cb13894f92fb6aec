"""Money: yuan as Decimal with two places, never float.

One home for the constants and the rounding every rule uses, and for the column type
every table stores money in (NUMERIC(12,2): up to 9,999,999,999.99).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Column, Numeric

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
ZERO = Decimal("0.00")


def money(value: Decimal) -> Decimal:
    """Rounded to the cent, halves up (as a cashier rounds)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def is_money(value: Decimal) -> bool:
    """A finite amount with at most two decimals."""
    return value.is_finite() and value == value.quantize(CENT)


def money_column(nullable: bool = False, default: str | None = None) -> Column[Decimal]:
    return Column(Numeric(12, 2), nullable=nullable, server_default=default)

"""Invoice arithmetic in exact decimals: total = Σ quantity · unit_price · (1 + tax_rate), rounded
half-up to cents once; the tax total is what the rounding leaves above the subtotal."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

CENT = Decimal("0.01")


def dec(x: float | int | str) -> Decimal:
    return Decimal(str(x))


def cents(d: Decimal) -> float:
    return float(d.quantize(CENT, rounding=ROUND_HALF_UP))


def line_total(quantity: float, unit_price: float, tax_rate: float) -> float:
    return cents(dec(quantity) * dec(unit_price) * (1 + dec(tax_rate)))


def totals(lines: Iterable[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(subtotal, tax_total, total) of (quantity, unit_price, tax_rate) lines."""
    net = Decimal(0)
    gross = Decimal(0)
    for quantity, unit_price, tax_rate in lines:
        amount = dec(quantity) * dec(unit_price)
        net += amount
        gross += amount * (1 + dec(tax_rate))
    subtotal, total = cents(net), cents(gross)
    return subtotal, cents(dec(total) - dec(subtotal)), total


def same_amount(a: float, b: float) -> bool:
    return abs(dec(a) - dec(b)) < CENT / 2


def minus(a: float, b: float) -> float:
    return cents(dec(a) - dec(b))


def plus(a: float, b: float) -> float:
    return cents(dec(a) + dec(b))


def percent_to_rate(percent: float) -> float:
    """Dolibarr's VAT percent (19.6) as this system's exact fraction (0.196)."""
    return float(dec(percent) / 100)

"""Money arithmetic for Dolibarr documents: exact decimals, rounded half-up to cents, VAT in percent
(Dolibarr's `tva_tx`). Totals are always derived from the lines, never typed in."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

CENT = Decimal("0.01")


def dec(x: float | int | str) -> Decimal:
    return Decimal(str(x))


def to_cents(d: Decimal) -> float:
    return float(d.quantize(CENT, rounding=ROUND_HALF_UP))


def line_totals(qty: float, subprice: float, tva_tx: float) -> tuple[float, float]:
    """(total_ht, total_ttc) of one line."""
    ht = dec(qty) * dec(subprice)
    return to_cents(ht), to_cents(ht * (1 + dec(tva_tx) / 100))


def document_totals(lines: Iterable[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(total_ht, total_tva, total_ttc) of (qty, subprice, tva_tx) lines, each rounded once at the end."""
    ht = Decimal(0)
    ttc = Decimal(0)
    for qty, subprice, tva_tx in lines:
        amount = dec(qty) * dec(subprice)
        ht += amount
        ttc += amount * (1 + dec(tva_tx) / 100)
    ht_c, ttc_c = to_cents(ht), to_cents(ttc)
    return ht_c, to_cents(dec(ttc_c) - dec(ht_c)), ttc_c

"""Finance invoicing tools: create (by hand or from a Dolibarr order), add lines, validate, record
payments, cancel, read. Validation and payments need the finance role (or admin)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from arena.apps.invoice import app
from arena.apps.invoice.money import line_total, minus, percent_to_rate, plus, same_amount, totals
from arena.core.errors import ToolError, not_found

# Allowed state changes (anything else is an invalid_transition).
INVOICE_TRANSITIONS = {
    "Draft": {"Validated", "Cancelled"},
    "Validated": {"Paid", "Cancelled"},
    "Paid": set(),
    "Cancelled": set(),
}
INVOICEABLE_ORDER_STATUSES = {"Validated", "Shipped"}
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "SEK", "NOK", "PLN", "INR", "KES")
PAYMENT_METHODS = ("bank_transfer", "card", "cash", "check")
DEFAULT_TERMS_DAYS = 30

InvoiceId = Annotated[int, Field(description="Invoice id (as returned by create_invoice)", ge=1)]
Currency = Annotated[Literal[CURRENCIES], Field(description="ISO 4217 currency code")]  # type: ignore[valid-type]


class InvoiceLine(BaseModel):
    """One invoice line; `total`, when given, must equal quantity · unit_price · (1 + tax_rate)."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field(description="What is billed", min_length=1)
    quantity: float = Field(description="Quantity (> 0)", gt=0)
    unit_price: float = Field(description="Unit price without tax (>= 0)", ge=0)
    tax_rate: float = Field(0.0, description="Tax rate as a fraction, e.g. 0.2 for 20 %", ge=0, le=1)
    total: float | None = Field(None, description="Expected line total incl. tax (checked, never trusted)")


def _date(value: str, field: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def _invoice(ctx, invoice_id: int) -> dict:
    return ctx.get("inv_invoices", invoice_id, "invoice")


def _transition(inv: dict, target: str) -> None:
    allowed = INVOICE_TRANSITIONS[inv["status"]]
    if target not in allowed:
        raise ToolError("invalid_transition", f"invoice {inv['number']} is {inv['status']}; it cannot become {target} "
                        f"(allowed: {', '.join(sorted(allowed)) or 'none'})",
                        current=inv["status"], target=target, allowed=sorted(allowed))


def _next_number(ctx, year: str) -> str:
    head = f"INV-{year}-"
    last = ctx.scalar("SELECT MAX(number) FROM inv_invoices WHERE number LIKE ?", head + "%")
    return f"{head}{int(last[len(head):]) + 1 if last else 1:05d}"


def _add_line(ctx, invoice_id: int, line: InvoiceLine) -> int:
    amount = line_total(line.quantity, line.unit_price, line.tax_rate)
    if line.total is not None and not same_amount(line.total, amount):
        raise ToolError("rule_violation", f"line {line.description!r}: total {line.total} does not match "
                        f"quantity × unit_price × (1 + tax_rate) = {amount}", expected=amount, given=line.total)
    return ctx.insert("inv_lines", invoice_id=invoice_id, description=line.description, quantity=line.quantity,
                      unit_price=line.unit_price, tax_rate=line.tax_rate, line_total=amount)


def _recompute(ctx, invoice_id: int) -> tuple[float, float, float]:
    rows = ctx.all("SELECT quantity, unit_price, tax_rate FROM inv_lines WHERE invoice_id = ?", invoice_id)
    subtotal, tax_total, total = totals((r["quantity"], r["unit_price"], r["tax_rate"]) for r in rows)
    ctx.update("inv_invoices", invoice_id, subtotal=subtotal, tax_total=tax_total, total=total)
    return subtotal, tax_total, total


def _summary(inv: dict, today: str) -> dict:
    outstanding = minus(inv["total"], inv["amount_paid"])
    return {**inv, "outstanding": outstanding,
            "overdue": inv["status"] == "Validated" and inv["due_date"] < today and outstanding > 0}


def _create(ctx, *, customer: str, due_date: str | None, currency: str, issue_date: str | None, note: str | None,
            thirdparty_id: int | None = None, order_id: int | None = None) -> tuple[int, str]:
    issued = _date(issue_date, "issue_date") if issue_date else ctx.today
    due = _date(due_date, "due_date") if due_date else (
        dt.date.fromisoformat(issued) + dt.timedelta(days=DEFAULT_TERMS_DAYS)).isoformat()
    if due < issued:
        raise ToolError("rule_violation", f"due_date {due} is before the issue date {issued}", field="due_date")
    if thirdparty_id is None:  # link to the CRM customer of that name when there is one
        thirdparty_id = ctx.scalar("SELECT id FROM dl_thirdparties WHERE name = ? COLLATE NOCASE", customer)
    number = _next_number(ctx, issued[:4])
    iid = ctx.insert("inv_invoices", number=number, customer=customer, thirdparty_id=thirdparty_id, order_id=order_id,
                     currency=currency, issue_date=issued, due_date=due, status="Draft", note=note,
                     created_by=ctx.actor["id"])
    return iid, number


# -- tools ------------------------------------------------------------------------------------------
@app.tool(returns={"invoice_id": "integer", "number": "string", "total": "number"})
def create_invoice(ctx, customer: Annotated[str, Field(description="Customer name (linked to the CRM company of that name if any)", min_length=1)],
                   due_date: Annotated[str, Field(description="Payment due date, YYYY-MM-DD (not before the issue date)")],
                   currency: Currency = "EUR",
                   lines: Annotated[list[InvoiceLine] | None, Field(description="Invoice lines to add right away")] = None,
                   issue_date: Annotated[str | None, Field(description="Issue date, YYYY-MM-DD (default today)")] = None,
                   note: Annotated[str | None, Field(description="Note printed on the invoice")] = None) -> dict:
    """Create a draft invoice, optionally with lines; totals are computed from the lines."""
    iid, number = _create(ctx, customer=customer.strip(), due_date=due_date, currency=currency,
                          issue_date=issue_date, note=note)
    for line in lines or []:
        _add_line(ctx, iid, line)
    _, _, total = _recompute(ctx, iid)
    return {"invoice_id": iid, "number": number, "status": "Draft", "total": total}


@app.tool(returns={"line_id": "integer", "total": "number"})
def add_invoice_line(ctx, invoice_id: InvoiceId,
                     description: Annotated[str, Field(description="What is billed", min_length=1)],
                     quantity: Annotated[float, Field(description="Quantity (> 0)", gt=0)],
                     unit_price: Annotated[float, Field(description="Unit price without tax (>= 0)", ge=0)],
                     tax_rate: Annotated[float, Field(description="Tax rate as a fraction, e.g. 0.2 for 20 %", ge=0, le=1)] = 0.0) -> dict:
    """Add a line to a draft invoice; the invoice totals are recomputed."""
    inv = _invoice(ctx, invoice_id)
    if inv["status"] != "Draft":
        raise ToolError("invalid_transition", f"invoice {inv['number']} is {inv['status']}; only Draft invoices "
                        "take new lines", current=inv["status"])
    lid = _add_line(ctx, invoice_id, InvoiceLine(description=description, quantity=quantity, unit_price=unit_price,
                                                 tax_rate=tax_rate))
    subtotal, tax_total, total = _recompute(ctx, invoice_id)
    return {"line_id": lid, "invoice_id": invoice_id, "subtotal": subtotal, "tax_total": tax_total, "total": total}


@app.tool(destructive=True)
def remove_invoice_line(ctx, invoice_id: InvoiceId,
                        line_id: Annotated[int, Field(description="Line id (from get_invoice)", ge=1)]) -> dict:
    """Remove a line from a draft invoice; the totals are recomputed."""
    inv = _invoice(ctx, invoice_id)
    if inv["status"] != "Draft":
        raise ToolError("invalid_transition", f"invoice {inv['number']} is {inv['status']}; only Draft invoices "
                        "can be edited", current=inv["status"])
    if not ctx.one("SELECT 1 FROM inv_lines WHERE id = ? AND invoice_id = ?", line_id, invoice_id):
        raise not_found(f"line of invoice {inv['number']}", line_id)
    ctx.delete("inv_lines", line_id)
    _, _, total = _recompute(ctx, invoice_id)
    return {"invoice_id": invoice_id, "removed_line_id": line_id, "total": total}


@app.tool()
def validate_invoice(ctx, invoice_id: InvoiceId,
                     expected_total: Annotated[float | None, Field(description="The total you expect (incl. tax); a mismatch refuses validation")] = None) -> dict:
    """Validate a draft invoice (finance or admin). It needs at least one line; the totals are
    recomputed from the lines and must match the stored and the expected total."""
    ctx.require_role("finance", action="validate invoices")
    inv = _invoice(ctx, invoice_id)
    _transition(inv, "Validated")
    if not ctx.scalar("SELECT COUNT(*) FROM inv_lines WHERE invoice_id = ?", invoice_id):
        raise ToolError("rule_violation", f"invoice {inv['number']} has no lines", invoice_id=invoice_id)
    stored = inv["total"]
    subtotal, tax_total, total = _recompute(ctx, invoice_id)
    if not same_amount(stored, total):
        raise ToolError("rule_violation", f"stored total {stored} differs from the lines' total {total}",
                        stored=stored, computed=total)
    if expected_total is not None and not same_amount(expected_total, total):
        raise ToolError("rule_violation", f"expected total {expected_total} but the lines add up to {total} "
                        "(Σ quantity × unit_price × (1 + tax_rate), rounded to cents)",
                        expected=expected_total, computed=total)
    ctx.update("inv_invoices", invoice_id, status="Validated", validated_by=ctx.actor["id"], validated_at=ctx.now)
    return {"invoice_id": invoice_id, "number": inv["number"], "status": "Validated", "subtotal": subtotal,
            "tax_total": tax_total, "total": total}


@app.tool(returns={"payment_id": "integer", "outstanding": "number", "status": "string"})
def record_payment(ctx, invoice_id: InvoiceId,
                   amount: Annotated[float, Field(description="Amount received (> 0, at most the outstanding balance)", gt=0)],
                   paid_on: Annotated[str | None, Field(description="Payment date, YYYY-MM-DD (default today)")] = None,
                   method: Annotated[Literal[PAYMENT_METHODS], Field(description="How it was paid")] = "bank_transfer",  # type: ignore[valid-type]
                   reference: Annotated[str | None, Field(description="Bank reference / transaction id")] = None) -> dict:
    """Record a payment on a validated invoice (finance or admin). A payment never exceeds the
    outstanding balance; when the balance reaches zero the invoice is Paid."""
    ctx.require_role("finance", action="record payments")
    inv = _invoice(ctx, invoice_id)
    if inv["status"] != "Validated":
        raise ToolError("invalid_transition", f"invoice {inv['number']} is {inv['status']}; payments are recorded on "
                        "Validated invoices only", current=inv["status"])
    day = _date(paid_on, "paid_on") if paid_on else ctx.today
    outstanding = minus(inv["total"], inv["amount_paid"])
    amount = round(amount, 2)
    if amount - outstanding > 0.001:
        raise ToolError("rule_violation", f"payment {amount} exceeds the outstanding balance {outstanding} of "
                        f"{inv['number']}", outstanding=outstanding, amount=amount)
    pid = ctx.insert("inv_payments", invoice_id=invoice_id, amount=amount, paid_on=day, method=method,
                     reference=reference, recorded_by=ctx.actor["id"], recorded_at=ctx.now)
    paid = plus(inv["amount_paid"], amount)
    left = minus(inv["total"], paid)
    status = "Paid" if left <= 0 else "Validated"
    ctx.update("inv_invoices", invoice_id, amount_paid=paid, status=status)
    if status == "Paid" and inv["created_by"]:
        ctx.notify(inv["created_by"], "invoice", f"Invoice {inv['number']} ({inv['customer']}) is paid in full",
                   ref=inv["number"])
    return {"payment_id": pid, "invoice_id": invoice_id, "amount_paid": paid, "outstanding": left, "status": status}


@app.tool(read_only=True)
def get_invoice(ctx, invoice_id: InvoiceId) -> dict:
    """One invoice with its lines, payments and outstanding balance."""
    inv = _summary(_invoice(ctx, invoice_id), ctx.today)
    inv["lines"] = ctx.all("SELECT id, description, quantity, unit_price, tax_rate, line_total FROM inv_lines "
                           "WHERE invoice_id = ? ORDER BY id", invoice_id)
    inv["payments"] = ctx.all("SELECT id, amount, paid_on, method, reference FROM inv_payments WHERE invoice_id = ? "
                              "ORDER BY id", invoice_id)
    if inv["order_id"]:
        inv["order_ref"] = ctx.scalar("SELECT ref FROM dl_orders WHERE id = ?", inv["order_id"])
    return inv


@app.tool(read_only=True)
def list_invoices(ctx, status: Annotated[Literal["Draft", "Validated", "Paid", "Cancelled"] | None, Field(description="Only invoices in this status")] = None,
                  customer: Annotated[str | None, Field(description="Customer name (case-insensitive, partial match)")] = None,
                  overdue: Annotated[bool, Field(description="Only validated invoices past their due date with money owed")] = False,
                  limit: Annotated[int, Field(description="Maximum number of invoices", ge=1, le=500)] = 50) -> dict:
    """List invoices, newest first, with outstanding balances."""
    sql, args = "SELECT * FROM inv_invoices WHERE 1 = 1", []
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    if customer:
        sql += " AND customer LIKE ?"
        args.append(f"%{customer}%")
    if overdue:
        sql += " AND status = 'Validated' AND due_date < ? AND amount_paid < total"
        args.append(ctx.today)
    rows = ctx.all(sql + " ORDER BY issue_date DESC, id DESC LIMIT ?", *args, limit)
    return {"invoices": [_summary(r, ctx.today) for r in rows], "count": len(rows)}


@app.tool(destructive=True)
def cancel_invoice(ctx, invoice_id: InvoiceId,
                   reason: Annotated[str, Field(description="Why the invoice is cancelled", min_length=1)]) -> dict:
    """Cancel a draft or validated invoice without payments (finance or admin). Paid invoices stay."""
    ctx.require_role("finance", action="cancel invoices")
    inv = _invoice(ctx, invoice_id)
    _transition(inv, "Cancelled")
    if inv["amount_paid"] > 0:
        raise ToolError("rule_violation", f"invoice {inv['number']} already has payments of {inv['amount_paid']}; "
                        "refund them before cancelling", amount_paid=inv["amount_paid"])
    ctx.update("inv_invoices", invoice_id, status="Cancelled", cancel_reason=reason)
    return {"invoice_id": invoice_id, "number": inv["number"], "status": "Cancelled"}


@app.tool(returns={"invoice_id": "integer", "number": "string", "total": "number"})
def create_invoice_from_order(ctx, order_id: Annotated[int, Field(description="Dolibarr customer order id", ge=1)],
                              due_date: Annotated[str | None, Field(description="Payment due date, YYYY-MM-DD (default: 30 days)")] = None,
                              currency: Currency = "EUR") -> dict:
    """Invoice a Validated or Shipped Dolibarr order: its lines are copied (VAT percent → tax rate)
    and Dolibarr marks the order Billed. Draft, cancelled and already billed orders are refused."""
    order = ctx.one("SELECT * FROM dl_orders WHERE id = ?", order_id)
    if order is None:
        raise not_found("order", order_id)
    existing = ctx.scalar("SELECT number FROM inv_invoices WHERE order_id = ?", order_id)
    if order["status"] == "Billed" or existing:
        raise ToolError("conflict", f"order {order['ref']} is already billed"
                        + (f" (invoice {existing})" if existing else ""), order_id=order_id, invoice=existing)
    if order["status"] not in INVOICEABLE_ORDER_STATUSES:
        raise ToolError("invalid_transition", f"order {order['ref']} is {order['status']}; only Validated or Shipped "
                        "orders can be invoiced", current=order["status"])
    customer = ctx.one("SELECT id, name FROM dl_thirdparties WHERE id = ?", order["socid"])
    iid, number = _create(ctx, customer=customer["name"], due_date=due_date, currency=currency, issue_date=None,
                          note=f"Order {order['ref']}" + (f", your ref. {order['ref_client']}" if order["ref_client"] else ""),
                          thirdparty_id=customer["id"], order_id=order_id)
    for line in ctx.all("SELECT description, qty, subprice, tva_tx FROM dl_order_lines WHERE order_id = ? ORDER BY rang",
                        order_id):
        _add_line(ctx, iid, InvoiceLine(description=line["description"], quantity=line["qty"],
                                        unit_price=line["subprice"], tax_rate=percent_to_rate(line["tva_tx"])))
    _, _, total = _recompute(ctx, iid)
    if not same_amount(total, order["total_ttc"]):
        raise ToolError("rule_violation", f"order {order['ref']} totals {order['total_ttc']} but its lines add up to "
                        f"{total}; fix the order first", order_total=order["total_ttc"], lines_total=total)
    ctx.emit("order.billed", order_id=order_id, invoice_ref=number)
    return {"invoice_id": iid, "number": number, "status": "Draft", "total": total, "order_ref": order["ref"]}


SENDABLE_STATUSES = {"Validated", "Paid"}


@app.tool()
def send_invoice(ctx, invoice_id: InvoiceId,
                 to: Annotated[list[str] | None, Field(description="Recipient addresses (default: the customer's e-mail in the CRM)")] = None,
                 message: Annotated[str | None, Field(description="A personal note put above the invoice summary")] = None) -> dict:
    """E-mail a validated (or paid) invoice to the customer, from your mailbox."""
    inv = _invoice(ctx, invoice_id)
    if inv["status"] not in SENDABLE_STATUSES:
        raise ToolError("invalid_transition", f"invoice {inv['number']} is {inv['status']}; only validated or paid "
                        "invoices are sent", current=inv["status"])
    if not to:
        email = ctx.scalar("SELECT email FROM dl_thirdparties WHERE id = ?", inv["thirdparty_id"]) \
            if inv["thirdparty_id"] else None
        if not email:
            raise ToolError("rule_violation", f"{inv['customer']} has no e-mail address in the CRM; give `to`",
                            field="to")
        to = [email]
    lines = ctx.all("SELECT description, quantity, unit_price, tax_rate, line_total FROM inv_lines "
                    "WHERE invoice_id = ? ORDER BY id", invoice_id)
    outstanding = minus(inv["total"], inv["amount_paid"])
    body = "\n".join(
        ([message, ""] if message else [])
        + [f"Invoice {inv['number']} for {inv['customer']}, issued {inv['issue_date']}, due {inv['due_date']}.", ""]
        + [f"- {li['description']}: {li['quantity']:g} x {li['unit_price']:.2f} {inv['currency']} "
           f"(+{li['tax_rate'] * 100:g}% tax) = {li['line_total']:.2f}" for li in lines]
        + ["", f"Total: {inv['total']:.2f} {inv['currency']} (tax {inv['tax_total']:.2f})",
           f"Outstanding: {outstanding:.2f} {inv['currency']}"])
    ctx.emit("mail.send", sender_id=ctx.actor["id"], to=to, subject=f"Invoice {inv['number']} ({inv['total']:.2f} "
             f"{inv['currency']})", body=body)
    ctx.update("inv_invoices", invoice_id, sent_at=ctx.now)
    return {"invoice_id": invoice_id, "number": inv["number"], "sent_to": to, "outstanding": outstanding}

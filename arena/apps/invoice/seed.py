"""Invoice seed: every Billed Dolibarr order has its invoice here (copied lines, same totals), plus
standalone invoices for CRM customers in every status, with payments that never exceed totals."""
from __future__ import annotations

import datetime as dt

from arena.apps.invoice import app
from arena.apps.invoice.money import cents, dec, line_total, percent_to_rate, totals

STATUS_WEIGHTS = {"Draft": 10, "Validated": 35, "Paid": 45, "Cancelled": 10}
SERVICES = ["Implementation services", "Annual subscription", "Support retainer", "Training workshop",
            "Hardware delivery", "Cloud hosting", "Consulting hours", "Data migration", "License renewal"]
METHODS = ["bank_transfer", "bank_transfer", "bank_transfer", "card", "check"]


def _after(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


@app.seeder(order=60)  # after dolibarr (50): invoices of its billed orders
def seed_invoices(ctx) -> None:
    rng, k = ctx.rng, ctx.k
    finance = [r["id"] for r in ctx.all("SELECT id FROM users WHERE role IN ('finance', 'admin')")]
    customers = ctx.all("SELECT id, name FROM dl_thirdparties WHERE client IN (1, 3)")
    billed = ctx.all("SELECT id, ref, socid, ref_client, date_commande, date_livraison FROM dl_orders WHERE status = 'Billed'")
    order_lines: dict[int, list[dict]] = {}
    for line in ctx.all("SELECT l.order_id, l.description, l.qty, l.subprice, l.tva_tx FROM dl_order_lines l "
                        "JOIN dl_orders o ON o.id = l.order_id WHERE o.status = 'Billed' ORDER BY l.order_id, l.rang"):
        order_lines.setdefault(line["order_id"], []).append(line)
    name_of = {c["id"]: c["name"] for c in ctx.all("SELECT id, name FROM dl_thirdparties")}

    drafts = []  # (customer, thirdparty_id, order_id, issue, note, lines[(desc, qty, price, rate)], status)
    for o in billed:
        issue = o["date_livraison"] or o["date_commande"]
        lines = [(li["description"], li["qty"], li["subprice"], percent_to_rate(li["tva_tx"])) for li in order_lines[o["id"]]]
        status = rng.choices(["Validated", "Paid"], [35, 65])[0]
        drafts.append((name_of[o["socid"]], o["socid"], o["id"], issue, f"Order {o['ref']}, your ref. {o['ref_client']}",
                       lines, status))
    for _ in range(4 + 10 * k):
        c = rng.choice(customers)
        lines = [(rng.choice(SERVICES), float(rng.choice([1, 1, 2, 4, 10, 12])), float(rng.choice([80, 150, 420, 990, 2400])),
                  rng.choice([0.2, 0.2, 0.1, 0.0, 0.19])) for _ in range(rng.randint(1, 4))]
        drafts.append((c["name"], c["id"], None, (dt.date(2025, 6, 2) + dt.timedelta(days=rng.randrange(270))).isoformat(),
                       None, lines, rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]))
    drafts.sort(key=lambda d: d[3])  # numbers run in issue-date order, as a real ledger's do

    invoices, inv_lines, payments = [], [], []
    counters: dict[str, int] = {}
    for iid, (customer, tp, order_id, issue, note, lines, status) in enumerate(drafts, start=1):
        subtotal, tax_total, total = totals((q, p, r) for _, q, p, r in lines)
        year = issue[:4]
        counters[year] = counters.get(year, 0) + 1
        due = _after(issue, 30)
        paid = 0.0
        if status == "Paid":
            first = cents(dec(total) * dec(rng.choice([1, 1, 0.5, 0.3])))
            paid = total
            payments.append((iid, first, _after(issue, rng.randint(5, 40)), rng.choice(METHODS)))
            if first < total:
                payments.append((iid, cents(dec(total) - dec(first)), _after(issue, rng.randint(41, 70)), rng.choice(METHODS)))
        elif status == "Validated" and rng.random() < 0.3:
            paid = cents(dec(total) * dec("0.4"))
            payments.append((iid, paid, _after(issue, rng.randint(5, 25)), rng.choice(METHODS)))
        validated = status in ("Validated", "Paid") or (status == "Cancelled" and rng.random() < 0.5)
        who = rng.choice(finance)
        invoices.append((iid, f"INV-{year}-{counters[year]:05d}", customer, tp, order_id, "EUR", issue, due, status,
                         subtotal, tax_total, total, paid, note, who, who if validated else None,
                         f"{issue}T11:00:00" if validated else None,
                         "Customer withdrew the request" if status == "Cancelled" else None))
        for desc, q, p, r in lines:
            inv_lines.append((iid, desc, q, p, r, line_total(q, p, r)))
    ctx.db.executemany(
        "INSERT INTO inv_invoices (id, number, customer, thirdparty_id, order_id, currency, issue_date, due_date, status, "
        "subtotal, tax_total, total, amount_paid, note, created_by, validated_by, validated_at, cancel_reason) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", invoices)
    ctx.db.executemany("INSERT INTO inv_lines (invoice_id, description, quantity, unit_price, tax_rate, line_total) "
                       "VALUES (?,?,?,?,?,?)", inv_lines)
    ctx.db.executemany("INSERT INTO inv_payments (invoice_id, amount, paid_on, method, reference, recorded_by, recorded_at) "
                       "VALUES (?,?,?,?,?,?,?)",
                       [(iid, amount, day, method, f"TRX-{n:06d}", rng.choice(finance), f"{day}T16:00:00")
                        for n, (iid, amount, day, method) in enumerate(payments, start=1)])

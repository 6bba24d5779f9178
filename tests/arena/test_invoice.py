"""Finance invoicing: the cross-app chain "a CRM order can be invoiced" (Dolibarr order → invoice →
validate → partial and full payment → Paid, order Billed), the totals rule, overpayment and every
other rule refused with the state unchanged, and consistency of the seeded ledger."""
from __future__ import annotations

import pytest

from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import ok, refused


@pytest.fixture(scope="module")
def world():
    return World(load_apps(["invoice"]), seed=0, scale="small")  # loads dolibarr too (depends_on)


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def user_with_role(ep, role):
    return ep.query("SELECT id, username FROM users WHERE role = ? ORDER BY id LIMIT 1", role)[0]


def test_crm_order_is_invoiced_validated_and_paid(ep):
    customer = ep.query("SELECT id, name FROM dl_thirdparties WHERE client IN (1, 3) ORDER BY id LIMIT 1")[0]
    sales = user_with_role(ep, "employee")
    ep.as_user(sales["username"])
    order = ok(ep, "dolibarr.create_order", {"thirdparty_id": customer["id"], "ref_client": "PO-9001", "lines": [
        {"description": "Gateway appliance", "qty": 3, "subprice": 1249.99, "tva_tx": 20},
        {"description": "Installation", "qty": 1.5, "subprice": 480, "tva_tx": 5.5}]})
    ok(ep, "dolibarr.validate_order", {"id": order["id"]})
    ok(ep, "dolibarr.ship_order", {"id": order["id"]})
    # 3*1249.99*1.2 + 1.5*480*1.055 = 4499.964 + 759.6 = 5259.564 -> 5259.56
    assert order["total_ttc"] == 5259.56

    inv = ok(ep, "invoice.create_invoice_from_order", {"order_id": order["id"]})
    assert inv["total"] == 5259.56 and inv["status"] == "Draft"
    assert ep.query("SELECT status, note_public FROM dl_orders WHERE id = ?", order["id"])[0] == {
        "status": "Billed", "note_public": f"Invoiced as {inv['number']}"}
    got = ok(ep, "invoice.get_invoice", {"invoice_id": inv["invoice_id"]})
    assert got["customer"] == customer["name"] and got["thirdparty_id"] == customer["id"]
    assert got["order_ref"] == order["ref"] and "PO-9001" in got["note"]
    assert [(li["quantity"], li["unit_price"], li["tax_rate"]) for li in got["lines"]] == [(3, 1249.99, 0.2),
                                                                                      (1.5, 480, 0.055)]
    # a salesperson cannot validate; finance can
    refused(ep, "invoice.validate_invoice", {"invoice_id": inv["invoice_id"]}, "permission_denied")
    ep.as_user(user_with_role(ep, "finance")["username"])
    valid = ok(ep, "invoice.validate_invoice", {"invoice_id": inv["invoice_id"], "expected_total": 5259.56})
    assert (valid["subtotal"], valid["tax_total"], valid["total"]) == (4469.97, 789.59, 5259.56)
    part = ok(ep, "invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": 2000, "reference": "SEPA-1"})
    assert (part["status"], part["outstanding"]) == ("Validated", 3259.56)
    full = ok(ep, "invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": 3259.56, "method": "card"})
    assert (full["status"], full["outstanding"], full["amount_paid"]) == ("Paid", 0.0, 5259.56)

    row = ep.query("SELECT status, total, amount_paid, validated_by FROM inv_invoices WHERE id = ?", inv["invoice_id"])[0]
    assert row["status"] == "Paid" and row["total"] == row["amount_paid"] == 5259.56
    assert ep.query("SELECT ROUND(SUM(amount), 2) AS s FROM inv_payments WHERE invoice_id = ?",
                    inv["invoice_id"])[0]["s"] == 5259.56
    assert ep.query("SELECT status FROM dl_orders WHERE id = ?", order["id"])[0]["status"] == "Billed"
    assert ep.query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND ref = ?",
                    sales["id"], inv["number"])[0]["n"] == 1  # the creator hears it is paid
    diff = ep.diff()
    assert len(diff["inv_invoices"]["inserted"]) == 1 and len(diff["inv_payments"]["inserted"]) == 2
    assert len(diff["dl_orders"]["inserted"]) == 1  # created, validated, shipped and billed in this episode
    # the same order cannot be invoiced twice
    refused(ep, "invoice.create_invoice_from_order", {"order_id": order["id"]}, "conflict")


def test_totals_rule(ep):
    refused(ep, "invoice.create_invoice", {"customer": "Walk-in", "due_date": "2026-04-01", "lines": [
        {"description": "Cables", "quantity": 3, "unit_price": 19.99, "tax_rate": 0.19, "total": 71.37}]},
        "rule_violation")  # 3 * 19.99 * 1.19 = 71.3643 -> 71.36
    inv = ok(ep, "invoice.create_invoice", {"customer": "Walk-in", "due_date": "2026-04-01", "currency": "USD", "lines": [
        {"description": "Cables", "quantity": 3, "unit_price": 19.99, "tax_rate": 0.19, "total": 71.36}]})
    line = ok(ep, "invoice.add_invoice_line", {"invoice_id": inv["invoice_id"], "description": "Adapter",
                                               "quantity": 1, "unit_price": 0.05, "tax_rate": 0.1})
    assert line["total"] == 71.42  # 71.3643 + 0.055 = 71.4193 -> 71.42, rounded once over all lines
    refused(ep, "invoice.validate_invoice", {"invoice_id": inv["invoice_id"], "expected_total": 71.41}, "rule_violation")
    ok(ep, "invoice.validate_invoice", {"invoice_id": inv["invoice_id"], "expected_total": 71.42})
    assert ep.query("SELECT subtotal, tax_total, total, currency FROM inv_invoices WHERE id = ?", inv["invoice_id"])[0] == {
        "subtotal": 60.02, "tax_total": 11.4, "total": 71.42, "currency": "USD"}


def test_overpayment_refused_with_state_unchanged(ep):
    inv = ok(ep, "invoice.create_invoice", {"customer": "Globex Systems", "due_date": "2026-03-31", "lines": [
        {"description": "Support retainer", "quantity": 1, "unit_price": 1000, "tax_rate": 0.2}]})
    ok(ep, "invoice.validate_invoice", {"invoice_id": inv["invoice_id"]})
    ok(ep, "invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": 700})
    err = refused(ep, "invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": 500.01}, "rule_violation")
    assert err["details"]["outstanding"] == 500.0
    assert ep.query("SELECT amount_paid, status FROM inv_invoices WHERE id = ?", inv["invoice_id"])[0] == {
        "amount_paid": 700.0, "status": "Validated"}
    refused(ep, "invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": 0}, "invalid_arguments")
    refused(ep, "invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": -5}, "invalid_arguments")
    refused(ep, "invoice.cancel_invoice", {"invoice_id": inv["invoice_id"], "reason": "oops"}, "rule_violation")
    ok(ep, "invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": 500})
    refused(ep, "invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": 0.01}, "invalid_transition")
    refused(ep, "invoice.cancel_invoice", {"invoice_id": inv["invoice_id"], "reason": "late"}, "invalid_transition")
    assert ep.query("SELECT thirdparty_id FROM inv_invoices WHERE id = ?", inv["invoice_id"])[0]["thirdparty_id"] == \
        ep.query("SELECT id FROM dl_thirdparties WHERE name = 'Globex Systems'")[0]["id"]


def test_other_rules_refused_with_state_unchanged(ep):
    empty = ok(ep, "invoice.create_invoice", {"customer": "Acme Robotics", "due_date": "2026-04-15"})
    refused(ep, "invoice.validate_invoice", {"invoice_id": empty["invoice_id"]}, "rule_violation")  # no lines
    refused(ep, "invoice.record_payment", {"invoice_id": empty["invoice_id"], "amount": 10}, "invalid_transition")
    refused(ep, "invoice.create_invoice", {"customer": "Acme Robotics", "due_date": "2026-02-01"}, "rule_violation")
    refused(ep, "invoice.create_invoice", {"customer": "Acme Robotics", "due_date": "soon"}, "invalid_arguments")
    refused(ep, "invoice.create_invoice", {"customer": "Acme Robotics", "due_date": "2026-04-15", "currency": "XYZ"},
            "invalid_arguments")
    refused(ep, "invoice.add_invoice_line", {"invoice_id": empty["invoice_id"], "description": "Tax > 100 %",
                                             "quantity": 1, "unit_price": 1, "tax_rate": 20}, "invalid_arguments")
    refused(ep, "invoice.get_invoice", {"invoice_id": 99999}, "not_found")
    ok(ep, "invoice.add_invoice_line", {"invoice_id": empty["invoice_id"], "description": "Audit", "quantity": 1,
                                        "unit_price": 300})
    ok(ep, "invoice.validate_invoice", {"invoice_id": empty["invoice_id"]})
    refused(ep, "invoice.add_invoice_line", {"invoice_id": empty["invoice_id"], "description": "Late", "quantity": 1,
                                             "unit_price": 1}, "invalid_transition")
    refused(ep, "invoice.validate_invoice", {"invoice_id": empty["invoice_id"]}, "invalid_transition")
    employee = user_with_role(ep, "employee")["username"]
    ep.as_user(employee)
    refused(ep, "invoice.record_payment", {"invoice_id": empty["invoice_id"], "amount": 10}, "permission_denied")
    refused(ep, "invoice.cancel_invoice", {"invoice_id": empty["invoice_id"], "reason": "x"}, "permission_denied")
    ep.as_user("jordan.lee")
    ok(ep, "invoice.cancel_invoice", {"invoice_id": empty["invoice_id"], "reason": "Duplicate"})

    for status, code in (("Draft", "invalid_transition"), ("Cancelled", "invalid_transition"), ("Billed", "conflict")):
        order = ep.query("SELECT id FROM dl_orders WHERE status = ? ORDER BY id LIMIT 1", status)
        if not order:  # the small seed may lack a status: make one
            tp = ep.query("SELECT id FROM dl_thirdparties WHERE client = 1 LIMIT 1")[0]["id"]
            oid = ok(ep, "dolibarr.create_order", {"thirdparty_id": tp, "lines": [{"description": "x", "subprice": 1}]})["id"]
            if status == "Cancelled":
                ok(ep, "dolibarr.cancel_order", {"id": oid})
            order = [{"id": oid}]
        refused(ep, "invoice.create_invoice_from_order", {"order_id": order[0]["id"]}, code)
    refused(ep, "invoice.create_invoice_from_order", {"order_id": 99999}, "not_found")


def test_seeded_ledger_is_consistent(world):
    with world.episode() as ep:
        billed = ep.query("SELECT o.id, o.total_ttc, i.total, i.status FROM dl_orders o "
                          "LEFT JOIN inv_invoices i ON i.order_id = o.id WHERE o.status = 'Billed'")
        assert billed and all(r["total"] == r["total_ttc"] for r in billed)
        assert ep.query("SELECT COUNT(*) AS n FROM inv_invoices i JOIN dl_orders o ON o.id = i.order_id "
                        "WHERE o.status != 'Billed'")[0]["n"] == 0
        bad = ep.query(
            "SELECT i.number FROM inv_invoices i "
            "LEFT JOIN (SELECT invoice_id, SUM(amount) AS paid FROM inv_payments GROUP BY invoice_id) p ON p.invoice_id = i.id "
            "WHERE abs(i.amount_paid - COALESCE(p.paid, 0)) > 0.005 OR i.amount_paid > i.total + 0.005 "
            "OR (i.status = 'Paid') != (abs(i.amount_paid - i.total) < 0.005 AND i.total > 0) "
            "OR abs(i.subtotal + i.tax_total - i.total) > 0.005")
        assert bad == []
        lines = ep.query("SELECT i.id, i.total, SUM(l.quantity * l.unit_price * (1 + l.tax_rate)) AS raw "
                         "FROM inv_invoices i JOIN inv_lines l ON l.invoice_id = i.id GROUP BY i.id")
        assert all(abs(r["total"] - r["raw"]) < 0.006 for r in lines)
        overdue = ok(ep, "invoice.list_invoices", {"overdue": True})
        assert all(r["overdue"] and r["due_date"] < "2026-03-02" for r in overdue["invoices"])


def test_validated_invoice_is_mailed_to_the_customer(ep):
    tp = ep.query("SELECT id, name, email FROM dl_thirdparties WHERE client IN (1, 3) AND email IS NOT NULL "
                  "ORDER BY id LIMIT 1")[0]
    inv = ok(ep, "invoice.create_invoice", {"customer": tp["name"], "due_date": "2026-04-01", "lines": [
        {"description": "Consulting hours", "quantity": 6, "unit_price": 150, "tax_rate": 0.2}]})
    refused(ep, "invoice.send_invoice", {"invoice_id": inv["invoice_id"]}, "invalid_transition")  # still a draft
    ok(ep, "invoice.validate_invoice", {"invoice_id": inv["invoice_id"]})
    sent = ok(ep, "invoice.send_invoice", {"invoice_id": inv["invoice_id"], "message": "Dear team,"})
    assert sent["sent_to"] == [tp["email"]]
    mail = ep.query("SELECT owner_id, folder, recipients, subject, body FROM mail_messages ORDER BY id DESC LIMIT 1")[0]
    assert (mail["owner_id"], mail["folder"], mail["recipients"]) == (1, "Sent", tp["email"])
    assert inv["number"] in mail["subject"] and "Total: 1080.00 EUR" in mail["body"]
    assert ep.query("SELECT sent_at FROM inv_invoices WHERE id = ?", inv["invoice_id"])[0]["sent_at"] == ep.world.now

    accountant = ep.query("SELECT id, email FROM users WHERE role = 'finance' ORDER BY id LIMIT 1")[0]
    ok(ep, "invoice.send_invoice", {"invoice_id": inv["invoice_id"], "to": [accountant["email"]]})
    inbox = ep.query("SELECT subject FROM mail_messages WHERE owner_id = ? AND folder = 'INBOX' ORDER BY id DESC LIMIT 1",
                     accountant["id"])
    assert inbox and inv["number"] in inbox[0]["subject"]
    refused(ep, "invoice.send_invoice", {"invoice_id": inv["invoice_id"], "to": ["not an address"]}, "invalid_arguments")

    walk_in = ok(ep, "invoice.create_invoice", {"customer": "Walk-in customer", "due_date": "2026-04-01", "lines": [
        {"description": "Cable", "quantity": 1, "unit_price": 9.5}]})
    ok(ep, "invoice.validate_invoice", {"invoice_id": walk_in["invoice_id"]})
    refused(ep, "invoice.send_invoice", {"invoice_id": walk_in["invoice_id"]}, "rule_violation")  # no CRM e-mail

"""CRM and finance requests: order → invoice → payment (Dolibarr + invoicing), SOQL pipeline
reports and opportunity updates (Salesforce), holiday requests in Dolibarr."""
from __future__ import annotations

from arena.tasks.handwritten import FamilySpec, field, row, says

# (customer position, [(product position, qty)], customer's PO reference) — positions in the
# seeded lists (by id), so the requests follow the world's data when its seed words change
ORDERS = [(0, [(0, 2)], "PO-7731"), (2, [(1, 3), (3, 2)], "PO-1182"), (3, [(5, 1)], "PO-5520"),
          (4, [(4, 1), (0, 1)], "PO-0419"), (5, [(3, 4)], "PO-9087")]


def order_to_cash(call, q, i):
    ci, picks, po = ORDERS[i]
    customers = q("SELECT id, name FROM dl_thirdparties WHERE client IN (1, 3) AND status = 1 ORDER BY id")
    catalog = q("SELECT id, label FROM dl_products WHERE status = 1 ORDER BY id")
    if not customers or not catalog:
        return None
    customer = customers[ci % len(customers)]["name"]
    items = [(catalog[p % len(catalog)]["label"], qty) for p, qty in picks]
    companies = call("dolibarr.get_companies", {"limit": 100})
    socid = next(c["id"] for c in companies["companies"] if c["name"] == customer)
    products = call("dolibarr.get_products", {"limit": 100})
    by_label = {p["label"]: p["id"] for p in products["products"]}
    lines = [{"product_id": by_label[label], "qty": qty} for label, qty in items]
    order = call("dolibarr.create_order", {"thirdparty_id": socid, "ref_client": po, "lines": lines})
    call("dolibarr.validate_order", {"id": order["id"]})
    inv = call("invoice.create_invoice_from_order", {"order_id": order["id"], "due_date": "2026-04-30"})
    call("invoice.validate_invoice", {"invoice_id": inv["invoice_id"]})
    call("invoice.record_payment", {"invoice_id": inv["invoice_id"], "amount": inv["total"],
                                    "method": "bank_transfer", "reference": po})
    what = " and ".join(f"{qty} x {label}" for label, qty in items)
    intent = (f"{customer} sent purchase order {po} for {what}. Enter the order in Dolibarr with their "
              f"reference {po}, validate it, invoice it in the invoicing system (due 2026-04-30), validate "
              f"the invoice and record their full bank transfer payment with reference {po}. Tell me the "
              f"invoice number and total.")
    return {"intent": intent, "category": "multi_entity",
            "answer": f"Invoice {inv['number']} for {inv['total']} is paid.",
            "checks": [row("dl_orders", socid=socid, ref_client=po, status="Billed"),
                       row("inv_invoices", thirdparty_id=socid, status="Paid", total=inv["total"]),
                       row("inv_payments", amount=inv["total"], reference=po)] + says(inv["number"], inv["total"])}


STAGES = ["Negotiation", "Prospecting", "Closed Won", "Qualification", "Closed Lost"]


def soql_pipeline(call, q, i):
    stage = STAGES[i]
    res = call("salesforce.soql_query", {"query": f"SELECT Name, Amount FROM Opportunity WHERE StageName = '{stage}'"})
    recs = res["records"]
    total = sum(r["Amount"] or 0 for r in recs)
    biggest = max(recs, key=lambda r: r["Amount"] or 0)["Name"]
    total_txt = f"{total:,.0f}"
    intent = (f"Pipeline report: query Salesforce for the opportunities in stage '{stage}'. How many are "
              f"there, what is their total amount, and which one is the largest?")
    return {"intent": intent, "category": "search_orchestration",
            "answer": f"{len(recs)} opportunities in {stage}, total {total_txt}; largest: {biggest}.",
            "checks": [{"type": "answer_matches_any", "values": [total_txt, f"{total:.0f}", f"{total:.2f}"]}]
            + says(biggest)}


NEXT_STAGE = {"Prospecting": "Qualification", "Qualification": "Proposal", "Proposal": "Negotiation",
              "Negotiation": "Closed Won"}


def opportunity_advance(call, q, i):
    opps = q("SELECT id, name, stage_name FROM sf_opportunities WHERE stage_name IN "
             "('Negotiation', 'Proposal', 'Qualification', 'Prospecting') ORDER BY id")
    if i >= len(opps):
        return None
    name, target = opps[i]["name"], NEXT_STAGE[opps[i]["stage_name"]]
    res = call("salesforce.soql_query", {"query": f"SELECT Id, StageName FROM Opportunity WHERE Name = '{name}'"})
    # names repeat across stages: the open one is the deal meant
    oid = next(r["Id"] for r in res["records"] if r["StageName"] == opps[i]["stage_name"])
    call("salesforce.update_opportunity_stage", {"opportunity_id": oid, "stage_name": target})
    intent = (f"The open deal '{name}' (currently {opps[i]['stage_name']}) moved on: set its opportunity "
              f"stage in Salesforce to '{target}'.")
    return {"intent": intent, "category": "crud", "answer": f"'{name}' is now in stage {target}.",
            "checks": [field("sf_opportunities", {"id": opps[i]["id"]}, "stage_name", target)]}


HOLIDAYS = [("clara.holm", "LEAVE_PAID", "2026-05-11", "2026-05-15"),
            ("aiko.mendes", "LEAVE_PAID", "2026-06-01", "2026-06-03"),
            ("bruno.park", "LEAVE_UNPAID", "2026-07-20", "2026-07-24")]


def dolibarr_holiday(call, q, i):
    login, kind, start, end = HOLIDAYS[i]
    users = call("dolibarr.get_users", {"limit": 100})
    uid = next(u["id"] for u in users["users"] if u["login"] == login)
    req = call("dolibarr.create_holiday_request", {"fk_user": uid, "date_debut": start, "date_fin": end, "type": kind})
    call("dolibarr.validate_holiday", {"id": req["id"]})
    call("dolibarr.approve_holiday", {"id": req["id"]})
    intent = (f"In Dolibarr, enter a {kind} holiday request for {login} from {start} to {end}, then "
              f"validate and approve it.")
    return {"intent": intent, "category": "crud", "answer": f"Holiday {req.get('ref', req['id'])} approved.",
            "checks": [row("dl_holidays", fk_user=uid, date_debut=start, date_fin=end, type=kind, status="approved")]}


FAMILIES = [FamilySpec("order_to_cash", order_to_cash, len(ORDERS)),
            FamilySpec("soql_pipeline", soql_pipeline, len(STAGES)),
            FamilySpec("opportunity_advance", opportunity_advance, 5),
            FamilySpec("dolibarr_holiday", dolibarr_holiday, len(HOLIDAYS))]

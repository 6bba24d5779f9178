"""Dolibarr app: a scripted order episode, the holiday approval flow, every enterprise rule refused
with the state unchanged, provisioning of later hires, and consistency of the seeded data."""
from __future__ import annotations

import pytest

from arena.core.company import hire
from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import ok, refused


@pytest.fixture(scope="module")
def world():
    return World(load_apps(["dolibarr"]), seed=0, scale="small")


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def username(ep, role):
    return ep.query("SELECT username FROM users WHERE role = ? ORDER BY id LIMIT 1", role)[0]["username"]


def test_order_episode_create_read_update_verify(ep):
    company = ok(ep, "dolibarr.create_company", {"name": "Fjordline Shipping", "email": "ap@fjordline.example",
                                                 "town": "Oslo", "country_code": "no"})
    assert company["code_client"].startswith("CU2603-")
    product = ok(ep, "dolibarr.create_product", {"ref": "SRV-TRAIN", "label": "Onsite training day", "type": 1,
                                                 "price": 950.0, "tva_tx": 20})
    order = ok(ep, "dolibarr.create_order", {"thirdparty_id": company["id"], "ref_client": "PO-77",
                                             "lines": [{"product_id": product["id"], "qty": 2}]})
    assert order["status"] == "Draft" and order["total_ttc"] == 2280.0
    line = ok(ep, "dolibarr.add_order_line", {"order_id": order["id"], "description": "Travel costs", "qty": 1,
                                              "subprice": 123.45, "tva_tx": 10})
    assert line["total_ttc"] == 2280.0 + 135.80  # 123.45 * 1.10 = 135.795 -> 135.80 (half up)
    assert ok(ep, "dolibarr.validate_order", {"id": order["id"]})["status"] == "Validated"
    shipped = ok(ep, "dolibarr.ship_order", {"id": order["id"], "date_livraison": "2026-03-05"})
    assert shipped["status"] == "Shipped"
    ok(ep, "dolibarr.update_company", {"id": company["id"], "phone": "+47 22 00 00 00"})

    got = ok(ep, "dolibarr.get_order", {"id": order["id"]})
    assert got["thirdparty_name"] == "Fjordline Shipping"
    assert [li["description"] for li in got["lines"]] == ["Onsite training day", "Travel costs"]
    row = ep.query("SELECT * FROM dl_orders WHERE id = ?", order["id"])[0]
    assert (row["status"], row["total_ht"], row["total_tva"], row["total_ttc"]) == ("Shipped", 2023.45, 392.35, 2415.8)
    assert row["valid_by"] == 1 and row["date_livraison"] == "2026-03-05"
    diff = ep.diff()
    assert [r["name"] for r in diff["dl_thirdparties"]["inserted"]] == ["Fjordline Shipping"]
    assert diff["dl_thirdparties"]["inserted"][0]["phone"] == "+47 22 00 00 00"
    assert len(diff["dl_order_lines"]["inserted"]) == 2
    assert diff["dl_orders"]["inserted"][0]["ref"] == order["ref"]
    listed = ok(ep, "dolibarr.get_orders", {"thirdparty_id": company["id"]})
    assert [o["id"] for o in listed["orders"]] == [order["id"]]


def test_holiday_request_validation_and_approval(ep):
    emp = ep.query("SELECT u.id, u.username, u.manager_id, d.id AS dl_id, d.holiday_balance FROM users u "
                   "JOIN dl_users d ON d.user_id = u.id WHERE u.role = 'employee' ORDER BY u.id LIMIT 1")[0]
    manager = ep.query("SELECT username FROM users WHERE id = ?", emp["manager_id"])[0]["username"]
    ep.as_user(emp["username"])
    req = ok(ep, "dolibarr.create_holiday_request", {"fk_user": emp["dl_id"], "date_debut": "2026-08-03",
                                                     "date_fin": "2026-08-07", "type": "LEAVE_PAID",
                                                     "halfday": 1, "description": "Summer"})
    assert req["nb_days"] == 4.5
    ok(ep, "dolibarr.validate_holiday", {"id": req["id"]})
    assert ep.query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND ref = ?",
                    emp["manager_id"], req["ref"])[0]["n"] == 1
    ep.as_user(manager)
    approved = ok(ep, "dolibarr.approve_holiday", {"id": req["id"]})
    assert approved["holiday_balance"] == emp["holiday_balance"] - 4.5
    row = ep.query("SELECT status, fk_validator FROM dl_holidays WHERE id = ?", req["id"])[0]
    assert row == {"status": "approved", "fk_validator": emp["manager_id"]}
    pending = ok(ep, "dolibarr.get_holidays", {"status": "3", "fk_user": emp["dl_id"]})  # Dolibarr's code for approved
    assert req["id"] in [h["id"] for h in pending["holidays"]]


def test_order_rules_refused_with_state_unchanged(ep):
    tp = ep.query("SELECT id, name FROM dl_thirdparties WHERE client IN (1, 3) ORDER BY id LIMIT 1")[0]
    refused(ep, "dolibarr.create_company", {"name": tp["name"].upper()}, "conflict")
    empty = ok(ep, "dolibarr.create_order", {"thirdparty_id": tp["id"]})
    refused(ep, "dolibarr.validate_order", {"id": empty["id"]}, "rule_violation")  # no lines
    refused(ep, "dolibarr.ship_order", {"id": empty["id"]}, "invalid_transition")  # Draft -> Shipped
    ok(ep, "dolibarr.add_order_line", {"order_id": empty["id"], "description": "Setup", "subprice": 100})
    ok(ep, "dolibarr.validate_order", {"id": empty["id"]})
    refused(ep, "dolibarr.add_order_line", {"order_id": empty["id"], "description": "More", "subprice": 5},
            "invalid_transition")
    refused(ep, "dolibarr.validate_order", {"id": empty["id"]}, "invalid_transition")  # already validated
    ok(ep, "dolibarr.ship_order", {"id": empty["id"]})
    refused(ep, "dolibarr.cancel_order", {"id": empty["id"]}, "invalid_transition")  # shipped orders stay
    refused(ep, "dolibarr.add_order_line", {"order_id": 99999, "description": "x", "subprice": 1}, "not_found")
    refused(ep, "dolibarr.create_order", {"thirdparty_id": tp["id"], "lines": [{"qty": 1}]}, "invalid_arguments")
    refused(ep, "dolibarr.create_product", {"ref": "NEG-1", "label": "Bad", "price": -1}, "rule_violation")
    existing_ref = ep.query("SELECT ref FROM dl_products LIMIT 1")[0]["ref"]
    refused(ep, "dolibarr.create_product", {"ref": existing_ref, "label": "Dup"}, "conflict")
    refused(ep, "dolibarr.get_companies", {"sortfield": "t.nom; DROP TABLE dl_thirdparties"}, "invalid_arguments")
    refused(ep, "dolibarr.create_company", {"name": "Bad Mail Ltd", "email": "not-an-email"}, "invalid_arguments")


def test_user_holiday_and_timesheet_rules_refused_with_state_unchanged(ep):
    refused(ep, "dolibarr.create_user", {"login": "jordan.lee", "firstname": "J", "lastname": "L",
                                         "email": "j@x.example", "password": "longenough"}, "conflict")
    refused(ep, "dolibarr.create_user", {"login": "newbie", "firstname": "N", "lastname": "B",
                                         "email": "n@x.example", "password": "short"}, "rule_violation")
    created = ok(ep, "dolibarr.create_user", {"login": "ext.auditor", "firstname": "Ext", "lastname": "Auditor",
                                              "email": "audit@firm.example", "password": "s3cret-pass"})
    user = ok(ep, "dolibarr.get_user", {"id": created["id"]})
    assert "pass_hash" not in user and user["login"] == "ext.auditor"
    assert "s3cret-pass" not in str(ep.query("SELECT pass_hash FROM dl_users WHERE id = ?", created["id"]))

    # an employee may neither create users nor approve leave
    me = ep.query("SELECT u.username, d.id AS dl_id FROM users u JOIN dl_users d ON d.user_id = u.id "
                  "WHERE u.role = 'employee' ORDER BY u.id LIMIT 1")[0]
    ep.as_user(me["username"])
    refused(ep, "dolibarr.create_user", {"login": "other", "firstname": "O", "lastname": "T",
                                         "email": "o@x.example", "password": "longenough"}, "permission_denied")
    other = ep.query("SELECT id FROM dl_users WHERE id != ? AND user_id IS NOT NULL LIMIT 1", me["dl_id"])[0]["id"]
    refused(ep, "dolibarr.create_holiday_request", {"fk_user": other, "date_debut": "2026-09-01",
                                                    "date_fin": "2026-09-02", "type": "LEAVE_PAID"}, "permission_denied")
    big = ok(ep, "dolibarr.create_holiday_request", {"fk_user": me["dl_id"], "date_debut": "2026-09-01",
                                                     "date_fin": "2026-10-30", "type": "LEAVE_PAID"})
    ok(ep, "dolibarr.validate_holiday", {"id": big["id"]})
    refused(ep, "dolibarr.create_holiday_request", {"fk_user": me["dl_id"], "date_debut": "2026-09-10",
                                                    "date_fin": "2026-09-11", "type": "LEAVE_SICK"}, "conflict")
    refused(ep, "dolibarr.create_holiday_request", {"fk_user": me["dl_id"], "date_debut": "2026-11-07",
                                                    "date_fin": "2026-11-08", "type": "LEAVE_PAID"}, "rule_violation")
    refused(ep, "dolibarr.create_holiday_request", {"fk_user": me["dl_id"], "date_debut": "2026-11-10",
                                                    "date_fin": "2026-11-09", "type": "LEAVE_PAID"}, "rule_violation")
    refused(ep, "dolibarr.create_holiday_request", {"fk_user": me["dl_id"], "date_debut": "2026-11-10",
                                                    "date_fin": "2026-11-12", "type": "LEAVE_BEACH"}, "invalid_arguments")
    refused(ep, "dolibarr.approve_holiday", {"id": big["id"]}, "permission_denied")  # employees cannot approve

    # jordan (admin) may approve others, never their own; 44 working days exceed the 25-day balance
    ep.as_user("jordan.lee")
    refused(ep, "dolibarr.approve_holiday", {"id": big["id"]}, "rule_violation")
    jordan_dl = ep.query("SELECT id FROM dl_users WHERE user_id = 1")[0]["id"]
    draft = ok(ep, "dolibarr.create_holiday_request", {"fk_user": me["dl_id"], "date_debut": "2026-12-01",
                                                       "date_fin": "2026-12-02", "type": "LEAVE_PAID"})
    refused(ep, "dolibarr.approve_holiday", {"id": draft["id"]}, "invalid_transition")  # not submitted yet
    own = ok(ep, "dolibarr.create_holiday_request", {"fk_user": jordan_dl, "date_debut": "2026-12-01",
                                                     "date_fin": "2026-12-02", "type": "LEAVE_PAID"})
    ok(ep, "dolibarr.validate_holiday", {"id": own["id"]})
    refused(ep, "dolibarr.approve_holiday", {"id": own["id"]}, "permission_denied")
    ok(ep, "dolibarr.refuse_holiday", {"id": big["id"], "reason": "Too long"})
    refused(ep, "dolibarr.approve_holiday", {"id": big["id"]}, "invalid_transition")  # refused is final

    project = ok(ep, "dolibarr.create_project", {"title": "Data room migration"})
    ok(ep, "dolibarr.add_timesheet_entry", {"project_id": project["id"], "task_date": "2026-03-02", "duration": 20})
    refused(ep, "dolibarr.add_timesheet_entry", {"project_id": project["id"], "task_date": "2026-03-02",
                                                 "duration": 5}, "rule_violation")  # 25 h in a day
    closed = ep.query("SELECT id FROM dl_projects WHERE status = 2 LIMIT 1")
    if closed:
        refused(ep, "dolibarr.add_timesheet_entry", {"project_id": closed[0]["id"], "task_date": "2026-03-03",
                                                     "duration": 1}, "rule_violation")
    sheets = ok(ep, "dolibarr.get_timesheets", {"fk_user": jordan_dl, "year": 2026, "month": 3})
    assert sheets["total_hours"] == 20


def test_later_hire_gets_a_dolibarr_login(ep):
    taken = ep.query("SELECT login FROM dl_users WHERE user_id = 1")[0]["login"]
    ok(ep, "dolibarr.create_user", {"login": "mina.kowalski", "firstname": "Contractor", "lastname": "K",
                                    "email": "contractor@firm.example", "password": "longenough"})
    dept = ep.query("SELECT id FROM departments WHERE code = 'ENG'")[0]["id"]
    uid = hire(ep.ctx, first_name="Mina", last_name="Kowalski", department_id=dept, designation="QA Engineer")
    row = ep.query("SELECT login, email, holiday_balance, admin FROM dl_users WHERE user_id = ?", uid)[0]
    assert row["login"] == "mina.kowalski2"  # the hand-made login kept its name; the hire got the next one
    assert row["email"] == "mina.kowalski@acme-corp.example" and row["holiday_balance"] == 25 and row["admin"] == 0
    assert taken == "jordan.lee"


def test_seeded_data_is_consistent(world):
    with world.episode() as ep:
        people = ep.query("SELECT COUNT(*) AS n FROM users")[0]["n"]
        assert ep.query("SELECT COUNT(*) AS n FROM dl_users WHERE user_id IS NOT NULL")[0]["n"] == people
        bad_totals = ep.query(
            "SELECT o.ref FROM dl_orders o JOIN (SELECT order_id, SUM(qty * subprice) AS ht FROM dl_order_lines "
            "GROUP BY order_id) l ON l.order_id = o.id WHERE abs(o.total_ht - l.ht) > 0.005 "
            "OR abs(o.total_ht + o.total_tva - o.total_ttc) > 0.005")
        assert bad_totals == []
        assert ep.query("SELECT COUNT(*) AS n FROM dl_orders o WHERE NOT EXISTS "
                        "(SELECT 1 FROM dl_order_lines l WHERE l.order_id = o.id)")[0]["n"] == 0
        used = ep.query("SELECT d.holiday_balance, COALESCE(SUM(h.nb_days), 0) AS taken FROM dl_users d "
                        "LEFT JOIN dl_holidays h ON h.fk_user = d.id AND h.status = 'approved' AND h.type = 'LEAVE_PAID' "
                        "GROUP BY d.id")
        assert all(r["holiday_balance"] >= 0 and r["holiday_balance"] + r["taken"] == 25 for r in used)
        assert ep.query("SELECT MAX(h) AS m FROM (SELECT SUM(duration) AS h FROM dl_timesheets "
                        "GROUP BY fk_user, task_date)")[0]["m"] <= 24
    again = World(load_apps(["dolibarr"]), seed=0, scale="small")
    with again.episode() as ep2, world.episode() as ep1:
        q = "SELECT ref, socid, total_ttc, status FROM dl_orders ORDER BY id"
        assert ep1.query(q) == ep2.query(q)  # deterministic from the seed

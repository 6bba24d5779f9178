"""Zammad app: the ticket state machine, articles and tags, merging, agent/customer permissions, and
the cross-app chain "assigning a ticket notifies the assignee" (and mails them, with mail loaded)."""
from __future__ import annotations


import pytest

from arena.core.registry import load_apps
from arena.core.world import World

from tests.arena.calls import ok, refused
from tests.arena.reference import reference_tools


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["zammad"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def agent(ep, group: str, n: int = 0) -> dict:
    """An agent (not the admin) working in `group`, with the company person's id."""
    return ep.query("SELECT z.id, z.login, z.email, z.user_id FROM zm_users z JOIN zm_group_members m "
                    "ON m.agent_id = z.id JOIN zm_groups g ON g.id = m.group_id WHERE g.name = ? AND z.role = 'Agent' "
                    "ORDER BY z.id LIMIT 1 OFFSET ?", group, n)[0]


def external_customer(ep, n: int = 0) -> dict:
    return ep.query("SELECT id, login, email FROM zm_users WHERE role = 'Customer' AND user_id IS NULL "
                    "ORDER BY id LIMIT 1 OFFSET ?", n)[0]


def staff_customer(ep) -> dict:
    return ep.query("SELECT id, login, email, user_id FROM zm_users WHERE role = 'Customer' AND user_id IS NOT NULL "
                    "ORDER BY id LIMIT 1")[0]


def new_ticket(ep, **extra) -> dict:
    cust = external_customer(ep)
    return ok(ep, "zammad.zammad_create_ticket", {"title": "Invoice PDF is empty", "group": "Support L1",
                                                  "customer": cust["email"], "article_body": "The PDF has no pages.",
                                                  **extra})


def test_ticket_lifecycle_episode(ep):
    cust = external_customer(ep)
    l1 = agent(ep, "Support L1")
    t = ok(ep, "zammad.zammad_create_ticket", {"title": "Cannot download invoice", "group": "Support L1",
                                               "customer": cust["login"], "article_body": "Download fails with 500.",
                                               "priority": "3 high"})
    assert t["state"] == "new" and t["number"] == str(31000 + t["id"])
    ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "state": "open", "owner": l1["login"]})
    ok(ep, "zammad.zammad_add_article", {"ticket_id": t["id"], "body": "Could you send a screenshot?",
                                         "article_type": "email"})
    ok(ep, "zammad.zammad_add_article", {"ticket_id": t["id"], "body": "Customer is on the legacy plan.",
                                         "internal": True})
    ok(ep, "zammad.zammad_add_ticket_tag", {"ticket_id": t["id"], "tag": "Billing"})
    ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "state": "pending reminder",
                                           "pending_time": "2026-03-04T09:00:00"})
    got = ok(ep, "zammad.zammad_get_ticket", {"ticket_id": t["id"]})
    assert (got["state"], got["priority"], got["owner"], got["tags"]) == ("pending reminder", "3 high", l1["login"],
                                                                         ["billing"])
    assert [(a["type"], a["sender"], a["internal"]) for a in got["articles"]] == [
        ("note", "Agent", False), ("email", "Agent", False), ("note", "Agent", True)]
    assert got["articles"][1]["to"] == cust["email"]
    ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "state": "closed"})
    row = ep.query("SELECT state, owner_id, pending_time, close_at FROM zm_tickets WHERE id = ?", t["id"])[0]
    assert row == {"state": "closed", "owner_id": l1["user_id"], "pending_time": None, "close_at": ep.ctx.now}
    diff = ep.diff()
    assert [r["title"] for r in diff["zm_tickets"]["inserted"]] == ["Cannot download invoice"]
    assert len(diff["zm_articles"]["inserted"]) == 3
    assert diff["zm_tags"]["inserted"][0]["tag"] == "billing"
    found = ok(ep, "zammad.zammad_search_tickets", {"query": "legacy plan", "response_format": "json"})
    assert [x["id"] for x in found["tickets"]] == [t["id"]]
    assert "markdown" not in found


def test_ticket_transitions_valid_and_invalid(ep):
    t = new_ticket(ep)
    tid = t["id"]
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": tid, "state": "pending close"}, "invalid_transition")
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": tid, "state": "merged"}, "invalid_transition")
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": tid, "state": "solved"}, "invalid_arguments")
    for state in ("open", "pending close", "open", "closed", "open", "closed"):
        assert ok(ep, "zammad.zammad_update_ticket", {"ticket_id": tid, "state": state})["state"] == state
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": tid, "state": "pending reminder"}, "invalid_transition")
    refused(ep, "zammad.zammad_create_ticket", {"title": "x", "group": "IT", "customer": "jordan.lee",
                                                "article_body": "x", "state": "closed"}, "invalid_transition")
    # pending states get a default pending_time; leaving them clears it
    t2 = new_ticket(ep, state="open")
    assert ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t2["id"], "state": "pending reminder"})["pending_time"] \
        == "2026-03-03T09:00:00"
    assert ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t2["id"], "state": "open"})["pending_time"] is None


def test_merge_moves_articles_and_is_final(ep):
    a, b = new_ticket(ep), new_ticket(ep, state="open")
    merged = ok(ep, "zammad.zammad_merge_tickets", {"ticket_id": a["id"], "target_ticket_id": b["id"]})
    assert merged["state"] == "merged"
    target = ok(ep, "zammad.zammad_get_ticket", {"ticket_id": b["id"]})
    assert [x["body"] for x in target["articles"]] == ["The PDF has no pages.", "The PDF has no pages."]
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": a["id"], "state": "open"}, "invalid_transition")
    refused(ep, "zammad.zammad_add_article", {"ticket_id": a["id"], "body": "late"}, "invalid_transition")
    refused(ep, "zammad.zammad_merge_tickets", {"ticket_id": b["id"], "target_ticket_id": a["id"]},
            "invalid_transition")
    refused(ep, "zammad.zammad_merge_tickets", {"ticket_id": b["id"], "target_ticket_id": b["id"]}, "rule_violation")


def test_assigning_a_ticket_notifies_the_assignee(ep):
    l1, l1b = agent(ep, "Support L1"), agent(ep, "Support L1", 1)
    t = new_ticket(ep, owner=l1["email"])
    notes = ep.query("SELECT user_id, app, text FROM notifications WHERE ref = ?", f"zammad:ticket:{t['id']}")
    assert notes == [{"user_id": l1["user_id"], "app": "zammad",
                      "text": f"Ticket #{t['number']} \"Invoice PDF is empty\" was assigned to you by Jordan Lee"}]
    ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "owner": l1b["login"]})
    ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "owner": l1b["login"], "priority": "low"})
    assert [n["user_id"] for n in ep.query("SELECT user_id FROM notifications WHERE ref = ? ORDER BY id",
                                           f"zammad:ticket:{t['id']}")] == [l1["user_id"], l1b["user_id"]]
    # an agent who takes a ticket themselves is notified too (no mail to oneself)
    ep.as_user(l1["login"])
    ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "owner": l1["login"]})
    assert ep.query("SELECT COUNT(*) AS n FROM notifications WHERE ref = ?", f"zammad:ticket:{t['id']}")[0]["n"] == 3


def test_assignment_and_email_articles_go_through_mail_when_loaded():
    world = World(load_apps(["zammad", "mail"]), seed=0, scale="small")
    with world.episode() as ep:
        l1 = agent(ep, "Support L1")
        t = new_ticket(ep, owner=l1["login"])
        inbox = ep.query("SELECT m.subject FROM mail_messages m JOIN mail_accounts a ON a.user_id = m.owner_id "
                         "WHERE a.address = ? AND m.folder = 'INBOX' AND m.subject LIKE ?", l1["email"],
                         f"[Ticket#{t['number']}]%")
        assert inbox == [{"subject": f"[Ticket#{t['number']}] assigned to you: Invoice PDF is empty"}]
        # an agent's email article is mailed to the (external) customer from the agent's mailbox
        ep.as_user(l1["login"])
        ok(ep, "zammad.zammad_add_article", {"ticket_id": t["id"], "body": "Fixed, please retry.",
                                             "article_type": "email"})
        sent = ep.query("SELECT recipients, subject, body FROM mail_messages WHERE owner_id = ? AND folder = 'Sent' "
                        "ORDER BY id DESC LIMIT 1", l1["user_id"])
        assert sent == [{"recipients": external_customer(ep)["email"], "body": "Fixed, please retry.",
                         "subject": f"[Ticket#{t['number']}] Invoice PDF is empty"}]


def test_rules_refuse_and_change_nothing(ep):
    t = new_ticket(ep)
    it_agent, staff = agent(ep, "IT"), staff_customer(ep)
    not_l1 = ep.query("SELECT z.login FROM zm_users z WHERE z.role = 'Agent' AND z.id NOT IN (SELECT agent_id FROM "
                      "zm_group_members m JOIN zm_groups g ON g.id = m.group_id WHERE g.name = 'Support L1') LIMIT 1")[0]
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "owner": not_l1["login"]}, "rule_violation")
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "owner": staff["login"]}, "rule_violation")
    gone = agent(ep, "Support L1", 1)
    ep.db.execute("UPDATE users SET status = 'left' WHERE id = ?", (gone["user_id"],))  # as HR's offboarding does
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "owner": gone["login"]}, "rule_violation")
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": 99999, "state": "open"}, "not_found")
    refused(ep, "zammad.zammad_create_ticket", {"title": "x", "group": "Sales", "customer": staff["login"],
                                                "article_body": "x"}, "not_found")
    refused(ep, "zammad.zammad_create_ticket", {"title": "x", "group": "IT", "customer": "ghost@nowhere.example",
                                                "article_body": "x"}, "not_found")
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "priority": "urgent"}, "invalid_arguments")
    refused(ep, "zammad.zammad_remove_ticket_tag", {"ticket_id": t["id"], "tag": "never-set"}, "not_found")
    refused(ep, "zammad.zammad_create_user", {"firstname": "A", "lastname": "B",
                                              "email": external_customer(ep)["email"]}, "conflict")
    refused(ep, "zammad.zammad_create_organization", {"name": "Acme Corp"}, "conflict")
    # agents only see their groups' tickets
    ep.as_user(it_agent["login"])
    refused(ep, "zammad.zammad_get_ticket", {"ticket_id": t["id"]}, "permission_denied")
    # customers: only their own tickets, no internal notes, no owners, no updates
    ep.as_user(staff["login"])
    refused(ep, "zammad.zammad_get_ticket", {"ticket_id": t["id"]}, "permission_denied")
    refused(ep, "zammad.zammad_create_ticket", {"title": "x", "group": "IT", "customer": external_customer(ep)["login"],
                                                "article_body": "x"}, "permission_denied")
    mine = ok(ep, "zammad.zammad_create_ticket", {"title": "Laptop will not boot", "group": "IT",
                                                  "customer": staff["login"], "article_body": "Black screen."})
    refused(ep, "zammad.zammad_add_article", {"ticket_id": mine["id"], "body": "x", "internal": True},
            "permission_denied")
    refused(ep, "zammad.zammad_update_ticket", {"ticket_id": mine["id"], "state": "closed"}, "permission_denied")
    refused(ep, "zammad.zammad_search_users", {"query": "a"}, "permission_denied")
    assert [x["id"] for x in ok(ep, "zammad.zammad_search_tickets", {"response_format": "json"})["tickets"]] \
        == [x["id"] for x in ep.query("SELECT id FROM zm_tickets WHERE customer_id = ? ORDER BY id DESC", staff["id"])]


def test_customer_follow_up_reopens_closed_ticket_and_hides_internal_notes(ep):
    staff = staff_customer(ep)
    t = ok(ep, "zammad.zammad_create_ticket", {"title": "VPN drops", "group": "IT", "customer": staff["login"],
                                               "article_body": "Every hour.", "state": "open"})
    ok(ep, "zammad.zammad_add_article", {"ticket_id": t["id"], "body": "Known issue with the old client.",
                                         "internal": True})
    ok(ep, "zammad.zammad_update_ticket", {"ticket_id": t["id"], "state": "closed"})
    ep.as_user(staff["login"])
    seen = ok(ep, "zammad.zammad_get_ticket", {"ticket_id": t["id"]})
    assert [a["body"] for a in seen["articles"]] == ["Every hour."]
    assert ok(ep, "zammad.zammad_add_article", {"ticket_id": t["id"], "body": "Still dropping."})["ticket_state"] == "open"
    assert ep.query("SELECT state, close_at FROM zm_tickets WHERE id = ?", t["id"]) == [{"state": "open", "close_at": None}]


def test_directory_and_reference_lists(ep):
    org = ok(ep, "zammad.zammad_create_organization", {"name": "Initrode Systems", "domain": "initrode.example"})
    user = ok(ep, "zammad.zammad_create_user", {"firstname": "Peter", "lastname": "Gibbons",
                                                "email": "Peter.Gibbons@initrode.example", "organization": str(org["id"])})
    assert ok(ep, "zammad.zammad_get_user", {"user_id": user["id"]})["organization"] == "Initrode Systems"
    assert ok(ep, "zammad.zammad_get_organization", {"org_id": org["id"]})["members"][0]["login"] \
        == "peter.gibbons@initrode.example"
    assert ok(ep, "zammad.zammad_search_organizations", {"query": "initrode"})["organizations"][0]["id"] == org["id"]
    found = ok(ep, "zammad.zammad_search_users", {"query": "Gibbons"})
    assert [u["id"] for u in found["users"]] == [user["id"]] and "| peter.gibbons@initrode.example |" in found["markdown"]
    assert [g["name"] for g in ok(ep, "zammad.zammad_list_groups", {})["groups"]] == ["Users", "Support L1", "Support L2", "IT"]
    assert [p["name"] for p in ok(ep, "zammad.zammad_list_ticket_priorities", {})["priorities"]] == ["1 low", "2 normal", "3 high"]
    states = {s["name"]: s["next_states"] for s in ok(ep, "zammad.zammad_list_ticket_states", {})["states"]}
    assert states["merged"] == [] and "closed" in states["open"]
    stats = ok(ep, "zammad.zammad_get_ticket_stats", {})
    assert stats["total_count"] == ep.query("SELECT COUNT(*) AS n FROM zm_tickets")[0]["n"]
    att = ep.query("SELECT a.ticket_id, x.article_id, x.filename FROM zm_attachments x JOIN zm_articles a "
                   "ON a.id = x.article_id ORDER BY x.id LIMIT 1")[0]
    got = ok(ep, "zammad.zammad_get_article_attachments", {"ticket_id": att["ticket_id"], "article_id": att["article_id"]})
    assert [x["filename"] for x in got["attachments"]] == [att["filename"]]
    assert ok(ep, "zammad.zammad_get_current_user", {})["role"] == "Admin"


def test_surface_is_a_superset_of_the_reference_server(world):
    ref = reference_tools("zammad")
    tools = {t.name: t for t in world.tools("zammad")}
    assert len(tools) >= 16
    json_type = {"str": "string", "int": "integer", "bool": "boolean", "list": "array", "dict": "object",
                 "ResponseFormat": "string", "ArticleType": "string"}
    for spec in ref:
        tool = tools[spec["name"]]
        props, required = tool.input_schema["properties"], set(tool.input_schema.get("required", []))
        for p in spec["params"]:
            assert p["name"] in props, (spec["name"], p["name"])
            assert (p["name"] in required) == p["required"], (spec["name"], p["name"])
            assert props[p["name"]].get("type") == json_type[p["type"].replace(" | None", "")], (spec["name"], p)
        assert not required - {p["name"] for p in spec["params"]}, spec["name"]

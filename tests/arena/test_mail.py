"""Mail app: delivery into real mailboxes of one shared SQLite state, threads, folders, the rules
(address syntax, recipients limit, disabled mailboxes, privacy of other people's mail), the
`mail.send` event other apps use, and the hiring chain that provisions mail and chat identities."""
from __future__ import annotations

import pytest

from arena.core.company import hire
from arena.core.errors import ToolError
from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import ok, refused

ME = "jordan.lee@acme-corp.example"


@pytest.fixture(scope="module")
def world() -> World:
    # rocketchat too: the hiring chain provisions both identities in one world
    w = World(load_apps(["mail", "rocketchat"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def colleague(ep, n: int = 0) -> dict:
    """An active employee other than the default actor, with their mailbox."""
    return ep.query("SELECT u.id, u.username, a.address FROM users u JOIN mail_accounts a ON a.user_id = u.id "
                    "WHERE u.id != 1 AND u.status = 'active' ORDER BY u.id LIMIT 1 OFFSET ?", n)[0]


def test_send_read_reply_move_thread(ep):
    bob = colleague(ep)
    sent = ok(ep, "mail.send_email", {"to": [bob["address"], "partner@northwind.example"],
                                      "subject": "Quarterly report", "body": "Numbers attached.", "cc": [ME]})
    assert sent["delivered_to"] == [bob["address"], ME]  # cc to oneself is delivered too
    assert sent["external"] == ["partner@northwind.example"]
    copies = ep.query("SELECT owner_id, folder, is_read FROM mail_messages WHERE message_key = ? ORDER BY id",
                      sent["message_id"])
    assert copies == [{"owner_id": 1, "folder": "Sent", "is_read": 1},
                      {"owner_id": bob["id"], "folder": "INBOX", "is_read": 0},
                      {"owner_id": 1, "folder": "INBOX", "is_read": 0}]

    ep.as_user(bob["username"])
    unread = ok(ep, "mail.list_emails", {"folder": "INBOX", "unread_only": True})["emails"]
    mine = [e for e in unread if e["subject"] == "Quarterly report"]
    assert len(mine) == 1 and mine[0]["from"] == ME
    opened = ok(ep, "mail.read_email", {"email_id": mine[0]["email_id"]})
    assert opened["body"] == "Numbers attached." and opened["cc"] == [ME] and opened["is_read"]
    reply = ok(ep, "mail.reply_email", {"email_id": mine[0]["email_id"], "body": "Looks good."})
    assert reply["delivered_to"] == [ME]
    ok(ep, "mail.move_email", {"email_id": mine[0]["email_id"], "folder": "Archive"})

    ep.as_user("jordan.lee")
    found = ok(ep, "mail.search_emails", {"query": "Re: Quarterly", "folder": "INBOX"})["emails"]
    assert [e["subject"] for e in found] == ["Re: Quarterly report"]
    thread = ok(ep, "mail.get_thread", {"email_id": found[0]["email_id"]})
    assert thread["thread_id"] == sent["message_id"]
    assert {e["subject"] for e in thread["emails"]} == {"Quarterly report", "Re: Quarterly report"}
    full = ok(ep, "mail.read_email", {"email_id": found[0]["email_id"]})
    assert full["in_reply_to"] is not None and "> Numbers attached." in full["body"]

    diff = ep.diff()["mail_messages"]
    assert len(diff["inserted"]) == 5  # 3 copies of the mail, 2 of the reply
    changed = {u["id"]: u["changes"] for u in diff["updated"]}
    bob_copy = ep.query("SELECT id FROM mail_messages WHERE message_key = ? AND owner_id = ?",
                        sent["message_id"], bob["id"])[0]["id"]
    assert bob_copy not in changed  # inserted in this episode: reported as inserted, in its final form
    assert ep.query("SELECT folder, is_read FROM mail_messages WHERE id = ?", bob_copy) == [
        {"folder": "Archive", "is_read": 1}]


def test_forward_delete_and_counts(ep):
    inbox = ok(ep, "mail.list_emails", {"folder": "INBOX"})
    assert inbox["total"] >= 1
    first = inbox["emails"][0]["email_id"]
    bob = colleague(ep, 1)
    fwd = ok(ep, "mail.forward_email", {"email_id": first, "to": [bob["address"]], "note": "FYI"})
    fwd_row = ep.query("SELECT subject, body FROM mail_messages WHERE id = ?", fwd["email_id"])[0]
    assert fwd_row["subject"].startswith("Fwd: ") and "Forwarded message" in fwd_row["body"]
    info0 = ok(ep, "mail.get_mailbox_info")
    assert ok(ep, "mail.delete_email", {"email_id": first}) == {"email_id": first, "deleted": False, "folder": "Trash"}
    assert ok(ep, "mail.delete_email", {"email_id": first})["deleted"] is True
    assert ep.query("SELECT COUNT(*) AS n FROM mail_messages WHERE id = ?", first) == [{"n": 0}]
    assert ok(ep, "mail.get_mailbox_info")["total_emails"] == info0["total_emails"] - 1
    folders = {f["name"]: f for f in ok(ep, "mail.list_folders")["folders"]}
    assert set(folders) == {"INBOX", "Sent", "Archive", "Trash"}
    assert folders["Sent"]["total"] == ep.query(
        "SELECT COUNT(*) AS n FROM mail_messages WHERE owner_id = 1 AND folder = 'Sent'")[0]["n"]
    ok(ep, "mail.mark_email_read", {"email_id": fwd["email_id"], "read": False})
    assert ep.query("SELECT is_read FROM mail_messages WHERE id = ?", fwd["email_id"]) == [{"is_read": 0}]


def test_rules_refuse_and_change_nothing(ep):
    bob = colleague(ep)
    refused(ep, "mail.send_email", {"to": ["not-an-address"], "subject": "x", "body": "y"}, "invalid_arguments")
    err = refused(ep, "mail.send_email", {"to": [bob["address"]], "cc": ["bad@@x"], "subject": "x", "body": "y"},
                  "invalid_arguments")
    assert "bad@@x" in err["message"]
    refused(ep, "mail.send_email", {"to": [], "subject": "x", "body": "y"}, "invalid_arguments")
    refused(ep, "mail.send_email", {"to": [f"p{i}@ext.example" for i in range(51)], "subject": "x", "body": "y"},
            "rule_violation")
    refused(ep, "mail.move_email", {"email_id": 1, "folder": "Spam"}, "invalid_arguments")
    refused(ep, "mail.read_email", {"email_id": 10 ** 6}, "not_found")
    # someone else's mail is invisible, not merely forbidden
    theirs = ep.query("SELECT id FROM mail_messages WHERE owner_id = ? LIMIT 1", bob["id"])
    if not theirs:
        ok(ep, "mail.send_email", {"to": [bob["address"]], "subject": "seed", "body": "x"})
        theirs = ep.query("SELECT id FROM mail_messages WHERE owner_id = ? LIMIT 1", bob["id"])
    for tool in ("mail.read_email", "mail.delete_email", "mail.reply_email"):
        args = {"email_id": theirs[0]["id"]} | ({"body": "x"} if tool == "mail.reply_email" else {})
        refused(ep, tool, args, "not_found")


def test_mail_to_a_departed_employee_is_refused(world):
    with world.episode() as ep:
        gone = colleague(ep, 2)
        ep.db.execute("UPDATE users SET status = 'left' WHERE id = ?", (gone["id"],))  # HR off-boarding
        err = refused(ep, "mail.send_email", {"to": [gone["address"]], "subject": "x", "body": "y"}, "rule_violation")
        assert gone["address"] in err["message"]


def test_mail_send_event_from_other_apps(ep):
    bob = colleague(ep)
    n0 = ep.query("SELECT COUNT(*) AS n FROM mail_messages WHERE owner_id = ? AND folder = 'INBOX'", bob["id"])[0]["n"]
    ep.ctx.emit("mail.send", sender_id=None, to=[bob["address"]], subject="Your leave was approved", body="Enjoy.")
    ep.ctx.emit("mail.send", sender_id=1, to=bob["address"], subject="Offer letter", body="Welcome aboard")
    rows = ep.query("SELECT sender_address, subject FROM mail_messages WHERE owner_id = ? AND folder = 'INBOX' "
                    "ORDER BY id DESC LIMIT 2", bob["id"])
    assert rows == [{"sender_address": ME, "subject": "Offer letter"},
                    {"sender_address": "no-reply@acme-corp.example", "subject": "Your leave was approved"}]
    assert ep.query("SELECT COUNT(*) AS n FROM mail_messages WHERE owner_id = ? AND folder = 'INBOX'",
                    bob["id"])[0]["n"] == n0 + 2
    assert ep.query("SELECT COUNT(*) AS n FROM mail_messages WHERE owner_id = 1 AND subject = 'Offer letter' "
                    "AND folder = 'Sent'")[0]["n"] == 1
    with pytest.raises(ToolError) as exc:
        ep.ctx.emit("mail.send", sender_id=1, to=["nope"], subject="x", body="y")
    assert exc.value.code == "invalid_arguments"


def test_hiring_provisions_chat_and_mail_identities(ep):
    dept = ep.query("SELECT id FROM departments WHERE code = 'ENG'")[0]["id"]
    uid = hire(ep.ctx, first_name="Nova", last_name="Quist", department_id=dept, designation="Software Engineer")
    user = ep.query("SELECT username, email FROM users WHERE id = ?", uid)[0]
    assert ep.query("SELECT address FROM mail_accounts WHERE user_id = ?", uid) == [{"address": user["email"]}]
    assert ep.query("SELECT username FROM chat_accounts WHERE user_id = ?", uid) == [{"username": user["username"]}]
    # both identities work: mail reaches the new inbox, the new hire is in #general
    ok(ep, "mail.send_email", {"to": [user["email"]], "subject": "Welcome", "body": "Glad to have you."})
    ep.as_user(user["username"])
    inbox = ok(ep, "mail.list_emails", {"unread_only": True})
    assert [e["subject"] for e in inbox["emails"]] == ["Welcome"]
    assert "general" in {c["name"] for c in ok(ep, "rocketchat.get_channels")["channels"]}
    ok(ep, "rocketchat.send_channel_message", {"channel": "general", "message": "Hello, I'm Nova!"})
    inserted = ep.diff()
    assert len(inserted["mail_accounts"]["inserted"]) == 1 and len(inserted["chat_accounts"]["inserted"]) == 1

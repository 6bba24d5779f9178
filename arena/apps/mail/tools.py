"""Mail tools: the verbs of common mail MCP servers over IMAP/SMTP. Every tool works on the acting
user's own mailbox; another person's mail is simply not found."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from arena.apps.mail import app
from arena.apps.mail.delivery import clean_addresses, deliver
from arena.apps.mail.schema import FOLDERS
from arena.core.errors import ToolError, not_found

Folder = Literal["INBOX", "Sent", "Archive", "Trash"]
EmailId = Annotated[int, Field(description="Id of an e-mail in your mailbox (from list_emails / search_emails)")]
Addresses = Annotated[list[str], Field(description="Recipient e-mail addresses", min_length=1)]
PREVIEW = 120


def _me(ctx) -> dict:
    acc = ctx.one("SELECT * FROM mail_accounts WHERE user_id = ?", ctx.actor["id"])
    if acc is None:
        raise ToolError("not_found", f"{ctx.actor['username']} has no mailbox", entity="mailbox",
                        key=ctx.actor["username"])
    return acc


def _own(ctx, email_id: int) -> dict:
    row = ctx.one("SELECT * FROM mail_messages WHERE id = ? AND owner_id = ?", email_id, ctx.actor["id"])
    if row is None:
        raise not_found("email", email_id)
    return row


def _split(text: str) -> list[str]:
    return [a for a in (p.strip() for p in text.split(",")) if a]


def _summary(row: dict) -> dict:
    return {"email_id": row["id"], "folder": row["folder"], "from": row["sender_address"],
            "to": _split(row["recipients"]), "subject": row["subject"], "date": row["sent_at"],
            "is_read": bool(row["is_read"]), "preview": row["body"][:PREVIEW]}


def _full(ctx, row: dict) -> dict:
    parent = None
    if row["in_reply_to"]:
        parent = ctx.scalar("SELECT id FROM mail_messages WHERE message_key = ? AND owner_id = ? ORDER BY id LIMIT 1",
                            row["in_reply_to"], row["owner_id"])
    return {**_summary(row), "cc": _split(row["cc"]), "body": row["body"], "message_id": row["message_key"],
            "in_reply_to": parent, "thread_id": row["thread_key"]}


def _subject(prefix: str, subject: str) -> str:
    return subject if subject.lower().startswith(prefix.lower()) else f"{prefix} {subject}"


@app.tool(returns={"email_id": "integer", "message_id": "string", "delivered_to": "array", "external": "array"})
def send_email(ctx, to: Addresses,
               subject: Annotated[str, Field(description="Subject line", min_length=1, max_length=300)],
               body: Annotated[str, Field(description="Plain-text body")],
               cc: Annotated[list[str] | None, Field(description="Carbon-copy addresses")] = None,
               in_reply_to: Annotated[int | None, Field(description="Id of the e-mail in your mailbox this answers (threads the mail)")] = None) -> dict:
    """Send an e-mail. A copy goes to your Sent folder and to the INBOX of every company recipient;
    addresses outside the company are sent but not stored anywhere else."""
    _me(ctx)
    parent = _own(ctx, in_reply_to) if in_reply_to is not None else None
    return deliver(ctx, sender_id=ctx.actor["id"], to=clean_addresses(to, "to"), cc=clean_addresses(cc, "cc"),
                   subject=subject, body=body, parent=parent)


@app.tool(read_only=True)
def list_emails(ctx, folder: Annotated[Folder, Field(description="Folder to list")] = "INBOX",
                unread_only: Annotated[bool, Field(description="Only unread e-mails")] = False,
                limit: Annotated[int, Field(description="Maximum number of e-mails, newest first", ge=1, le=100)] = 20,
                offset: Annotated[int, Field(description="Skip this many (for paging)", ge=0)] = 0) -> dict:
    """List the e-mails of one folder of your mailbox, newest first, with a short preview."""
    _me(ctx)
    sql = "SELECT * FROM mail_messages WHERE owner_id = ? AND folder = ?"
    if unread_only:
        sql += " AND is_read = 0"
    rows = ctx.all(sql + " ORDER BY id DESC LIMIT ? OFFSET ?", ctx.actor["id"], folder, limit, offset)
    total = ctx.scalar("SELECT COUNT(*) FROM mail_messages WHERE owner_id = ? AND folder = ?"
                       + (" AND is_read = 0" if unread_only else ""), ctx.actor["id"], folder)
    return {"folder": folder, "total": total, "emails": [_summary(r) for r in rows]}


@app.tool(idempotent=True)
def read_email(ctx, email_id: EmailId) -> dict:
    """Open one e-mail: headers and full body. Opening marks it as read, as a mail client does."""
    row = _own(ctx, email_id)
    if not row["is_read"]:
        ctx.update("mail_messages", email_id, is_read=1)
        row["is_read"] = 1
    return _full(ctx, row)


@app.tool(read_only=True)
def search_emails(ctx, query: Annotated[str, Field(description="Text to find in subject, body, sender or recipients (case-insensitive)", min_length=1)],
                  folder: Annotated[Folder | None, Field(description="Search only this folder")] = None,
                  limit: Annotated[int, Field(description="Maximum number of results, newest first", ge=1, le=100)] = 20) -> dict:
    """Search your mailbox."""
    _me(ctx)
    pat = f"%{query}%"
    sql = ("SELECT * FROM mail_messages WHERE owner_id = ? AND (subject LIKE ? OR body LIKE ? OR sender_address LIKE ? "
           "OR recipients LIKE ? OR cc LIKE ?)")
    args: list = [ctx.actor["id"], pat, pat, pat, pat, pat]
    if folder:
        sql += " AND folder = ?"
        args.append(folder)
    rows = ctx.all(sql + " ORDER BY id DESC LIMIT ?", *args, limit)
    return {"query": query, "count": len(rows), "emails": [_summary(r) for r in rows]}


@app.tool(returns={"email_id": "integer", "message_id": "string", "delivered_to": "array", "external": "array"})
def reply_email(ctx, email_id: EmailId,
                body: Annotated[str, Field(description="Text of the reply")],
                reply_all: Annotated[bool, Field(description="Also reply to the other recipients and cc")] = False) -> dict:
    """Reply to an e-mail in your mailbox (subject gets "Re:", the reply joins the thread)."""
    me = _me(ctx)
    row = _own(ctx, email_id)
    # replying to your own sent mail goes to its recipients, as mail clients do
    to = _split(row["recipients"]) if row["sender_address"] == me["address"] else [row["sender_address"]]
    cc: list[str] = []
    if reply_all:
        others = _split(row["recipients"]) + _split(row["cc"])
        cc = [a for a in dict.fromkeys(others) if a not in to and a != me["address"]]
    quoted = "\n".join("> " + line for line in row["body"].splitlines())
    return deliver(ctx, sender_id=ctx.actor["id"], to=to, cc=cc, subject=_subject("Re:", row["subject"]),
                   body=f"{body}\n\nOn {row['sent_at']}, {row['sender_address']} wrote:\n{quoted}", parent=row)


@app.tool(returns={"email_id": "integer", "message_id": "string", "delivered_to": "array", "external": "array"})
def forward_email(ctx, email_id: EmailId, to: Addresses,
                  note: Annotated[str, Field(description="Text to put above the forwarded mail")] = "") -> dict:
    """Forward an e-mail to other people (subject gets "Fwd:")."""
    _me(ctx)
    row = _own(ctx, email_id)
    fwd = (f"{note}\n\n---------- Forwarded message ----------\nFrom: {row['sender_address']}\n"
           f"Date: {row['sent_at']}\nSubject: {row['subject']}\nTo: {row['recipients']}\n\n{row['body']}")
    return deliver(ctx, sender_id=ctx.actor["id"], to=clean_addresses(to, "to"), cc=[],
                   subject=_subject("Fwd:", row["subject"]), body=fwd.lstrip("\n"))


@app.tool(idempotent=True)
def move_email(ctx, email_id: EmailId, folder: Annotated[Folder, Field(description="Destination folder")]) -> dict:
    """Move an e-mail to another folder of your mailbox."""
    row = _own(ctx, email_id)
    ctx.update("mail_messages", email_id, folder=folder)
    return {"email_id": email_id, "from_folder": row["folder"], "folder": folder}


@app.tool(idempotent=True)
def mark_email_read(ctx, email_id: EmailId,
                    read: Annotated[bool, Field(description="true: mark read; false: mark unread")] = True) -> dict:
    """Set or clear an e-mail's read flag."""
    _own(ctx, email_id)
    ctx.update("mail_messages", email_id, is_read=int(read))
    return {"email_id": email_id, "is_read": read}


@app.tool(destructive=True)
def delete_email(ctx, email_id: EmailId) -> dict:
    """Delete an e-mail: it moves to Trash; deleting it from Trash removes it for good."""
    row = _own(ctx, email_id)
    if row["folder"] == "Trash":
        ctx.delete("mail_messages", email_id)
        return {"email_id": email_id, "deleted": True, "folder": None}
    ctx.update("mail_messages", email_id, folder="Trash")
    return {"email_id": email_id, "deleted": False, "folder": "Trash"}


@app.tool(destructive=True, idempotent=True)
def empty_trash(ctx) -> dict:
    """Permanently delete every e-mail in your Trash."""
    _me(ctx)
    n = ctx.db.execute("DELETE FROM mail_messages WHERE owner_id = ? AND folder = 'Trash'", (ctx.actor["id"],)).rowcount
    return {"deleted": n}


@app.tool(read_only=True)
def list_folders(ctx) -> dict:
    """Your folders with their total and unread counts."""
    _me(ctx)
    counts = {r["folder"]: r for r in ctx.all(
        "SELECT folder, COUNT(*) AS total, SUM(is_read = 0) AS unread FROM mail_messages WHERE owner_id = ? "
        "GROUP BY folder", ctx.actor["id"])}
    return {"folders": [{"name": f, "total": counts[f]["total"] if f in counts else 0,
                         "unread": counts[f]["unread"] if f in counts else 0} for f in FOLDERS]}


@app.tool(read_only=True)
def get_mailbox_info(ctx) -> dict:
    """Your address, display name and message counts."""
    me = _me(ctx)
    total, unread = ctx.one("SELECT COUNT(*) AS t, SUM(folder = 'INBOX' AND is_read = 0) AS u FROM mail_messages "
                            "WHERE owner_id = ?", ctx.actor["id"]).values()
    return {"address": me["address"], "display_name": me["display_name"], "total_emails": total,
            "unread_in_inbox": unread or 0, "folders": list(FOLDERS)}


@app.tool(read_only=True)
def get_thread(ctx, email_id: EmailId) -> dict:
    """All e-mails of the conversation an e-mail belongs to (in your mailbox), oldest first."""
    row = _own(ctx, email_id)
    rows = ctx.all("SELECT * FROM mail_messages WHERE thread_key = ? AND owner_id = ? ORDER BY id LIMIT 200",
                   row["thread_key"], ctx.actor["id"])
    return {"thread_id": row["thread_key"], "emails": [_summary(r) for r in rows]}

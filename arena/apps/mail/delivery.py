"""Delivery: address checks, storing the Sent and INBOX copies, and the two events mail reacts to
(`employee.hired` provisions a mailbox; `mail.send` is how other apps send mail)."""
from __future__ import annotations

import re
from typing import Iterable

from arena.apps.mail import app
from arena.core.errors import ToolError

ADDRESS = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
SYSTEM_ADDRESS = "no-reply@acme-corp.example"  # sender of mails that apps send on nobody's behalf
MAX_RECIPIENTS = 50


def clean_addresses(values: Iterable[str] | None, field: str) -> list[str]:
    """Lower-cased, de-duplicated addresses; a malformed one is an invalid_arguments error naming it."""
    out: list[str] = []
    for raw in values or ():
        for part in str(raw).split(","):  # agents often pass "a@x, b@x" as one string
            addr = part.strip().lower()
            if not addr:
                continue
            if not ADDRESS.match(addr):
                raise ToolError("invalid_arguments", f"{field}: {part.strip()!r} is not a valid e-mail address",
                                field=field, value=part.strip())
            if addr not in out:
                out.append(addr)
    return out


def deliver(ctx, *, sender_id: int | None, to: list[str], cc: list[str], subject: str, body: str,
            parent: dict | None = None) -> dict:
    """Store the sender's Sent copy and one INBOX copy per company recipient; external addresses
    stay sent-only. Returns the Sent copy's id (None for system mail) and who got it."""
    if not to:
        raise ToolError("invalid_arguments", "to: at least one recipient is needed", field="to")
    if len(to) + len(cc) > MAX_RECIPIENTS:
        raise ToolError("rule_violation", f"at most {MAX_RECIPIENTS} recipients per mail",
                        limit=MAX_RECIPIENTS)
    if sender_id is None:
        sender_address = SYSTEM_ADDRESS
    else:
        acc = ctx.one("SELECT address FROM mail_accounts WHERE user_id = ?", sender_id)
        if acc is None:
            raise ToolError("not_found", f"user {sender_id} has no mailbox", entity="mailbox", key=sender_id)
        sender_address = acc["address"]
    all_rcpts = to + [a for a in cc if a not in to]
    marks = ", ".join("?" for _ in all_rcpts)
    boxes = {r["address"]: r for r in ctx.all(
        f"SELECT a.address, a.user_id, u.status FROM mail_accounts a JOIN users u ON u.id = a.user_id "
        f"WHERE a.address IN ({marks})", *all_rcpts)}
    gone = [a for a, r in boxes.items() if r["status"] != "active"]
    if gone:
        raise ToolError("rule_violation", f"mailbox disabled (employee has left): {', '.join(gone)}",
                        addresses=gone)
    seq = (ctx.scalar("SELECT MAX(id) FROM mail_messages") or 0) + 1
    key = f"<{seq}.{sender_address.split('@')[0]}@acme-corp.example>"
    common = dict(message_key=key, thread_key=parent["thread_key"] if parent else key,
                  in_reply_to=parent["message_key"] if parent else None, sender_id=sender_id,
                  sender_address=sender_address, recipients=", ".join(to), cc=", ".join(cc),
                  subject=subject, body=body, sent_at=ctx.now)
    sent_id = None
    if sender_id is not None:
        sent_id = ctx.insert("mail_messages", owner_id=sender_id, folder="Sent", is_read=1, **common)
    delivered = []
    for addr in all_rcpts:
        box = boxes.get(addr)
        if box is not None:
            ctx.insert("mail_messages", owner_id=box["user_id"], folder="INBOX", is_read=0, **common)
            delivered.append(addr)
    return {"email_id": sent_id, "message_id": key, "delivered_to": delivered,
            "external": [a for a in all_rcpts if a not in boxes]}


@app.on("employee.hired")
def provision_mailbox(ctx, user_id: int) -> None:
    """Every new employee gets a mailbox at their company address."""
    user = ctx.get("users", user_id)
    ctx.insert("mail_accounts", user_id=user_id, address=user["email"].lower(), display_name=user["full_name"],
               created_at=ctx.now)


@app.on("mail.send")
def send_for_app(ctx, sender_id: int | None, to: list[str] | str, subject: str, body: str,
                 cc: list[str] | None = None) -> None:
    """Mail another app sends on behalf of `sender_id` (None: the system's no-reply address)."""
    rcpts = clean_addresses([to] if isinstance(to, str) else to, "to")
    deliver(ctx, sender_id=sender_id, to=rcpts, cc=clean_addresses(cc, "cc"), subject=subject, body=body)

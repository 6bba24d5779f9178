from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field

from arena.apps.zammad import app
from arena.core.errors import ToolError, not_found

# Allowed ticket state changes; `merged` is reached only through zammad_merge_tickets and is final.
TICKET_TRANSITIONS = {
    "new": {"open", "closed", "merged"},
    "open": {"pending reminder", "pending close", "closed", "merged"},
    "pending reminder": {"open", "closed", "merged"},
    "pending close": {"open", "closed", "merged"},
    "closed": {"open", "merged"},
    "merged": set(),
}
STATES = [("new", "new"), ("open", "open"), ("pending reminder", "pending reminder"),
          ("pending close", "pending action"), ("closed", "closed"), ("merged", "merged")]
PRIORITIES = ["1 low", "2 normal", "3 high"]
CREATE_STATES = {"new", "open"}  # a ticket starts new or open; the rest is reached by transitions

ResponseFormat = Annotated[Literal["markdown", "json"], Field(description="'json' for structured data only; "
                                                                          "'markdown' adds a readable summary")]
TicketId = Annotated[int, Field(description="Internal ticket id (the `id` field, not the ticket number)", ge=1)]
Page = Annotated[int, Field(description="Page number (1-based)", ge=1)]
PerPage = Annotated[int, Field(description="Results per page (max 100)", ge=1, le=100)]


# -- who may do what ---------------------------------------------------------------------

def _me(ctx) -> dict:
    me = ctx.one("SELECT * FROM zm_users WHERE user_id = ?", ctx.actor["id"])
    if me is None or not me["active"] or ctx.actor["status"] != "active":
        raise ToolError("permission_denied", f"{ctx.actor['username']} has no active Zammad account")
    return me


def _is_agent(me: dict) -> bool:
    return me["role"] in ("Agent", "Admin")


def _require_agent(ctx, action: str) -> dict:
    me = _me(ctx)
    if not _is_agent(me):
        raise ToolError("permission_denied", f"{me['login']} is a customer and may not {action}; agents only",
                        required_roles=["Agent", "Admin"])
    return me


def _in_group(ctx, zm_user_id: int, group_id: int) -> bool:
    """Agents work in the groups they are members of; admins in all."""
    return ctx.one("SELECT 1 FROM zm_group_members WHERE agent_id = ? AND group_id = ? UNION ALL "
                   "SELECT 1 FROM zm_users WHERE id = ? AND role = 'Admin'", zm_user_id, group_id,
                   zm_user_id) is not None


def _ticket(ctx, ticket_id: int) -> tuple[dict, dict]:
    """The ticket and the actor's Zammad user; customers see their own tickets, agents their groups'."""
    me = _me(ctx)
    t = ctx.one("SELECT * FROM zm_tickets WHERE id = ?", ticket_id)
    if t is None:
        raise not_found("ticket", ticket_id)
    if me["role"] == "Admin":
        return t, me
    if me["role"] == "Agent":
        if not _in_group(ctx, me["id"], t["group_id"]) and t["customer_id"] != me["id"]:
            raise ToolError("permission_denied", f"{me['login']} has no access to group of ticket #{t['number']}")
    elif t["customer_id"] != me["id"]:
        raise ToolError("permission_denied", f"ticket #{t['number']} belongs to another customer")
    return t, me


def _writable(t: dict) -> None:
    if t["state"] == "merged":
        raise ToolError("invalid_transition", f"ticket #{t['number']} was merged into another ticket and is final",
                        state="merged")


def _zm_user(ctx, ident) -> dict:
    """A Zammad user by id, login or email."""
    key = str(ident).strip()
    row = ctx.one("SELECT * FROM zm_users WHERE id = ?", int(key)) if key.isdigit() else None
    if row is None:
        row = ctx.one("SELECT * FROM zm_users WHERE login = ? OR email = ?", key, key.lower())
    if row is None:
        raise not_found("user", ident)
    return row


def _group(ctx, name: str) -> dict:
    key = name.strip()
    row = ctx.one("SELECT * FROM zm_groups WHERE name = ? OR CAST(id AS TEXT) = ?", key, key)
    if row is None:
        raise not_found("group", name)
    if not row["active"]:
        raise ToolError("rule_violation", f"group {row['name']!r} is inactive")
    return row


def _owner(ctx, ident: str, group: dict) -> dict:
    """The agent to assign; owners must be active agents of the ticket's group."""
    u = _zm_user(ctx, ident)
    person_active = u["user_id"] is not None and ctx.scalar("SELECT status FROM users WHERE id = ?",
                                                             u["user_id"]) == "active"
    if u["role"] not in ("Agent", "Admin") or not u["active"] or not person_active:
        raise ToolError("rule_violation", f"{u['login']} is not an active agent and cannot own tickets")
    if not _in_group(ctx, u["id"], group["id"]):
        raise ToolError("rule_violation", f"{u['login']} is not a member of group {group['name']!r} and cannot own "
                        "its tickets", group=group["name"])
    return u


def _assigned(ctx, t: dict, owner: dict) -> None:
    """Tell the new owner: an in-app notification, and a mail when someone else assigned them."""
    text = f"Ticket #{t['number']} \"{t['title']}\" was assigned to you by {ctx.actor['full_name']}"
    ctx.notify(owner["user_id"], "zammad", text, ref=f"zammad:ticket:{t['id']}")
    if owner["user_id"] != ctx.actor["id"]:
        ctx.emit("mail.send", sender_id=ctx.actor["id"], to=[owner["email"]],
                 subject=f"[Ticket#{t['number']}] assigned to you: {t['title']}",
                 body=f"{text}.\n\nPriority: {t['priority']}\nState: {t['state']}\n")


def _state(name: str | None) -> str | None:
    if name is None:
        return None
    key = name.strip().lower()
    if key not in TICKET_TRANSITIONS:
        raise ToolError("invalid_arguments", f"state {name!r} is unknown; use one of {', '.join(TICKET_TRANSITIONS)}",
                        field="state")
    return key


def _priority(name: str | None) -> str | None:
    if name is None:
        return None
    key = name.strip().lower()
    for p in PRIORITIES:
        if key in (p, p[2:], p[0]):
            return p
    raise ToolError("invalid_arguments", f"priority {name!r} is unknown; use one of {', '.join(PRIORITIES)}",
                    field="priority")


def _pending_default(ctx) -> str:
    return (datetime.fromisoformat(ctx.now) + timedelta(days=1)).isoformat()


# -- output --------------------------------------------------------------------------------

def _ticket_out(ctx, t: dict) -> dict:
    names = ctx.one(
        "SELECT g.name AS grp, c.login AS customer, c.email AS customer_email, o.name AS org, u.username AS owner "
        "FROM zm_tickets t JOIN zm_groups g ON g.id = t.group_id JOIN zm_users c ON c.id = t.customer_id "
        "LEFT JOIN zm_organizations o ON o.id = t.organization_id LEFT JOIN users u ON u.id = t.owner_id "
        "WHERE t.id = ?", t["id"])
    tags = [r["tag"] for r in ctx.all("SELECT tag FROM zm_tags WHERE ticket_id = ? ORDER BY tag", t["id"])]
    return {"id": t["id"], "number": t["number"], "title": t["title"], "group": names["grp"], "state": t["state"],
            "priority": t["priority"], "customer": names["customer"], "customer_email": names["customer_email"],
            "organization": names["org"], "owner": names["owner"], "tags": tags, "pending_time": t["pending_time"],
            "merged_into_id": t["merged_into_id"], "created_at": t["created_at"], "updated_at": t["updated_at"],
            "close_at": t["close_at"]}


def _article_out(ctx, a: dict) -> dict:
    n = ctx.scalar("SELECT COUNT(*) FROM zm_attachments WHERE article_id = ?", a["id"])
    author = ctx.scalar("SELECT login FROM zm_users WHERE id = ?", a["created_by_id"])
    return {"id": a["id"], "ticket_id": a["ticket_id"], "type": a["type"], "sender": a["sender"],
            "internal": bool(a["internal"]), "subject": a["subject"], "body": a["body"], "from": a["from_addr"],
            "to": a["to_addr"], "created_by": author, "created_at": a["created_at"], "attachment_count": n}


def _user_out(ctx, u: dict) -> dict:
    org = ctx.scalar("SELECT name FROM zm_organizations WHERE id = ?", u["organization_id"]) \
        if u["organization_id"] else None
    if u["role"] == "Admin":
        groups = [r["name"] for r in ctx.all("SELECT name FROM zm_groups ORDER BY name")]
    else:
        groups = [r["name"] for r in ctx.all("SELECT g.name FROM zm_group_members m JOIN zm_groups g "
                                             "ON g.id = m.group_id WHERE m.agent_id = ? ORDER BY g.name", u["id"])]
    return {"id": u["id"], "login": u["login"], "firstname": u["firstname"], "lastname": u["lastname"],
            "email": u["email"], "phone": u["phone"], "organization": org, "organization_id": u["organization_id"],
            "role": u["role"], "groups": groups, "active": bool(u["active"])}


def _respond(out: dict, fmt: str, title: str, items: list[dict], cols: list[str]) -> dict:
    """Structured results always; 'markdown' adds the readable table the reference server prints."""
    if fmt == "markdown":
        lines = [f"# {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(i.get(c, "")) for c in cols) + " |" for i in items]
        out["markdown"] = "\n".join(lines)
    return out


# -- tickets --------------------------------------------------------------------------------

@app.tool(read_only=True)
def zammad_search_tickets(ctx, query: Annotated[str, Field(description="Text to find in ticket number, title or articles; empty lists all")] = "",
                          state: Annotated[str | None, Field(description="Only tickets in this state (new, open, pending reminder, pending close, closed, merged)")] = None,
                          priority: Annotated[str | None, Field(description="Only this priority (1 low, 2 normal, 3 high)")] = None,
                          group: Annotated[str | None, Field(description="Only this group (name)")] = None,
                          owner: Annotated[str | None, Field(description="Only tickets owned by this agent (login or email)")] = None,
                          customer: Annotated[str | None, Field(description="Only this customer's tickets (login or email)")] = None,
                          page: Page = 1, per_page: PerPage = 25,
                          response_format: ResponseFormat = "markdown") -> dict:
    """Search the tickets you can see (agents: their groups; customers: their own), newest update first."""
    me = _me(ctx)
    sql, args = "SELECT t.* FROM zm_tickets t WHERE 1 = 1", []
    if me["role"] == "Agent":
        sql += (" AND (t.group_id IN (SELECT group_id FROM zm_group_members WHERE agent_id = ?) "
                "OR t.customer_id = ?)")
        args += [me["id"], me["id"]]
    elif me["role"] == "Customer":
        sql += " AND t.customer_id = ?"
        args.append(me["id"])
    q = query.strip()
    if q and q != "*":
        sql += (" AND (t.number = ? OR t.title LIKE ? OR EXISTS (SELECT 1 FROM zm_articles a WHERE a.ticket_id = t.id "
                "AND a.body LIKE ?" + (" AND a.internal = 0" if me["role"] == "Customer" else "") + "))")
        args += [q.lstrip("#"), f"%{q}%", f"%{q}%"]
    if state:
        sql += " AND t.state = ?"
        args.append(_state(state))
    if priority:
        sql += " AND t.priority = ?"
        args.append(_priority(priority))
    if group:
        sql += " AND t.group_id = ?"
        args.append(_group(ctx, group)["id"])
    if owner:
        sql += " AND t.owner_id = ?"
        args.append(_zm_user(ctx, owner)["user_id"])
    if customer:
        sql += " AND t.customer_id = ?"
        args.append(_zm_user(ctx, customer)["id"])
    rows = ctx.all(sql + " ORDER BY t.updated_at DESC, t.id DESC LIMIT ? OFFSET ?", *args, per_page,
                   (page - 1) * per_page)
    items = [_ticket_out(ctx, r) for r in rows]
    return _respond({"count": len(items), "page": page, "per_page": per_page, "tickets": items}, response_format,
                    "Tickets", items, ["id", "number", "title", "state", "priority", "group", "owner", "customer"])


@app.tool(read_only=True)
def zammad_get_ticket(ctx, ticket_id: TicketId,
                      include_articles: Annotated[bool, Field(description="Include the ticket's articles (messages)")] = True,
                      article_limit: Annotated[int, Field(description="Max articles to include", ge=1, le=100)] = 10,
                      article_offset: Annotated[int, Field(description="Articles to skip (oldest first)", ge=0)] = 0) -> dict:
    """One ticket with its tags and (optionally) its articles, oldest first."""
    t, me = _ticket(ctx, ticket_id)
    out = _ticket_out(ctx, t)
    hide = " AND internal = 0" if me["role"] == "Customer" else ""
    out["article_count"] = ctx.scalar(f"SELECT COUNT(*) FROM zm_articles WHERE ticket_id = ?{hide}", t["id"])
    if include_articles:
        rows = ctx.all(f"SELECT * FROM zm_articles WHERE ticket_id = ?{hide} ORDER BY id LIMIT ? OFFSET ?",
                       t["id"], article_limit, article_offset)
        out["articles"] = [_article_out(ctx, a) for a in rows]
    return out


@app.tool(returns={"id": "integer", "number": "string", "state": "string"})
def zammad_create_ticket(ctx, title: Annotated[str, Field(description="Ticket title", min_length=1, max_length=250)],
                         group: Annotated[str, Field(description="Group name: Users, Support L1, Support L2 or IT")],
                         customer: Annotated[str, Field(description="Customer's login or email (customers: yourself)")],
                         article_body: Annotated[str, Field(description="Text of the first article (the request)", min_length=1)],
                         state: Annotated[str | None, Field(description="Initial state: new (default) or open")] = None,
                         priority: Annotated[str | None, Field(description="1 low, 2 normal (default) or 3 high")] = None,
                         owner: Annotated[str | None, Field(description="Agent to assign (login or email; agents only); gets notified")] = None) -> dict:
    """Open a ticket for a customer in a group, with its first article; an owner is notified."""
    me = _me(ctx)
    grp = _group(ctx, group)
    cust = _zm_user(ctx, customer)
    agent = _is_agent(me)
    if not agent and (cust["id"] != me["id"] or owner):
        raise ToolError("permission_denied", "customers may only open tickets for themselves, without an owner")
    if not cust["active"]:
        raise ToolError("rule_violation", f"customer {cust['login']} is inactive")
    st = _state(state) or "new"
    if st not in CREATE_STATES:
        raise ToolError("invalid_transition", f"a ticket is created as new or open, not {st!r}", state=st)
    own = _owner(ctx, owner, grp) if owner else None
    nid = (ctx.scalar("SELECT MAX(id) FROM zm_tickets") or 0) + 1
    tid = ctx.insert("zm_tickets", id=nid, number=str(31000 + nid), title=title, group_id=grp["id"], state=st,
                     priority=_priority(priority) or "2 normal", customer_id=cust["id"],
                     organization_id=cust["organization_id"], owner_id=own["user_id"] if own else None,
                     created_by_id=me["id"], created_at=ctx.now, updated_at=ctx.now)
    ctx.insert("zm_articles", ticket_id=tid, type="note" if agent else "web", sender="Agent" if agent else "Customer",
               internal=0, subject=title, body=article_body, from_addr=me["email"], to_addr=None,
               created_by_id=me["id"], created_at=ctx.now)
    t = ctx.get("zm_tickets", tid)
    if own:
        _assigned(ctx, t, own)
    return {"id": tid, "number": t["number"], "state": st, "group": grp["name"], "customer": cust["login"],
            "owner": own["login"] if own else None}


@app.tool(idempotent=True)
def zammad_update_ticket(ctx, ticket_id: TicketId,
                         title: Annotated[str | None, Field(description="New title", min_length=1, max_length=250)] = None,
                         state: Annotated[str | None, Field(description="New state; allowed: new->open|closed, open->pending reminder|pending close|closed, pending->open|closed, closed->open")] = None,
                         priority: Annotated[str | None, Field(description="1 low, 2 normal or 3 high")] = None,
                         owner: Annotated[str | None, Field(description="Agent to assign (login or email; '-' unassigns); gets notified")] = None,
                         group: Annotated[str | None, Field(description="Move the ticket to this group")] = None,
                         pending_time: Annotated[str | None, Field(description="When a pending state ends (ISO date-time); default one day from now")] = None) -> dict:
    """Change a ticket (agents only): title, state, priority, owner, group. The new owner is notified."""
    t, me = _ticket(ctx, ticket_id)
    _require_agent(ctx, "update tickets")
    _writable(t)
    changes: dict = {}
    if title is not None:
        changes["title"] = title
    if priority is not None:
        changes["priority"] = _priority(priority)
    grp = ctx.get("zm_groups", t["group_id"])
    if group is not None:
        grp = _group(ctx, group)
        changes["group_id"] = grp["id"]
    st = _state(state)
    if st is not None and st != t["state"]:
        if st == "merged":
            raise ToolError("invalid_transition", "use zammad_merge_tickets to merge a ticket", state=t["state"])
        if st not in TICKET_TRANSITIONS[t["state"]]:
            raise ToolError("invalid_transition", f"ticket #{t['number']} cannot go from {t['state']!r} to {st!r}; "
                            f"allowed: {', '.join(sorted(TICKET_TRANSITIONS[t['state']] - {'merged'})) or 'none'}",
                            state=t["state"], requested=st)
        changes["state"] = st
        changes["close_at"] = ctx.now if st == "closed" else None
    final = changes.get("state", t["state"])
    if final.startswith("pending"):
        if pending_time is not None:
            try:
                datetime.fromisoformat(pending_time)
            except ValueError:
                raise ToolError("invalid_arguments", f"pending_time {pending_time!r} is not an ISO date-time",
                                field="pending_time") from None
            changes["pending_time"] = pending_time
        elif t["pending_time"] is None or "state" in changes:
            changes["pending_time"] = _pending_default(ctx)
    elif "state" in changes:
        changes["pending_time"] = None
    new_owner = None
    if owner is not None:
        if owner.strip() in ("-", ""):
            changes["owner_id"] = None
        else:
            new_owner = _owner(ctx, owner, grp)
            changes["owner_id"] = new_owner["user_id"]
    elif group is not None and t["owner_id"] is not None:
        cur = ctx.one("SELECT id FROM zm_users WHERE user_id = ?", t["owner_id"])
        if cur is None or not _in_group(ctx, cur["id"], grp["id"]):
            changes["owner_id"] = None  # the owner has no access to the new group: unassigned, as Zammad does
    if changes:
        changes["updated_at"] = ctx.now
    ctx.update("zm_tickets", t["id"], **changes)
    t2 = ctx.get("zm_tickets", t["id"])
    if new_owner is not None and new_owner["user_id"] != t["owner_id"]:
        _assigned(ctx, t2, new_owner)
    return _ticket_out(ctx, t2)


@app.tool(returns={"id": "integer", "ticket_id": "integer"})
def zammad_add_article(ctx, ticket_id: TicketId, body: Annotated[str, Field(description="Article text", min_length=1)],
                       article_type: Annotated[Literal["note", "email", "phone"], Field(description="note, email or phone")] = "note",
                       internal: Annotated[bool, Field(description="Internal notes are visible to agents only")] = False,
                       subject: Annotated[str | None, Field(description="Subject line")] = None) -> dict:
    """Add an article (note, email or phone log) to a ticket. An agent's email is mailed to the customer;
    a customer's reply reopens a closed ticket."""
    t, me = _ticket(ctx, ticket_id)
    _writable(t)
    agent = _is_agent(me) and t["customer_id"] != me["id"]
    if internal and not agent:
        raise ToolError("permission_denied", "only agents may write internal articles")
    to_addr = ctx.scalar("SELECT email FROM zm_users WHERE id = ?", t["customer_id"]) \
        if agent and article_type == "email" else None
    aid = ctx.insert("zm_articles", ticket_id=t["id"], type=article_type if agent else "web",
                     sender="Agent" if agent else "Customer", internal=int(internal), subject=subject or t["title"],
                     body=body, from_addr=me["email"], to_addr=to_addr, created_by_id=me["id"], created_at=ctx.now)
    if to_addr and not internal:  # an agent's email article goes out to the customer, as Zammad sends it
        ctx.emit("mail.send", sender_id=ctx.actor["id"], to=[to_addr], subject=f"[Ticket#{t['number']}] "
                 f"{subject or t['title']}", body=body)
    changes = {"updated_at": ctx.now}
    if not agent and t["state"] == "closed":
        changes.update(state="open", close_at=None)  # a customer follow-up reopens the ticket
    ctx.update("zm_tickets", t["id"], **changes)
    return {"id": aid, "ticket_id": t["id"], "ticket_state": changes.get("state", t["state"])}


@app.tool(read_only=True)
def zammad_get_article_attachments(ctx, ticket_id: TicketId,
                                   article_id: Annotated[int, Field(description="Article id (from zammad_get_ticket)", ge=1)]) -> dict:
    """The attachments (file name, size, type) of one article of a ticket."""
    t, me = _ticket(ctx, ticket_id)
    a = ctx.one("SELECT * FROM zm_articles WHERE id = ? AND ticket_id = ?", article_id, t["id"])
    if a is None or (a["internal"] and me["role"] == "Customer"):
        raise not_found("article", article_id)
    rows = ctx.all("SELECT id, filename, size, content_type FROM zm_attachments WHERE article_id = ? ORDER BY id",
                   article_id)
    return {"ticket_id": t["id"], "article_id": article_id, "attachments": rows}


@app.tool(idempotent=True)
def zammad_add_ticket_tag(ctx, ticket_id: TicketId,
                          tag: Annotated[str, Field(description="Tag to add (stored lower case)", min_length=1, max_length=100)]) -> dict:
    """Tag a ticket (agents only; adding an existing tag changes nothing)."""
    t, _ = _ticket(ctx, ticket_id)
    _require_agent(ctx, "tag tickets")
    _writable(t)
    key = tag.strip().lower()
    if not key or "," in key:
        raise ToolError("invalid_arguments", f"tag {tag!r} is empty or contains a comma", field="tag")
    cur = ctx.db.execute("INSERT OR IGNORE INTO zm_tags (ticket_id, tag) VALUES (?, ?)", (t["id"], key))
    return {"ticket_id": t["id"], "tag": key, "added": cur.rowcount == 1}


@app.tool(destructive=True, idempotent=False)
def zammad_remove_ticket_tag(ctx, ticket_id: TicketId, tag: Annotated[str, Field(description="Tag to remove")]) -> dict:
    """Remove a tag from a ticket (agents only)."""
    t, _ = _ticket(ctx, ticket_id)
    _require_agent(ctx, "untag tickets")
    _writable(t)
    key = tag.strip().lower()
    cur = ctx.db.execute("DELETE FROM zm_tags WHERE ticket_id = ? AND tag = ?", (t["id"], key))
    if cur.rowcount == 0:
        raise not_found("tag", key)
    return {"ticket_id": t["id"], "tag": key, "removed": True}


@app.tool(idempotent=False)
def zammad_merge_tickets(ctx, ticket_id: Annotated[int, Field(description="Ticket id to merge away (becomes 'merged')", ge=1)],
                         target_ticket_id: Annotated[int, Field(description="Ticket id that receives the articles", ge=1)]) -> dict:
    """Merge a duplicate ticket into another: its articles move to the target and it becomes 'merged' (final)."""
    src, _ = _ticket(ctx, ticket_id)
    dst, _ = _ticket(ctx, target_ticket_id)
    _require_agent(ctx, "merge tickets")
    if src["id"] == dst["id"]:
        raise ToolError("rule_violation", "a ticket cannot be merged into itself")
    _writable(src)
    if dst["state"] == "merged":
        raise ToolError("invalid_transition", f"target ticket #{dst['number']} is itself merged")
    ctx.db.execute("UPDATE zm_articles SET ticket_id = ? WHERE ticket_id = ?", (dst["id"], src["id"]))
    ctx.update("zm_tickets", src["id"], state="merged", merged_into_id=dst["id"], pending_time=None,
               updated_at=ctx.now, close_at=ctx.now)
    ctx.update("zm_tickets", dst["id"], updated_at=ctx.now)
    me = _me(ctx)
    ctx.insert("zm_articles", ticket_id=src["id"], type="note", sender="System", internal=0,
               subject="merged", body=f"Merged into ticket #{dst['number']}.", created_by_id=me["id"],
               created_at=ctx.now)
    return {"ticket_id": src["id"], "state": "merged", "merged_into_id": dst["id"], "target_number": dst["number"]}


@app.tool(read_only=True)
def zammad_get_ticket_stats(ctx, group: Annotated[str | None, Field(description="Only this group")] = None,
                            start_date: Annotated[str | None, Field(description="Only tickets created on/after this date (YYYY-MM-DD)")] = None,
                            end_date: Annotated[str | None, Field(description="Only tickets created on/before this date (YYYY-MM-DD)")] = None) -> dict:
    """Ticket counts by state and priority (agents only), e.g. for a support report."""
    me = _require_agent(ctx, "see ticket statistics")
    where, args = "WHERE 1 = 1", []
    if me["role"] == "Agent":
        where += " AND group_id IN (SELECT group_id FROM zm_group_members WHERE agent_id = ?)"
        args.append(me["id"])
    if group:
        where += " AND group_id = ?"
        args.append(_group(ctx, group)["id"])
    for op, val, field in ((">=", start_date, "start_date"), ("<=", end_date, "end_date")):
        if val:
            try:
                datetime.fromisoformat(val)
            except ValueError:
                raise ToolError("invalid_arguments", f"{field} {val!r} is not a date (YYYY-MM-DD)", field=field) from None
            where += f" AND substr(created_at, 1, 10) {op} ?"
            args.append(val[:10])
    by_state = {r["state"]: r["n"] for r in ctx.all(f"SELECT state, COUNT(*) AS n FROM zm_tickets {where} "
                                                    "GROUP BY state", *args)}
    by_prio = {r["priority"]: r["n"] for r in ctx.all(f"SELECT priority, COUNT(*) AS n FROM zm_tickets {where} "
                                                      "GROUP BY priority", *args)}
    unassigned = ctx.scalar(f"SELECT COUNT(*) FROM zm_tickets {where} AND owner_id IS NULL "
                            "AND state IN ('new', 'open')", *args)
    return {"total_count": sum(by_state.values()), "open_count": by_state.get("new", 0) + by_state.get("open", 0),
            "pending_count": by_state.get("pending reminder", 0) + by_state.get("pending close", 0),
            "closed_count": by_state.get("closed", 0), "merged_count": by_state.get("merged", 0),
            "unassigned_open_count": unassigned, "by_state": by_state, "by_priority": by_prio}


# -- users, organizations, groups -------------------------------------------------------------

@app.tool(read_only=True)
def zammad_get_user(ctx, user_id: Annotated[int, Field(description="Zammad user id", ge=1)]) -> dict:
    """A Zammad user (customers may only look themselves up)."""
    me = _me(ctx)
    u = ctx.one("SELECT * FROM zm_users WHERE id = ?", user_id)
    if u is None:
        raise not_found("user", user_id)
    if not _is_agent(me) and u["id"] != me["id"]:
        raise ToolError("permission_denied", "customers may only see their own user record")
    return _user_out(ctx, u)


@app.tool(read_only=True)
def zammad_search_users(ctx, query: Annotated[str, Field(description="Text in login, name, email or organization", min_length=1)],
                        page: Page = 1, per_page: PerPage = 25, response_format: ResponseFormat = "markdown") -> dict:
    """Search users (agents only)."""
    _require_agent(ctx, "search users")
    like = f"%{query.strip()}%"
    rows = ctx.all("SELECT u.* FROM zm_users u LEFT JOIN zm_organizations o ON o.id = u.organization_id "
                   "WHERE u.login LIKE ? OR u.email LIKE ? OR (u.firstname || ' ' || u.lastname) LIKE ? OR o.name LIKE ? "
                   "ORDER BY u.id LIMIT ? OFFSET ?", like, like, like, like, per_page, (page - 1) * per_page)
    items = [_user_out(ctx, u) for u in rows]
    return _respond({"count": len(items), "page": page, "users": items}, response_format, "Users", items,
                    ["id", "login", "firstname", "lastname", "email", "role", "organization"])


@app.tool(read_only=True)
def zammad_get_current_user(ctx) -> dict:
    """Your own Zammad user: role, groups, organization."""
    return _user_out(ctx, _me(ctx))


@app.tool(returns={"id": "integer", "login": "string"})
def zammad_create_user(ctx, firstname: Annotated[str, Field(description="First name", min_length=1)],
                       lastname: Annotated[str, Field(description="Last name", min_length=1)],
                       email: Annotated[str, Field(description="Email address (unique)", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")],
                       organization: Annotated[str | None, Field(description="Organization name or id")] = None,
                       phone: Annotated[str | None, Field(description="Phone number")] = None,
                       login: Annotated[str | None, Field(description="Login; default the email address")] = None) -> dict:
    """Create a customer (agents only). Logins and emails are unique."""
    _require_agent(ctx, "create users")
    email = email.lower()
    login = (login or email).strip()
    if ctx.one("SELECT 1 FROM zm_users WHERE email = ? OR login = ?", email, login):
        raise ToolError("conflict", f"a user with email {email!r} or login {login!r} already exists")
    org_id = _org(ctx, organization)["id"] if organization else None
    uid = ctx.insert("zm_users", user_id=None, login=login, firstname=firstname, lastname=lastname, email=email,
                     phone=phone, organization_id=org_id, role="Customer", active=1, created_at=ctx.now)
    return {"id": uid, "login": login, "organization_id": org_id}


def _org(ctx, ident) -> dict:
    key = str(ident).strip()
    row = ctx.one("SELECT * FROM zm_organizations WHERE CAST(id AS TEXT) = ? OR name = ?", key, key)
    if row is None:
        raise not_found("organization", ident)
    return row


@app.tool(read_only=True)
def zammad_get_organization(ctx, org_id: Annotated[int, Field(description="Organization id", ge=1)]) -> dict:
    """An organization with its members and open ticket count."""
    me = _me(ctx)
    o = ctx.one("SELECT * FROM zm_organizations WHERE id = ?", org_id)
    if o is None:
        raise not_found("organization", org_id)
    if not _is_agent(me) and me["organization_id"] != o["id"]:
        raise ToolError("permission_denied", "customers may only see their own organization")
    members = ctx.all("SELECT id, login, firstname, lastname, email FROM zm_users WHERE organization_id = ? "
                      "ORDER BY id LIMIT 100", o["id"])
    open_n = ctx.scalar("SELECT COUNT(*) FROM zm_tickets WHERE organization_id = ? AND state NOT IN ('closed', 'merged')",
                        o["id"])
    return {"id": o["id"], "name": o["name"], "domain": o["domain"], "shared": bool(o["shared"]), "note": o["note"],
            "active": bool(o["active"]), "members": members, "open_ticket_count": open_n}


@app.tool(read_only=True)
def zammad_search_organizations(ctx, query: Annotated[str, Field(description="Text in name or domain", min_length=1)],
                                page: Page = 1, per_page: PerPage = 25, response_format: ResponseFormat = "markdown") -> dict:
    """Search organizations (agents only)."""
    _require_agent(ctx, "search organizations")
    like = f"%{query.strip()}%"
    rows = ctx.all("SELECT id, name, domain, active FROM zm_organizations WHERE name LIKE ? OR domain LIKE ? "
                   "ORDER BY name LIMIT ? OFFSET ?", like, like, per_page, (page - 1) * per_page)
    items = [{**r, "active": bool(r["active"])} for r in rows]
    return _respond({"count": len(items), "page": page, "organizations": items}, response_format, "Organizations",
                    items, ["id", "name", "domain"])


@app.tool(returns={"id": "integer", "name": "string"})
def zammad_create_organization(ctx, name: Annotated[str, Field(description="Organization name (unique)", min_length=1, max_length=150)],
                               domain: Annotated[str | None, Field(description="Email domain of its people, e.g. 'globex.example'")] = None,
                               note: Annotated[str | None, Field(description="Internal note")] = None) -> dict:
    """Create a customer organization (agents only)."""
    _require_agent(ctx, "create organizations")
    if ctx.one("SELECT 1 FROM zm_organizations WHERE name = ?", name.strip()):
        raise ToolError("conflict", f"organization {name!r} already exists")
    oid = ctx.insert("zm_organizations", name=name.strip(), domain=domain, note=note or "", shared=1, active=1,
                     created_at=ctx.now)
    return {"id": oid, "name": name.strip()}


@app.tool(read_only=True)
def zammad_list_groups(ctx, response_format: ResponseFormat = "markdown") -> dict:
    """Ticket groups (queues) with their agents."""
    _me(ctx)
    rows = ctx.all("SELECT g.id, g.name, g.note, g.active, (SELECT COUNT(*) FROM zm_group_members m "
                   "WHERE m.group_id = g.id) AS agent_count FROM zm_groups g ORDER BY g.id")
    items = [{**r, "active": bool(r["active"])} for r in rows]
    return _respond({"groups": items}, response_format, "Groups", items, ["id", "name", "agent_count", "note"])


@app.tool(read_only=True)
def zammad_list_ticket_states(ctx, response_format: ResponseFormat = "markdown") -> dict:
    """The ticket states and which states each may change to."""
    items = [{"id": i + 1, "name": n, "state_type": st,
              "next_states": sorted(TICKET_TRANSITIONS[n])} for i, (n, st) in enumerate(STATES)]
    return _respond({"states": items}, response_format, "Ticket states", items, ["id", "name", "next_states"])


@app.tool(read_only=True)
def zammad_list_ticket_priorities(ctx, response_format: ResponseFormat = "markdown") -> dict:
    """The ticket priorities."""
    items = [{"id": i + 1, "name": p} for i, p in enumerate(PRIORITIES)]
    return _respond({"priorities": items}, response_format, "Ticket priorities", items, ["id", "name"])

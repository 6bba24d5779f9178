from typing import Annotated

from pydantic import Field

from arena.apps.rocketchat import app
from arena.core.errors import ToolError, not_found

Channel = Annotated[str, Field(description="Channel name (with or without a leading #) or channel id")]


def _channel(ctx, channel: str) -> dict:
    key = channel.lstrip("#")
    row = ctx.one("SELECT * FROM chat_channels WHERE name = ? OR CAST(id AS TEXT) = ?", key, key)
    if row is None:
        raise not_found("channel", channel)
    if row["private"] and not ctx.one("SELECT 1 FROM chat_members WHERE channel_id = ? AND user_id = ?",
                                      row["id"], ctx.actor["id"]):
        raise ToolError("permission_denied", f"#{row['name']} is private and you are not a member")
    return row


def _message(ctx, row: dict) -> dict:
    sender = ctx.one("SELECT username FROM users WHERE id = ?", row["sender_id"])
    return {"id": row["id"], "sender": sender["username"] if sender else None, "text": row["text"],
            "created_at": row["created_at"]}


@app.tool(returns={"message_id": "integer", "channel": "string"})
def send_channel_message(ctx, channel: Channel,
                         message: Annotated[str, Field(description="Message text (markdown allowed)", min_length=1)]) -> dict:
    """Post a message to a channel you are a member of."""
    ch = _channel(ctx, channel)
    if not ctx.one("SELECT 1 FROM chat_members WHERE channel_id = ? AND user_id = ?", ch["id"], ctx.actor["id"]):
        raise ToolError("permission_denied", f"join #{ch['name']} before posting to it")
    mid = ctx.insert("chat_messages", channel_id=ch["id"], sender_id=ctx.actor["id"], text=message,
                     created_at=ctx.now)
    return {"message_id": mid, "channel": ch["name"]}


@app.tool(returns={"message_id": "integer", "to": "string"})
def send_direct_message(ctx, username: Annotated[str, Field(description="Recipient's username")],
                        message: Annotated[str, Field(description="Message text", min_length=1)]) -> dict:
    """Send a direct message to another user."""
    acc = ctx.one("SELECT * FROM chat_accounts WHERE username = ?", username.lstrip("@"))
    if acc is None:
        raise not_found("chat user", username)
    a, b = sorted((ctx.actor["id"], acc["user_id"]))
    mid = ctx.insert("chat_messages", channel_id=None, dm_key=f"{a}:{b}", sender_id=ctx.actor["id"], text=message,
                     created_at=ctx.now)
    return {"message_id": mid, "to": acc["username"]}


@app.tool(read_only=True)
def get_channels(ctx) -> dict:
    """List the channels you can see (public ones and private ones you belong to)."""
    rows = ctx.all(
        "SELECT c.id, c.name, c.description, c.private, "
        "(SELECT COUNT(*) FROM chat_members m WHERE m.channel_id = c.id) AS members FROM chat_channels c "
        "WHERE c.private = 0 OR EXISTS (SELECT 1 FROM chat_members m WHERE m.channel_id = c.id AND m.user_id = ?) "
        "ORDER BY c.name", ctx.actor["id"])
    return {"channels": [{**r, "private": bool(r["private"])} for r in rows]}


@app.tool(read_only=True)
def get_channel_messages(ctx, channel: Channel,
                         count: Annotated[int, Field(description="How many of the newest messages", ge=1, le=200)] = 20) -> dict:
    """Read the newest messages of a channel, oldest first."""
    ch = _channel(ctx, channel)
    rows = ctx.all("SELECT * FROM chat_messages WHERE channel_id = ? ORDER BY id DESC LIMIT ?", ch["id"], count)
    return {"channel": ch["name"], "messages": [_message(ctx, r) for r in reversed(rows)]}


@app.tool(returns={"channel_id": "integer", "name": "string"})
def create_channel(ctx, name: Annotated[str, Field(description="Channel name: lower case, digits, dashes", pattern=r"^#?[a-z0-9][a-z0-9_-]{1,48}$")],
                   description: Annotated[str, Field(description="What the channel is for")] = "",
                   private: Annotated[bool, Field(description="Private channels are visible to members only")] = False) -> dict:
    """Create a channel; you become its first member."""
    name = name.lstrip("#")
    if ctx.one("SELECT 1 FROM chat_channels WHERE name = ?", name):
        raise ToolError("conflict", f"channel #{name} already exists")
    cid = ctx.insert("chat_channels", name=name, description=description, private=int(private),
                     created_by=ctx.actor["id"], created_at=ctx.now)
    ctx.insert("chat_members", channel_id=cid, user_id=ctx.actor["id"])
    return {"channel_id": cid, "name": name}


@app.tool(read_only=True)
def get_user_info(ctx) -> dict:
    """Your own chat profile."""
    acc = ctx.get("chat_accounts", ctx.actor["id"], "chat account", key="user_id")
    return {"username": acc["username"], "name": ctx.actor["full_name"], "email": ctx.actor["email"],
            "status": acc["status"]}


@app.tool(read_only=True)
def get_server_info(ctx) -> dict:
    """Server version and counts."""
    return {"version": "6.9.0-arena", "users": ctx.scalar("SELECT COUNT(*) FROM chat_accounts"),
            "channels": ctx.scalar("SELECT COUNT(*) FROM chat_channels")}


@app.tool(read_only=True)
def search_messages(ctx, query: Annotated[str, Field(description="Text to search for (case-insensitive)", min_length=1)],
                    room_id: Annotated[str | None, Field(description="Limit to one channel (name or id)")] = None) -> dict:
    """Search messages in the channels you can see."""
    sql = ("SELECT m.* FROM chat_messages m JOIN chat_channels c ON c.id = m.channel_id WHERE m.text LIKE ? "
           "AND (c.private = 0 OR EXISTS (SELECT 1 FROM chat_members x WHERE x.channel_id = c.id AND x.user_id = ?))")
    args: list = [f"%{query}%", ctx.actor["id"]]
    if room_id:
        sql += " AND c.id = ?"
        args.append(_channel(ctx, room_id)["id"])
    rows = ctx.all(sql + " ORDER BY m.id DESC LIMIT 50", *args)
    return {"messages": [_message(ctx, r) for r in rows]}


@app.tool(read_only=True)
def get_direct_messages(ctx) -> dict:
    """Your direct-message conversations with their newest message."""
    me = ctx.actor["id"]
    rows = ctx.all("SELECT * FROM chat_messages WHERE dm_key LIKE ? OR dm_key LIKE ? ORDER BY id", f"{me}:%", f"%:{me}")
    convs: dict[str, dict] = {}
    for r in rows:
        a, b = (int(x) for x in r["dm_key"].split(":"))
        other = b if a == me else a
        uname = ctx.scalar("SELECT username FROM users WHERE id = ?", other)
        convs[uname] = {"with": uname, "last_message": _message(ctx, r)}
    return {"conversations": list(convs.values())}


@app.tool(read_only=True)
def get_users(ctx) -> dict:
    """All chat users."""
    rows = ctx.all("SELECT a.username, u.full_name AS name, a.status FROM chat_accounts a "
                   "JOIN users u ON u.id = a.user_id ORDER BY a.username")
    return {"users": rows}


@app.tool(idempotent=True)
def join_channel(ctx, channel: Channel) -> dict:
    """Join a public channel."""
    ch = _channel(ctx, channel)
    ctx.db.execute("INSERT OR IGNORE INTO chat_members (channel_id, user_id) VALUES (?, ?)", (ch["id"], ctx.actor["id"]))
    return {"channel": ch["name"], "joined": True}


@app.tool(idempotent=True)
def leave_channel(ctx, channel: Channel) -> dict:
    """Leave a channel."""
    ch = _channel(ctx, channel)
    if ch["name"] == "general":
        raise ToolError("rule_violation", "nobody can leave #general")
    ctx.db.execute("DELETE FROM chat_members WHERE channel_id = ? AND user_id = ?", (ch["id"], ctx.actor["id"]))
    return {"channel": ch["name"], "left": True}

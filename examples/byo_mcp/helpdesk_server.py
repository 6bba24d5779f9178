"""A team IT helpdesk as an MCP server: the "bring your own tools" example of elab-hpc.

It stands for a server YOU already have. It knows nothing about elab-hpc: only the official `mcp`
SDK (`MCPServer`) and its own SQLite file. Ten tools over three tables (team members, hardware
assets, support tickets), plus the seed hook elab-hpc uses to put the data back between episodes.

    python helpdesk_server.py seed  --db helpdesk.sqlite            # (re)create the demo data
    python helpdesk_server.py serve --db helpdesk.sqlite            # MCP over stdio
    HELPDESK_TOKEN=... python helpdesk_server.py serve --db helpdesk.sqlite --transport http --port 8790
                                                                     # streamable HTTP on 127.0.0.1:8790/mcp,
                                                                     # every request needs the bearer token

Errors are raised as `HelpdeskError` with a code (not_found, conflict, invalid_arguments); the
SDK returns them as tool errors whose text is `{"error": {"code", "message"}}`.

Determinism (what makes synthesized tasks replayable): ids are max(id)+1 of the seeded rows, tags
derive from ids, and nothing depends on the clock, so the same calls after a reseed give the same
state. The `reset_demo_data` tool is the seed hook as a tool (elab-hpc hides it from agents).
"""
from __future__ import annotations

import argparse
import hmac
import json
import os
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any, Dict, List

from pydantic import Field

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

SCHEMA = """
CREATE TABLE members (username TEXT PRIMARY KEY, name TEXT NOT NULL, team TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE assets (id INTEGER PRIMARY KEY, tag TEXT UNIQUE NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
                     serial TEXT NOT NULL, status TEXT NOT NULL, holder TEXT REFERENCES members(username));
CREATE TABLE tickets (id INTEGER PRIMARY KEY, subject TEXT NOT NULL, requester TEXT NOT NULL REFERENCES members(username),
                      asset_id INTEGER REFERENCES assets(id), priority TEXT NOT NULL, status TEXT NOT NULL,
                      resolution TEXT);
"""
MEMBERS = [
    ("amira.haddad", "Amira Haddad", "Platform", "amira.haddad@example.org"),
    ("jonas.berg", "Jonas Berg", "Platform", "jonas.berg@example.org"),
    ("li.wei", "Li Wei", "Data", "li.wei@example.org"),
    ("maria.santos", "Maria Santos", "Data", "maria.santos@example.org"),
    ("tom.okafor", "Tom Okafor", "IT Support", "tom.okafor@example.org"),
    ("sofia.rossi", "Sofia Rossi", "Design", "sofia.rossi@example.org"),
]
ASSETS = [  # name, kind, serial, holder
    ("ThinkPad X1 Carbon", "laptop", "PF3K9Z", "amira.haddad"),
    ("MacBook Pro 14", "laptop", "C02F81", "sofia.rossi"),
    ("Dell Latitude 7440", "laptop", "DL7440A", None),
    ("Dell U2723QE monitor", "monitor", "CN0U27", "li.wei"),
    ("LG 27UK850 monitor", "monitor", "LG27UK", None),
    ("Jabra Evolve2 headset", "headset", "JB2E85", "jonas.berg"),
    ("YubiKey 5C", "security key", "YK5C01", "maria.santos"),
    ("YubiKey 5C NFC", "security key", "YK5C02", None),
    ("Logitech Rally camera", "camera", "LGR990", None),
    ("iPhone 15 test device", "phone", "F2LX15", "tom.okafor"),
]
TICKETS = [  # subject, requester, asset tag index (1-based) or None, priority, status, resolution
    ("Laptop fan is loud under load", "amira.haddad", 1, "normal", "open", None),
    ("Monitor flickers after docking", "li.wei", 4, "high", "open", None),
    ("Need a second security key", "maria.santos", None, "low", "open", None),
    ("VPN drops every hour", "jonas.berg", None, "high", "closed", "Updated the VPN client to 5.2"),
]
PRIORITIES = ("low", "normal", "high", "urgent")


class HelpdeskError(ToolError):
    """An expected failure: the SDK sends its text back as a tool error (no traceback in the log)."""

    def __init__(self, code: str, message: str):
        super().__init__(json.dumps({"error": {"code": code, "message": message}}))


def seed(db_path: str | Path) -> None:
    """The seed hook: drop and recreate every table with the demo rows (one transaction)."""
    with closing(sqlite3.connect(db_path)) as db, db:
        db.executescript("DROP TABLE IF EXISTS tickets; DROP TABLE IF EXISTS assets; DROP TABLE IF EXISTS members;")
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO members VALUES (?, ?, ?, ?)", MEMBERS)
        for i, (name, kind, serial, holder) in enumerate(ASSETS, 1):
            db.execute("INSERT INTO assets VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (i, f"AST-{i:04d}", name, kind, serial, "assigned" if holder else "in_stock", holder))
        for i, (subject, requester, asset, prio, status, res) in enumerate(TICKETS, 1):
            db.execute("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (i, subject, requester, asset, prio, status, res))


def build_server(db_path: str | Path) -> MCPServer:
    db_path = str(db_path)
    server = MCPServer("helpdesk", instructions="Team IT helpdesk: members, hardware assets and support tickets.",
                       log_level="WARNING")
    read = ToolAnnotations(read_only_hint=True)
    write = ToolAnnotations(read_only_hint=False, destructive_hint=False)

    def connect() -> sqlite3.Connection:
        # a connection per call: the seed command may rewrite the file between calls
        db = sqlite3.connect(db_path)
        db.row_factory = sqlite3.Row
        return db

    def rows(sql: str, *args: Any) -> List[Dict[str, Any]]:
        with closing(connect()) as db:
            return [dict(r) for r in db.execute(sql, args).fetchall()]

    def asset(db: sqlite3.Connection, asset_id: int) -> Dict[str, Any]:
        row = db.execute("SELECT * FROM assets WHERE id = ?", (asset_id,)).fetchone()
        if row is None:
            raise HelpdeskError("not_found", f"no asset with id {asset_id}")
        return dict(row)

    def member(db: sqlite3.Connection, username: str) -> None:
        if db.execute("SELECT 1 FROM members WHERE username = ?", (username,)).fetchone() is None:
            raise HelpdeskError("not_found", f"no team member {username!r}")

    @server.tool(annotations=read)
    def list_members() -> Dict[str, Any]:
        """List the team members (username, name, team, e-mail)."""
        return {"members": rows("SELECT * FROM members ORDER BY username")}

    @server.tool(annotations=read)
    def list_assets(status: Annotated[str, Field(description="Only assets in this status: in_stock, assigned or "
                                                             "retired; empty for all")] = "") -> Dict[str, Any]:
        """List hardware assets with their tag, kind, status and current holder."""
        if status:
            return {"assets": rows("SELECT * FROM assets WHERE status = ? ORDER BY id", status)}
        return {"assets": rows("SELECT * FROM assets ORDER BY id")}

    @server.tool(annotations=read)
    def get_asset(asset_id: Annotated[int, Field(description="Asset id")]) -> Dict[str, Any]:
        """Get one asset by id."""
        with closing(connect()) as db:
            return asset(db, asset_id)

    @server.tool(annotations=read)
    def search_assets(query: Annotated[str, Field(description="Text to find in the asset's name, kind, tag or "
                                                              "serial number")]) -> Dict[str, Any]:
        """Search assets by name, kind, tag or serial number (case-insensitive)."""
        like = f"%{query.lower()}%"
        return {"assets": rows("SELECT * FROM assets WHERE lower(name) LIKE ? OR lower(kind) LIKE ? OR lower(tag) "
                               "LIKE ? OR lower(serial) LIKE ? ORDER BY id", like, like, like, like)}

    @server.tool(annotations=write)
    def register_asset(name: Annotated[str, Field(description="Product name, e.g. 'Dell Latitude 7440'")],
                       kind: Annotated[str, Field(description="Kind of hardware: laptop, monitor, headset, ...")],
                       serial: Annotated[str, Field(description="Manufacturer serial number (unique)")]
                       ) -> Dict[str, Any]:
        """Register a new hardware asset in stock; returns it with its new id and tag."""
        if not name.strip() or not serial.strip():
            raise HelpdeskError("invalid_arguments", "name and serial must not be empty")
        with closing(connect()) as db, db:
            if db.execute("SELECT 1 FROM assets WHERE serial = ?", (serial,)).fetchone():
                raise HelpdeskError("conflict", f"an asset with serial {serial!r} is already registered")
            new_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM assets").fetchone()[0]
            db.execute("INSERT INTO assets VALUES (?, ?, ?, ?, ?, 'in_stock', NULL)",
                       (new_id, f"AST-{new_id:04d}", name.strip(), kind.strip().lower(), serial.strip()))
            return asset(db, new_id)

    @server.tool(annotations=write)
    def assign_asset(asset_id: Annotated[int, Field(description="Asset id")],
                     username: Annotated[str, Field(description="Username of the team member who gets it")]
                     ) -> Dict[str, Any]:
        """Hand an in-stock asset to a team member."""
        with closing(connect()) as db, db:
            a = asset(db, asset_id)
            member(db, username)
            if a["status"] != "in_stock":
                raise HelpdeskError("conflict", f"asset {a['tag']} is {a['status']}, not in stock")
            db.execute("UPDATE assets SET status = 'assigned', holder = ? WHERE id = ?", (username, asset_id))
            return asset(db, asset_id)

    @server.tool(annotations=write)
    def return_asset(asset_id: Annotated[int, Field(description="Asset id")]) -> Dict[str, Any]:
        """Take an assigned asset back into stock."""
        with closing(connect()) as db, db:
            a = asset(db, asset_id)
            if a["status"] != "assigned":
                raise HelpdeskError("conflict", f"asset {a['tag']} is not assigned")
            db.execute("UPDATE assets SET status = 'in_stock', holder = NULL WHERE id = ?", (asset_id,))
            return asset(db, asset_id)

    @server.tool(annotations=read)
    def list_tickets(status: Annotated[str, Field(description="open or closed; empty for all")] = ""
                     ) -> Dict[str, Any]:
        """List support tickets (subject, requester, asset, priority, status)."""
        if status:
            return {"tickets": rows("SELECT * FROM tickets WHERE status = ? ORDER BY id", status)}
        return {"tickets": rows("SELECT * FROM tickets ORDER BY id")}

    @server.tool(annotations=write)
    def open_ticket(subject: Annotated[str, Field(description="Short summary of the problem")],
                    requester: Annotated[str, Field(description="Username of the team member reporting it")],
                    priority: Annotated[str, Field(description="low, normal, high or urgent")] = "normal",
                    asset_id: Annotated[int, Field(description="Id of the asset concerned; 0 for none")] = 0
                    ) -> Dict[str, Any]:
        """Open a support ticket for a team member, optionally about one of the assets."""
        if priority not in PRIORITIES:
            raise HelpdeskError("invalid_arguments", f"priority must be one of {', '.join(PRIORITIES)}")
        with closing(connect()) as db, db:
            member(db, requester)
            if asset_id:
                asset(db, asset_id)
            new_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tickets").fetchone()[0]
            db.execute("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, 'open', NULL)",
                       (new_id, subject.strip(), requester, asset_id or None, priority))
            return dict(db.execute("SELECT * FROM tickets WHERE id = ?", (new_id,)).fetchone())

    @server.tool(annotations=write)
    def close_ticket(ticket_id: Annotated[int, Field(description="Ticket id")],
                     resolution: Annotated[str, Field(description="What was done to resolve it")]
                     ) -> Dict[str, Any]:
        """Close an open ticket with a resolution note."""
        with closing(connect()) as db, db:
            row = db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
            if row is None:
                raise HelpdeskError("not_found", f"no ticket with id {ticket_id}")
            if row["status"] != "open":
                raise HelpdeskError("conflict", f"ticket {ticket_id} is already {row['status']}")
            db.execute("UPDATE tickets SET status = 'closed', resolution = ? WHERE id = ?", (resolution, ticket_id))
            return dict(db.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone())

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    def reset_demo_data() -> Dict[str, Any]:
        """Admin: drop every change and restore the demo data (the seed hook; not for agents)."""
        seed(db_path)
        return {"reset": True}

    return server


class BearerGate:
    """ASGI middleware: every HTTP request needs `Authorization: Bearer <token>`."""

    def __init__(self, app: Any, token: str):
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not hmac.compare_digest(
                dict(scope.get("headers") or []).get(b"authorization", b""), self.expected):
            body = b'{"error": "missing or wrong bearer token"}'
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def main(argv: List[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed", help="(re)create the demo data in --db")
    s.add_argument("--db", required=True)
    v = sub.add_parser("serve", help="serve the tools (stdio by default)")
    v.add_argument("--db", required=True, help="SQLite file; seeded first if it does not exist")
    v.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    v.add_argument("--port", type=int, default=8790, help="http: port on 127.0.0.1")
    v.add_argument("--token-env", default="HELPDESK_TOKEN",
                   help="http: environment variable holding the bearer token (required)")
    a = p.parse_args(argv)
    if a.cmd == "seed":
        seed(a.db)
        return 0
    if not Path(a.db).is_file():
        seed(a.db)
    server = build_server(a.db)
    if a.transport == "stdio":
        server.run("stdio")
        return 0
    token = os.environ.get(a.token_env)
    if not token:
        print(f"helpdesk: set {a.token_env} to the bearer token clients must send", file=sys.stderr)
        return 2
    import uvicorn

    app = BearerGate(server.streamable_http_app(streamable_http_path="/mcp", json_response=True, host="127.0.0.1"),
                     token)
    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`elab-hpc arena ...`: inspect the arena's tools, serve its apps over MCP, make one-off calls."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from elab_hpc.errors import UserError

DESCRIPTION = """\
EnterpriseArena: fifteen enterprise apps (chat, mail, GitLab, tickets, projects, HR, calendar,
documents, CRM, invoices, files, bash, browser) as MCP servers over one SQLite backend.

  elab-hpc arena tools [--app gitlab] [--json]      list tools (JSON: app, name, description,
                                                    input_schema, annotations)
  elab-hpc arena info [--scale medium]              apps, tool counts, seeded records
  elab-hpc arena call gitlab.create_issue '{"project_id": "1", "title": "Fix login"}'
                                                    one call on a fresh episode, printed as JSON
  elab-hpc arena serve --app gitlab                 serve one app over stdio (for MCP clients)
  elab-hpc arena serve --all --transport http       serve every app over streamable HTTP at
                                                    http://127.0.0.1:8765/mcp (bearer token required)
"""


def register(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    asub = p.add_subparsers(dest="arena_command", metavar="SUBCOMMAND")

    def world_opts(q: argparse.ArgumentParser) -> None:
        q.add_argument("--seed", type=int, default=0, help="seed of the company data (default 0)")
        q.add_argument("--scale", choices=["small", "medium", "large"], default="small",
                       help="about 1K, 20K or 200K seeded records (default small)")

    t = asub.add_parser("tools", help="list every tool", description="List the arena's tools.")
    t.add_argument("--app", help="only this app")
    t.add_argument("--json", action="store_true", help="print JSON (one array of tool objects)")
    t.set_defaults(func=cmd_tools)

    i = asub.add_parser("info", help="apps, tool counts and record counts")
    world_opts(i)
    i.set_defaults(func=cmd_info)

    c = asub.add_parser("call", help="call one tool on a fresh episode and print the observation")
    c.add_argument("tool", help="qualified tool name, e.g. gitlab.create_issue")
    c.add_argument("arguments", nargs="?", default="{}", help="JSON object of arguments (default {})")
    c.add_argument("--actor", help="act as this user (username, email or employee id)")
    world_opts(c)
    c.set_defaults(func=cmd_call)

    s = asub.add_parser(
        "serve", help="serve apps as MCP servers (stdio or HTTP)",
        description="Serve one app (bare tool names) or all apps (names qualified as app.tool) over MCP. "
                    "All served apps act on one shared state; pass --state FILE to share it across "
                    "processes (one server per app) and keep it after exit.\n\n"
                    "HTTP binds 127.0.0.1 and requires `Authorization: Bearer <token>`. The token comes from "
                    "--token, --token-file or $ELAB_ARENA_TOKEN; if none is given a new one is generated and "
                    "written to <state dir>/arena.token (mode 600) and printed on stderr.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    which = s.add_mutually_exclusive_group(required=True)
    which.add_argument("--app", action="append", help="app to serve (repeatable)")
    which.add_argument("--all", action="store_true", help="serve every app")
    s.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    s.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    s.add_argument("--token", help="bearer token for HTTP")
    s.add_argument("--token-file", help="read the bearer token from this file")
    s.add_argument("--no-auth", action="store_true",
                   help="serve HTTP without a token (only sensible inside a private network namespace)")
    s.add_argument("--state", help="SQLite file holding the served state (created from the seed if missing)")
    s.add_argument("--actor", help="act as this user (default jordan.lee, an admin)")
    world_opts(s)
    s.set_defaults(func=cmd_serve)
    p.set_defaults(func=lambda a: p.print_help())


def _arena(args: argparse.Namespace):
    from arena import Arena

    return Arena(seed=getattr(args, "seed", 0), scale=getattr(args, "scale", "small"))


def cmd_tools(args: argparse.Namespace) -> int:
    from arena import APP_NAMES, Arena

    if args.app and args.app not in APP_NAMES:
        raise UserError(f"unknown app {args.app!r}; apps: {', '.join(APP_NAMES)}")
    tools = Arena(apps=[args.app] if args.app else None).tools(args.app)
    if args.json:
        json.dump([t.to_json() for t in tools], sys.stdout, indent=1)
        print()
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(tools)} tools")
    for col in ("tool", "kind", "description"):
        table.add_column(col)
    for t in tools:
        a = t.annotations
        kind = "read" if a.read_only else ("destructive" if a.destructive else "write")
        table.add_row(t.qualified_name, kind, t.description.splitlines()[0])
    Console().print(table)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from arena.core.registry import APP_DOMAINS

    arena = _arena(args)
    world = arena.world
    table = Table(title=f"EnterpriseArena seed={args.seed} scale={args.scale} "
                        f"({world.record_count()} records, {len(world.index.by_qualified)} tools)")
    for col in ("app", "domain", "tools", "tables"):
        table.add_column(col)
    for name, app in world.apps.items():
        if name == "core":
            continue
        tables = [t for t in world.columns if app.schema and f"TABLE {t} " in app.schema]
        table.add_row(name, APP_DOMAINS.get(name, ""), str(len(app.tools)), ", ".join(tables))
    Console().print(table)
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        raise UserError(f"arguments are not valid JSON: {exc}") from None
    arena = _arena(args)
    with arena.episode(actor=args.actor) as ep:
        obs = ep.call(args.tool, arguments)
        print(json.dumps(obs.to_dict(), indent=1, default=str))
    return 0 if obs.ok else 1


def _token(args: argparse.Namespace) -> str | None:
    from arena.core.server import new_token

    if args.no_auth:
        return None
    if args.token:
        return args.token
    if args.token_file:
        return Path(args.token_file).read_text().strip()
    if os.environ.get("ELAB_ARENA_TOKEN"):
        return os.environ["ELAB_ARENA_TOKEN"]
    token = new_token()
    where = Path(args.state).parent if args.state else Path.cwd()
    path = where / "arena.token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    print(f"arena: bearer token written to {path}", file=sys.stderr)
    return token


def cmd_serve(args: argparse.Namespace) -> int:
    import anyio

    from arena import APP_NAMES, Arena
    from arena.core.server import build_server, serve_http, serve_stdio

    apps = APP_NAMES if args.all else args.app
    bad = [a for a in apps if a not in APP_NAMES]
    if bad:
        raise UserError(f"unknown app(s) {', '.join(bad)}; apps: {', '.join(APP_NAMES)}")
    if args.transport == "http" and args.host not in ("127.0.0.1", "localhost", "::1") and args.no_auth:
        raise UserError("refusing to serve without a token on a non-loopback address")
    arena = Arena(seed=args.seed, scale=args.scale, apps=None if args.all else apps)
    episode = arena.episode(actor=args.actor, state_path=args.state)
    server = build_server(episode, list(apps), qualified=True if args.all else None)
    try:
        if args.transport == "stdio":
            anyio.run(serve_stdio, server)
        else:
            token = _token(args)
            print(f"arena: serving {len(apps)} app(s) on http://{args.host}:{args.port}/mcp", file=sys.stderr)
            serve_http(server, args.host, args.port, token)
    finally:
        episode.close()
    return 0

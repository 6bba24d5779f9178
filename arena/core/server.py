"""Serve arena apps as MCP servers (official `mcp` SDK, low-level `Server`).

One server exposes one app with the app's own tool names (`create_issue`), or several apps with
qualified names (`gitlab.create_issue`), all acting on ONE episode, so a change made through one
app is visible through the others. Transports: in-process (`mcp.Client(server)`), stdio, and
streamable HTTP bound to 127.0.0.1 behind a bearer token (login nodes are shared).
"""
from __future__ import annotations

import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any, Callable

import mcp_types as types
from mcp.server.lowlevel import Server

if TYPE_CHECKING:
    from arena.core.app import ToolSpec
    from arena.core.episode import Episode


def _mcp_tool(spec: "ToolSpec", name: str) -> types.Tool:
    ann = spec.annotations
    return types.Tool(
        name=name,
        title=f"{spec.app}: {spec.name}",
        description=spec.description,
        input_schema=spec.input_schema,
        output_schema=spec.output_schema,
        annotations=types.ToolAnnotations(
            title=spec.name, read_only_hint=ann.read_only, destructive_hint=ann.destructive,
            idempotent_hint=ann.idempotent, open_world_hint=ann.open_world,
        ),
    )


def build_server(episode: "Episode | Callable[[], Episode]", apps: list[str] | None = None,
                 qualified: bool | None = None, name: str | None = None, world: Any = None) -> Server:
    """An MCP server over `episode` for `apps` (all of the world's apps by default).

    `episode` may also be a zero-argument callable returning the current episode, so that one
    long-lived server (and its clients' tool caches) spans many episodes; then pass `world`.
    Names are bare for a single app and `app.tool` for several (unless `qualified` says otherwise).
    """
    current: Callable[[], "Episode"] = episode if callable(episode) else (lambda: episode)  # type: ignore[assignment]
    world = world if world is not None else current().world
    chosen = [a for a in world.apps if a != "core"] if apps is None else list(apps)
    unknown = [a for a in chosen if a not in world.apps]
    if unknown:
        raise ValueError(f"unknown app(s): {', '.join(unknown)}")
    if qualified is None:
        qualified = len(chosen) != 1
    exposed: dict[str, "ToolSpec"] = {}
    for app in chosen:
        for spec in world.apps[app].tools.values():
            exposed[spec.qualified_name if qualified else spec.name] = spec
    listing = types.ListToolsResult(tools=[_mcp_tool(s, n) for n, s in exposed.items()])
    label = name or ("arena-" + chosen[0] if len(chosen) == 1 else "arena")

    async def on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return listing

    # Results go back in their wire form (a dict, which the SDK accepts from handlers): building a
    # CallToolResult model only for the SDK to dump it again cost a validation and a serialization
    # of the whole payload per call. The SDK still validates the dict against the protocol schema.
    def result(payload: dict[str, Any], text: str, is_error: bool) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": text}], "structuredContent": payload, "isError": is_error,
                "resultType": "complete"}  # what CallToolResult dumps to; older protocol versions drop it

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> dict[str, Any]:
        spec = exposed.get(params.name)
        if spec is None:  # only this server's surface is callable, even if the episode knows more
            payload = {"error": {"code": "unknown_tool", "message": f"no tool named {params.name!r} on {label}",
                                 "details": {"name": params.name}}}
            return result(payload, json.dumps(payload), True)
        obs = current().call(spec.qualified_name, params.arguments or {})
        if obs.ok:
            return result(obs.result, obs.text(), False)
        payload = {"error": obs.error}
        return result(payload, json.dumps(payload, default=str), True)

    return Server(label, version="0.1.0", on_list_tools=on_list_tools, on_call_tool=on_call_tool,
                  instructions=f"EnterpriseArena apps: {', '.join(chosen)}. Errors come back as "
                               "{'error': {'code', 'message', 'details'}} with isError set.")


# -- transports ---------------------------------------------------------------------------
async def serve_stdio(server: Server) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


class BearerTokenGate:
    """ASGI middleware: every request needs `Authorization: Bearer <token>` (constant-time check)."""

    def __init__(self, app: Any, token: str):
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                body = b'{"error": "missing or wrong bearer token"}'
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b'Bearer realm="arena"'),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def http_app(server: Server, token: str | None, host: str = "127.0.0.1") -> Any:
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host, json_response=True)
    return BearerTokenGate(app, token) if token else app


def new_token() -> str:
    return secrets.token_urlsafe(24)


def serve_http(server: Server, host: str, port: int, token: str | None) -> None:
    import uvicorn

    uvicorn.run(http_app(server, token, host), host=host, port=port, log_level="warning")

"""Where tools come from: MCP servers named in config. The arena is one source among others and
is reached through the same MCP client as a user's own server (in-process, stdio or HTTP)."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, List, Optional

from elab_hpc.errors import ConfigError

KINDS = ("arena", "stdio", "http")


@dataclass
class SourceConfig:
    """One MCP server. `name` becomes the app name of its tools unless they are already
    qualified (`app.tool`, as the arena's multi-app server exposes them)."""

    name: str = "arena"
    kind: str = "arena"  # arena (in-process) | stdio (a command) | http (streamable HTTP URL)
    apps: List[str] = field(default_factory=list)  # arena: which apps (empty = all)
    seed: int = 0  # arena: seed of the company data
    scale: str = "small"  # arena: small | medium | large
    command: List[str] = field(default_factory=list)  # stdio: argv of the server
    env: Dict[str, str] = field(default_factory=dict)  # stdio: extra environment
    url: Optional[str] = None  # http: e.g. http://127.0.0.1:8765/mcp
    token_env: Optional[str] = None  # http: environment variable holding the bearer token
    timeout_s: float = 30.0

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"source {self.name!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "stdio" and not self.command:
            raise ConfigError(f"source {self.name!r}: kind=stdio needs `command` (the server's argv)")
        if self.kind == "http" and not self.url:
            raise ConfigError(f"source {self.name!r}: kind=http needs `url`")
        if self.token_env and self.token_env not in os.environ:
            raise ConfigError(f"source {self.name!r}: environment variable {self.token_env} (token_env) is not set")


@contextlib.asynccontextmanager
async def connect(source: SourceConfig, episode: Any = None) -> AsyncIterator[Any]:
    """An initialized `mcp.Client` for the source. For the arena, `episode` (optional) is the
    state the in-process server acts on; a fresh one is made otherwise."""
    from mcp import Client, StdioServerParameters

    source.validate()
    if source.kind == "arena":
        from arena import Arena
        from arena.core.server import build_server

        own = episode is None
        if own:
            episode = Arena(seed=source.seed, scale=source.scale, apps=source.apps or None).episode()
        try:
            server = build_server(episode, source.apps or None, qualified=True)
            async with Client(server) as client:
                yield client
        finally:
            if own:
                episode.close()
    elif source.kind == "stdio":
        params = StdioServerParameters(command=source.command[0], args=list(source.command[1:]),
                                       env={**os.environ, **source.env})
        async with Client(params, read_timeout_seconds=source.timeout_s) as client:
            yield client
    else:
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        headers = {"Authorization": f"Bearer {os.environ[source.token_env]}"} if source.token_env else {}
        http = create_mcp_http_client(headers=headers)
        async with Client(streamable_http_client(source.url, http_client=http),
                          read_timeout_seconds=source.timeout_s) as client:
            yield client

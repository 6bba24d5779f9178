"""Every app served through the official MCP SDK: in-process, over stdio (a real subprocess per
app) and over streamable HTTP (a real uvicorn server), with the bearer token enforced."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from arena.core.registry import APP_NAMES
from arena.core.server import build_server


def _no_arg_read_tools(world, app):
    return [t for t in world.tools(app) if t.annotations.read_only and not t.input_schema.get("required")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_in_process_client_lists_and_calls_every_app(full_world):
    ep = full_world.episode()
    server = build_server(ep)  # all apps, qualified names

    async def main():
        async with Client(server) as client:
            listed = (await client.list_tools()).tools
            names = {t.name for t in listed}
            assert len(names) == len(full_world.index.by_qualified) >= 140
            for tool in listed:
                assert tool.input_schema["type"] == "object"
                assert tool.annotations is not None and tool.annotations.read_only_hint is not None
            called = 0
            for app in APP_NAMES:
                for spec in _no_arg_read_tools(full_world, app):
                    res = await client.call_tool(spec.qualified_name, {})
                    assert not res.is_error, (spec.qualified_name, res.structured_content)
                    assert isinstance(res.structured_content, dict)
                    called += 1
            assert called >= 15
            bad = await client.call_tool("gitlab.no_such_tool", {})
            assert bad.is_error and bad.structured_content["error"]["code"] == "unknown_tool"

    anyio.run(main)
    ep.close()


@pytest.mark.parametrize("app", APP_NAMES)
def test_stdio_server_per_app(app, full_world, tmp_path):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "elab_hpc.cli", "arena", "serve", "--app", app],
        env={**os.environ, "ELAB_CACHE": os.environ.get("ELAB_CACHE", str(tmp_path))},
    )
    expected = {t.name for t in full_world.tools(app)}
    candidates = _no_arg_read_tools(full_world, app)

    async def main():
        async with Client(params) as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            assert listed == expected  # bare names for a single app
            if candidates:
                res = await client.call_tool(candidates[0].name, {})
                assert not res.is_error, res.structured_content
            res = await client.call_tool(sorted(expected)[0], {"definitely_not_a_parameter": 1})
            assert res.is_error and res.structured_content["error"]["code"] == "invalid_arguments"

    anyio.run(main)


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    port = _free_port()
    token = "test-token-" + os.urandom(6).hex()
    state = tmp_path_factory.mktemp("http") / "state.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "elab_hpc.cli", "arena", "serve", "--all", "--transport", "http",
         "--port", str(port), "--token", token, "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read())
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}/mcp", token, state
    proc.terminate()
    proc.wait(10)


def test_http_requires_token(http_server):
    url, token, _ = http_server
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers)
        assert r.status_code == 401

    async def main():
        async with Client(streamable_http_client(url, http_client=create_mcp_http_client())) as client:
            await client.list_tools()

    with pytest.raises(BaseException):
        anyio.run(main)


def test_http_with_token_lists_and_calls_every_app_on_one_state(http_server, full_world):
    url, token, state = http_server

    async def main():
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with Client(streamable_http_client(url, http_client=http)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == set(full_world.index.by_qualified)
            for app in APP_NAMES:
                for spec in _no_arg_read_tools(full_world, app)[:2]:
                    res = await client.call_tool(spec.qualified_name, {})
                    assert not res.is_error, (spec.qualified_name, res.structured_content)
            created = await client.call_tool("rocketchat.create_channel", {"name": "http-test", "private": False})
            assert not created.is_error, created.structured_content
            text = json.loads(created.content[0].text)
            assert text["name"] == "http-test"

    anyio.run(main)
    # the served state is a real SQLite file shared by all apps of the server
    import sqlite3

    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM chat_channels WHERE name='http-test'").fetchone()[0] == 1
